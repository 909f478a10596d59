"""The watched folder: debounce, half-written files, removals, retries, and the real indexer."""

from __future__ import annotations

import os

from pdf_builder import layout_pdf, paragraph
from rag.engine import Engine
from rag.serve.watch import FolderWatcher, WatchStatus, index_changes


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def watcher(folder, failing=(), settle=2.0):
    calls = []

    def on_change(changed, removed):
        calls.append((list(changed), list(removed)))
        return [c for c in changed if c in failing]

    clock = Clock()
    return FolderWatcher(folder, on_change, settle=settle, retry_for=30, clock=clock), clock, calls


def test_new_files_are_indexed_once_they_settle_in_one_batch(tmp_path):
    w, clock, calls = watcher(tmp_path)
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("two")
    (tmp_path / ".hidden.txt").write_text("never")
    (tmp_path / "c.txt.part").write_text("a download in progress")
    assert w.poll() is None and not w.accepts(tmp_path / "a.txt")
    clock.now += 1
    assert w.poll() is None  # still within the debounce window
    clock.now += 1.5
    assert w.poll() == (["a.txt", "sub/b.md"], [])
    assert calls == [(["a.txt", "sub/b.md"], [])] and w.accepts(tmp_path / "a.txt")
    clock.now += 5
    assert w.poll() is None  # nothing changed: nothing re-indexed


def test_a_file_still_being_written_is_never_indexed_half(tmp_path):
    w, clock, calls = watcher(tmp_path)
    target = tmp_path / "big.txt"
    for i in range(5):  # a slow writer: the file grows on every look
        with target.open("a") as handle:
            handle.write(f"part {i}\n")
        os.utime(target, ns=(i * 10**9, i * 10**9))
        assert w.poll() is None and not w.accepts(target)
        clock.now += 1.5
    clock.now += 1
    assert w.poll() == (["big.txt"], [])


def test_a_pdf_without_its_end_waits_until_it_is_complete(tmp_path):
    w, clock, calls = watcher(tmp_path)
    data = layout_pdf([paragraph(100, ["Half a document."])])
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(data[: len(data) // 2])  # a copy that stalled half-way
    w.poll()
    clock.now += 10
    assert w.poll() is None and not w.accepts(pdf)
    pdf.write_bytes(data)
    w.poll()
    clock.now += 3
    assert w.poll() == (["doc.pdf"], [])


def test_changes_and_removals_are_indexed(tmp_path):
    w, clock, calls = watcher(tmp_path)
    (tmp_path / "a.txt").write_text("one")
    w.poll()
    clock.now += 3
    w.poll()
    (tmp_path / "a.txt").write_text("one, changed")
    os.utime(tmp_path / "a.txt", ns=(5 * 10**9, 5 * 10**9))
    w.poll()
    clock.now += 3
    assert w.poll() == (["a.txt"], [])
    (tmp_path / "a.txt").unlink()
    assert w.poll() == ([], ["a.txt"])
    assert w.poll() is None


def test_a_fresh_file_that_fails_is_retried_an_old_one_is_not(tmp_path):
    w, clock, calls = watcher(tmp_path, failing={"bad.txt"})
    (tmp_path / "bad.txt").write_text("x")
    w.poll()
    clock.now += 3
    assert w.poll() == (["bad.txt"], [])
    assert w.poll() is None  # not at once
    clock.now += 4
    assert w.poll() == (["bad.txt"], [])  # retried: it may have been cut short
    for _ in range(10):
        clock.now += 5
        w.poll()
    count = len(calls)
    clock.now += 100
    assert w.poll() is None and len(calls) == count  # old now: reported, not retried forever


def test_the_engine_indexes_the_watched_folder_with_upload_style_reports(tmp_path, settings, embedder):
    seeds, folder = tmp_path / "seeds", tmp_path / "watched"
    seeds.mkdir()
    folder.mkdir()
    (seeds / "seed.txt").write_text("The seed document is about apples.")
    engine = Engine(settings, embedder=embedder, inputs=[seeds, folder], log=lambda m: None)
    status = WatchStatus(folder=str(folder))
    progress_seen = []
    reindex = engine.reindex

    def spying_reindex(progress=None):
        return reindex(progress=lambda d, t: (progress_seen.append((d, t)), progress(d, t)))

    clock = Clock()
    w = FolderWatcher(folder, index_changes(spying_reindex, status), clock=clock)
    engine.accept = w.accepts
    (folder / "half.txt").write_text("Being written while the app starts.")
    engine.load()
    assert {d["doc_id"] for d in engine.documents()} == {"seed.txt"}  # not ready: not read
    (folder / "pears.txt").write_text("Pears grow in the watched folder.")
    (folder / "broken.csv").write_text('a,b\n"open,1\n')
    w.poll()
    clock.now += 3
    w.poll()
    assert {d["doc_id"] for d in engine.documents()} == {"seed.txt", "half.txt", "pears.txt"}
    assert status.updates == 1 and status.progress is None and progress_seen
    assert status.lines[0].startswith(f"From {folder}: broken.csv, half.txt, pears.txt. documents: 2 added")
    assert status.lines[1:] == ["Skipped: broken.csv: broken CSV quoting at line 2 (unexpected end of data), skipped"]
    (folder / "pears.txt").unlink()
    w.poll()
    assert {d["doc_id"] for d in engine.documents()} == {"seed.txt", "half.txt"}
    assert "pears.txt (removed)" in status.lines[0]


def test_files_already_settled_at_start_are_read_by_the_first_load(tmp_path, settings, embedder):
    from rag.serve.watch import watch_engine

    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "old.txt").write_text("An old file, settled long ago.")
    os.utime(folder / "old.txt", ns=(10**9, 10**9))
    (folder / "new.txt").write_text("Written a moment ago.")
    engine = Engine(settings, embedder=embedder, inputs=[], log=lambda m: None)
    status, w = watch_engine(engine, folder)
    engine.load()
    assert {d["doc_id"] for d in engine.documents()} == {"old.txt"}  # new.txt waits to settle
    assert w.accepts(folder / "old.txt") and not w.accepts(folder / "new.txt")


def test_watched_documents_are_listed_as_watched(tmp_path, settings, embedder):
    from rag.serve import presenting
    from rag.serve.watch import watch_engine

    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "old.txt").write_text("An old file, settled long ago.")
    os.utime(folder / "old.txt", ns=(10**9, 10**9))
    engine = Engine(settings, embedder=embedder, inputs=[], log=lambda m: None)
    status, w = watch_engine(engine, folder)
    engine.load()
    assert presenting.documents_table(engine.documents(), [], status.files)[0][3] == "watched"
