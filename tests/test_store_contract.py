"""The store seam's contract, held by both backends: the file index and a real PostgreSQL.

Indexing, incremental updates, removal, the write lock, all-or-nothing writes and the
candidate search behave the same whichever store ``store_settings`` selects."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from rag.index import store as files
from rag.testing import HashEmbedder
from rag.errors import IndexLockedError, IndexNotFoundError
from rag.index.protocol import build_store
from rag.index.indexing import embed_text, index_paths
from rag.retrieve import Retriever

quiet = {"log": lambda m: None}


def all_chunks(view):
    chunks, vectors = [], []
    for doc_id in view.documents:
        cs, vs = view.document_chunks(doc_id)
        chunks.extend(cs)
        vectors.append(vs)
    return chunks, np.concatenate(vectors) if vectors else np.zeros((0, 64))


def test_a_new_store_has_no_index(store_settings):
    with pytest.raises(IndexNotFoundError, match="python -m rag index"):
        build_store(store_settings).load()


def test_index_then_load_round_trip(docs_dir, store_settings, embedder):
    built, report = index_paths([docs_dir], store_settings, embedder, **quiet)
    loaded = build_store(store_settings).load()
    assert set(loaded.documents) == {"paris.txt", "berlin.md", "rome.txt"}
    assert loaded.chunk_count == report.chunks == report.embedded == len(embedder.texts)
    assert loaded.manifest["embedder"] == {"name": embedder.name, "dim": embedder.dim}
    assert loaded.manifest["settings"]["chunk_words"] == store_settings.chunk_words
    chunks, vectors = all_chunks(loaded)
    np.testing.assert_allclose(vectors, embedder.embed_batch([embed_text(c) for c in chunks]), atol=1e-6)
    for c in chunks:  # offsets slice back out of the source file
        assert (docs_dir / c.source).read_text()[c.start:c.end] == c.text
    info = loaded.documents["paris.txt"]
    assert len(info["hash"]) == 32 and info["chunks"] == sum(c.doc_id == "paris.txt" for c in chunks)


def test_incremental_update_embeds_only_what_changed(docs_dir, store_settings):
    index_paths([docs_dir], store_settings, HashEmbedder(), **quiet)
    before = build_store(store_settings).load().document_chunks("paris.txt")
    (docs_dir / "berlin.md").write_text("# Berlin\n\nBerlin is the capital of Germany. It has many museums.")
    (docs_dir / "rome.txt").unlink()
    (docs_dir / "madrid.txt").write_text("Madrid is the capital of Spain.")
    second = HashEmbedder()
    data, report = index_paths([docs_dir], store_settings, second, **quiet)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 1)
    assert not any("Paris" in t for t in second.texts)
    assert set(data.documents) == {"paris.txt", "berlin.md", "madrid.txt"}
    chunks, _ = all_chunks(data)
    assert not any("Brandenburg" in c.text or "Colosseum" in c.text for c in chunks)
    after = data.document_chunks("paris.txt")
    assert [c.to_dict() for c in after[0]] == [c.to_dict() for c in before[0]]
    np.testing.assert_array_equal(after[1], before[1])
    again, report = index_paths([docs_dir], store_settings, HashEmbedder(), **quiet)
    assert not report.wrote and report.embedded == 0 and report.chunks == again.chunk_count


def test_search_finds_new_documents_and_forgets_removed_ones(docs_dir, store_settings, embedder):
    index_paths([docs_dir], store_settings, embedder, **quiet)
    (docs_dir / "oslo.txt").write_text("Oslo is the capital of Norway, with the Holmenkollen ski jump.")
    data, _ = index_paths([docs_dir], store_settings, embedder, **quiet)
    retriever = Retriever(data, embedder, store_settings)
    assert retriever.search("Holmenkollen ski jump", k=1, mode="bm25")[0].chunk.doc_id == "oslo.txt"
    (docs_dir / "oslo.txt").unlink()
    data, _ = index_paths([docs_dir], store_settings, embedder, **quiet)
    assert Retriever(data, embedder, store_settings).search("Holmenkollen", mode="bm25") == []


def test_a_second_writer_is_told_who_holds_the_lock(docs_dir, store_settings, embedder):
    holder = build_store(store_settings)
    with holder.lock():
        with pytest.raises(IndexLockedError, match="is being indexed by .*wait for it to finish"):
            index_paths([docs_dir], store_settings, embedder, **quiet)
    index_paths([docs_dir], store_settings, embedder, **quiet)  # free again afterwards


def test_a_failed_write_leaves_the_previous_index(docs_dir, store_settings, embedder, monkeypatch, backend):
    index_paths([docs_dir], store_settings, embedder, **quiet)
    before = build_store(store_settings).load()
    docs_before, count_before = dict(before.documents), before.chunk_count
    (docs_dir / "paris.txt").write_text("Paris changed completely: now about the Louvre.")
    store = build_store(store_settings)
    if backend == "files":
        monkeypatch.setattr(files, "write", functools.partial(files.write, _fail_after="dense.faiss"))
    else:
        def crash():
            raise OSError("simulated crash after the chunks were written")

        store._after_chunks = crash
    with pytest.raises(OSError, match="simulated crash"):
        index_paths([docs_dir], store_settings, embedder, store=store, **quiet)
    after = build_store(store_settings).load()
    assert after.documents == docs_before and after.chunk_count == count_before
    retriever = Retriever(after, embedder, store_settings)
    assert all("Louvre" not in p.chunk.text for p in retriever.search("Louvre Paris", k=5))
    monkeypatch.undo()
    data, report = index_paths([docs_dir], store_settings, embedder, **quiet)  # the next run completes it
    assert report.updated == 1 and "Louvre" in Retriever(data, embedder, store_settings).search("Louvre")[0].chunk.text


def test_candidates_carry_both_scores_for_every_chunk(docs_dir, store_settings, embedder):
    data, _ = index_paths([docs_dir], store_settings, embedder, **quiet)
    qvec = embedder.embed_query("capital of Italy")
    found = data.candidates(qvec, "capital of Italy", 50, "hybrid")
    assert len(found.chunks) == data.chunk_count == len(found.dense) == len(found.bm25)
    assert {c.doc_id for c, s in zip(found.chunks, found.bm25) if s > 0} >= {"rome.txt"}
    chunks, vectors = all_chunks(data)
    by_id = {c.chunk_id: v for c, v in zip(chunks, vectors)}
    np.testing.assert_allclose(found.dense, [by_id[c.chunk_id] @ qvec for c in found.chunks], atol=1e-5)
    assert data.candidates(qvec, "zzzqqq", 50, "bm25").chunks == []


def test_both_backends_rank_alike(docs_dir, tmp_path, pg_server, embedder):
    """Same documents, same questions: the same passages in the same order, scores within 1e-4."""
    from pg_fixtures import new_database
    from rag.config import Settings

    base = Settings(index_dir=tmp_path / "index", chunk_words=12)
    pg = base.replace(store_url=new_database(pg_server, dim=64))
    runs = {}
    for name, s in (("files", base), ("postgres", pg)):
        data, _ = index_paths([docs_dir], s, embedder, **quiet)
        r = Retriever(data, embedder, s)
        runs[name] = [[(p.chunk.chunk_id, round(p.score, 4), round(p.scores["bm25"], 4))
                       for p in r.search(q, k=4, mode=m)]
                      for q in ("capital of France", "ancient amphitheatre", "wine and cheese exports")
                      for m in ("hybrid", "dense", "bm25")]
    assert runs["files"] == runs["postgres"]
