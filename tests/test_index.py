"""The persisted index: round trip, incremental updates, atomic writes, corruption, locking."""

from __future__ import annotations

import functools
import threading

import numpy as np
import pytest

from rag.index import store
from rag.testing import HashEmbedder
from rag.errors import IndexCorruptError, IndexLockedError, IndexNotFoundError
from rag.index.indexing import embed_text, ensure_index, index_paths, stale_reason
from rag.retrieve import Retriever


def build(paths, settings, embedder, logs=None):
    return index_paths(paths, settings, embedder, log=(logs.append if logs is not None else lambda m: None))


def snapshot(index_dir):
    data = store.load(index_dir)
    return data.path, [c.to_dict() for c in data.chunks], np.array(data.vectors)


def test_save_load_round_trip(docs_dir, settings, embedder):
    built, report = build([docs_dir], settings, embedder)
    assert (report.added, report.chunks, report.embedded, report.wrote) == (3, len(built.chunks), len(built.chunks), True)
    loaded = store.load(settings.index_dir)
    assert [c.to_dict() for c in loaded.chunks] == [c.to_dict() for c in built.chunks]
    np.testing.assert_array_equal(np.asarray(loaded.vectors), built.vectors)
    assert loaded.faiss_index.ntotal == loaded.bm25.size == len(loaded.chunks)
    m = loaded.manifest
    assert m["embedder"] == {"name": embedder.name, "dim": embedder.dim}
    assert m["settings"]["chunk_words"] == settings.chunk_words
    assert m["counts"] == {"documents": 3, "chunks": len(loaded.chunks)}
    assert set(m["documents"]) == {"paris.txt", "berlin.md", "rome.txt"}
    assert all(len(info["hash"]) == 32 for info in m["documents"].values())
    assert "built_at" in m
    assert {"chunks.jsonl", "vectors.npy", "dense.faiss", "bm25/vocab.index.json"} <= set(m["file_sizes"])
    # Every chunk slices back out of its source file.
    for c in loaded.chunks:
        assert (docs_dir / c.source).read_text()[c.start:c.end] == c.text


def test_incremental_reindex_embeds_only_what_changed(docs_dir, settings):
    first = HashEmbedder()
    build([docs_dir], settings, first)
    (docs_dir / "berlin.md").write_text("# Berlin\n\nBerlin is the capital of Germany. It has many museums.")
    (docs_dir / "rome.txt").unlink()
    (docs_dir / "madrid.txt").write_text("Madrid is the capital of Spain.")
    second = HashEmbedder()
    data, report = build([docs_dir], settings, second)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 1)
    assert sorted(second.texts) == sorted([embed_text(c) for c in data.chunks if c.doc_id in {"berlin.md", "madrid.txt"}])
    assert not any("Paris" in t for t in second.texts)
    assert {c.doc_id for c in data.chunks} == {"paris.txt", "berlin.md", "madrid.txt"}
    assert not any("Brandenburg" in c.text for c in data.chunks)
    assert report.embedded == len(second.texts) and report.chunks == len(data.chunks)
    # Carried-over vectors are the ones a fresh embedding gives: nothing got misaligned.
    np.testing.assert_allclose(np.asarray(data.vectors), HashEmbedder().embed_batch([embed_text(c) for c in data.chunks]),
                               atol=1e-6)
    retriever = Retriever(store.load(settings.index_dir), second, settings)
    assert retriever.search("museums in Berlin", k=1, mode="bm25")[0].chunk.doc_id == "berlin.md"

    third = HashEmbedder()
    again, report = build([docs_dir], settings, third)
    assert third.calls == [] and report.wrote is False and report.unchanged == 3
    assert "up to date" in report.summary()
    assert again.path == data.path


def test_touched_but_unchanged_file_is_not_re_embedded(docs_dir, settings):
    build([docs_dir], settings, HashEmbedder())
    import os
    st = (docs_dir / "paris.txt").stat()
    os.utime(docs_dir / "paris.txt", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    e = HashEmbedder()
    _, report = build([docs_dir], settings, e)
    assert e.calls == [] and (report.updated, report.unchanged) == (0, 3)


def test_changed_chunking_setting_re_embeds_everything_with_a_message(docs_dir, settings):
    data, _ = build([docs_dir], settings, HashEmbedder())
    changed = settings.replace(chunk_words=8)
    assert "chunk_words 40 -> 8" in stale_reason(data.manifest, changed, HashEmbedder())
    e, logs = HashEmbedder(), []
    new, report = build([docs_dir], changed, e, logs)
    assert any("settings changed" in line and "re-embedding every document" in line for line in logs)
    assert report.embedded == len(new.chunks) == len(e.texts) > len(data.chunks)
    assert store.load(settings.index_dir).manifest["settings"]["chunk_words"] == 8


def test_changed_embedder_re_embeds_everything(docs_dir, settings):
    build([docs_dir], settings, HashEmbedder())
    e = HashEmbedder(dim=32, name="other-model")
    data, report = build([docs_dir], settings, e)
    assert report.embedded == len(data.chunks) and data.vectors.shape[1] == 32


def test_ensure_index_updates_a_stale_index(docs_dir, settings):
    build([docs_dir], settings, HashEmbedder())
    (docs_dir / "paris.txt").write_text("Paris is lovely in spring.")
    logs: list[str] = []
    e = HashEmbedder()
    data = ensure_index(settings, e, log=logs.append)
    assert any("stale" in line for line in logs)
    assert e.texts == [embed_text(c) for c in data.chunks if c.doc_id == "paris.txt"]


@pytest.mark.parametrize("fail_after", ["chunks.jsonl", "dense.faiss", "version"])
def test_crash_mid_write_leaves_the_old_index_usable(docs_dir, settings, monkeypatch, fail_after):
    build([docs_dir], settings, HashEmbedder())
    before = snapshot(settings.index_dir)
    (docs_dir / "paris.txt").write_text("Paris changed completely.")
    monkeypatch.setattr(store, "write", functools.partial(store.write, _fail_after=fail_after))
    with pytest.raises(OSError, match="simulated crash"):
        build([docs_dir], settings, HashEmbedder())
    monkeypatch.undo()
    after = snapshot(settings.index_dir)
    assert after[0] == before[0] and after[1] == before[1]
    np.testing.assert_array_equal(after[2], before[2])
    hits = Retriever(store.load(settings.index_dir), HashEmbedder(), settings).search("Eiffel Tower", k=1)
    assert hits[0].chunk.doc_id == "paris.txt" and "Eiffel" in hits[0].chunk.text

    data, report = build([docs_dir], settings, HashEmbedder())
    assert report.updated == 1 and report.wrote
    assert any(c.text == "Paris changed completely." for c in store.load(settings.index_dir).chunks)
    leftovers = [p.name for p in settings.index_dir.iterdir() if p.is_dir() and p.name != data.path.name]
    assert leftovers == []


def test_crash_inside_a_file_write_leaves_the_old_index_usable(docs_dir, settings, monkeypatch):
    build([docs_dir], settings, HashEmbedder())
    before = snapshot(settings.index_dir)
    (docs_dir / "rome.txt").unlink()

    def half_written(path, arr, *a, **kw):
        with open(path, "wb") as fh:
            fh.write(b"\x93NUMPY")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.np, "save", half_written)
    with pytest.raises(OSError):
        build([docs_dir], settings, HashEmbedder())
    monkeypatch.undo()
    assert snapshot(settings.index_dir)[1] == before[1]
    _, report = build([docs_dir], settings, HashEmbedder())
    assert report.removed == 1


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damage", [
    lambda v: _truncate(v / "vectors.npy"),
    lambda v: _truncate(v / "dense.faiss"),
    lambda v: _truncate(v / "chunks.jsonl"),
    lambda v: _truncate(v / "bm25" / "vocab.index.json"),
    lambda v: (v / "manifest.json").unlink(),
    lambda v: (v / "manifest.json").write_text("{not json"),
    lambda v: (v.parent / "CURRENT").write_text("v-does-not-exist"),
    lambda v: (v.parent / "CURRENT").write_text("../../etc"),
    lambda v: (v.parent / "CURRENT").write_bytes(b"\xff\xfe\x00garbage"),
], ids=["vectors", "faiss", "chunks", "bm25", "no-manifest", "bad-manifest", "dangling-current",
        "escaping-current", "binary-current"])
def test_corrupt_index_says_how_to_rebuild_and_a_rebuild_works(docs_dir, settings, damage):
    data, _ = build([docs_dir], settings, HashEmbedder())
    damage(data.path)
    with pytest.raises(IndexCorruptError) as info:
        store.load(settings.index_dir)
    message = str(info.value)
    assert "python -m rag index" in message and str(settings.index_dir) in message and "\n" not in message
    logs: list[str] = []
    rebuilt, report = build([docs_dir], settings, HashEmbedder(), logs)
    assert report.added == 3 and any("rebuilding from scratch" in line for line in logs)
    assert len(store.load(settings.index_dir).chunks) == len(rebuilt.chunks)


def test_missing_index_says_what_to_run(settings):
    with pytest.raises(IndexNotFoundError, match=r"python -m rag index .*--index-dir"):
        store.load(settings.index_dir)
    with pytest.raises(IndexNotFoundError):
        ensure_index(settings, HashEmbedder(), log=lambda m: None)


def test_second_writer_gets_index_locked_error(docs_dir, settings):
    held, release = threading.Event(), threading.Event()

    def holder():
        with store.lock(settings.index_dir):
            held.set()
            release.wait(60)  # set as soon as the second writer has been refused

    t = threading.Thread(target=holder)
    t.start()
    try:
        assert held.wait(60)
        with pytest.raises(IndexLockedError, match="being indexed by pid"):
            build([docs_dir], settings, HashEmbedder())
    finally:
        release.set()
        t.join(60)
    _, report = build([docs_dir], settings, HashEmbedder())  # lock released: the next run works
    assert report.added == 3


def test_readers_do_not_need_the_lock(docs_dir, settings):
    build([docs_dir], settings, HashEmbedder())
    with store.lock(settings.index_dir):
        assert len(store.load(settings.index_dir).chunks) > 0


def test_a_changed_document_re_embeds_only_its_changed_chunks(tmp_path, settings):
    paragraphs = [f"Paragraph {i} talks about topic number {i} in plain words. " * 3 for i in range(4)]
    folder = tmp_path / "long"
    folder.mkdir()
    (folder / "long.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    small = settings  # 40 words: one chunk per 33-word paragraph
    build([folder], small, HashEmbedder())
    before = {c.chunk_id for c in store.load(small.index_dir).chunks}
    assert len(before) == 4

    paragraphs[2] = "This paragraph was rewritten entirely and says something new."
    (folder / "long.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    second = HashEmbedder()
    _, report = build([folder], small, second)
    assert report.updated == 1
    assert report.embedded == 1
    assert second.texts == [embed_text(c) for c in store.load(small.index_dir).chunks
                            if c.chunk_id not in before]
    data = store.load(small.index_dir)
    # Carried-over vectors are the ones a fresh embedding would give.
    fresh = HashEmbedder().embed_batch([embed_text(c) for c in data.chunks])
    assert np.allclose(np.asarray(data.vectors), fresh, atol=1e-6)
