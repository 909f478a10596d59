"""Faults: processes killed while indexing, concurrent indexers, damaged index files.

tests/test_index.py covers in-process crashes (exceptions at each write step), truncation and
the lock between threads; here the faults are real: SIGKILL'd child processes, several
processes racing for one index directory, same-size byte damage, and what the CLI prints.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.index import store
from rag.testing import HashEmbedder
from rag.errors import IndexCorruptError
from rag.index.indexing import index_paths
from rag.retrieve import Retriever

from conftest import write_corpus

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "fault_worker.py"


def worker(docs, index_dir, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), str(docs), str(index_dir), *map(str, extra)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def run_worker(docs, index_dir, *extra, timeout=60):
    proc = worker(docs, index_dir, *extra)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def cli(*args, env=None, timeout=120):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "rag", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=timeout)


def snapshot(index_dir):
    data = store.load(index_dir)
    return data.path.name, [c.to_dict() for c in data.chunks], np.array(data.vectors)


def many_docs(folder: Path, n: int, tag: str = "") -> Path:
    return write_corpus(folder, {f"doc{i:03d}.txt": f"Document {i}{tag} is about topic{i}. It has a second sentence "
                                                    f"about subject{i} and more words." for i in range(n)})


@pytest.fixture
def built(tmp_path, settings):
    """An index of 20 documents, and the folder it came from."""
    docs = many_docs(tmp_path / "docs", 20)
    index_paths([docs], settings, HashEmbedder(), log=lambda m: None)
    return docs


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker ended early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("worker never started embedding")
        time.sleep(0.02)


def _assert_update_completes(docs, settings, before_name):
    data, report = index_paths([docs], settings, HashEmbedder(), log=lambda m: None)
    assert report.wrote and data.path.name != before_name
    leftovers = sorted(p.name for p in settings.index_dir.iterdir() if p.is_dir() and p.name != data.path.name)
    assert leftovers == [], "the next run removes what the killed one left"
    return data, report


# ------------------------------------------------------------------------- kill -9
def test_sigkill_mid_embedding_keeps_the_old_index_and_the_next_run_completes(built, settings, tmp_path):
    before = snapshot(settings.index_dir)
    many_docs(built, 20, tag=" (revised)")  # every document changed: all 20 re-embedded
    ready = tmp_path / "embedding-started"
    # --hold: the worker pauses after its first embedded text until a file that never comes,
    # so the kill lands mid-embedding however slow the machine is.
    proc = worker(built, settings.index_dir, "--ready", ready, "--hold", tmp_path / "never")
    _wait_for(ready, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL

    # The dead process's pid is still written in .lock, but flock died with it.
    assert f"pid {proc.pid}" in (settings.index_dir / ".lock").read_text()
    after = snapshot(settings.index_dir)
    assert after[0] == before[0] and after[1] == before[1]
    np.testing.assert_array_equal(after[2], before[2])
    hits = Retriever(store.load(settings.index_dir), HashEmbedder(), settings).search("topic7 subject7", k=1)
    assert hits[0].chunk.doc_id == "doc007.txt"

    data, report = _assert_update_completes(built, settings, before[0])
    assert report.updated == 20
    assert all("(revised)" in c.text for c in data.chunks if c.text.startswith("Document"))


@pytest.mark.parametrize("point", ["half-vectors", "before-current"])
def test_sigkill_mid_write_keeps_the_old_index(built, settings, point):
    before = snapshot(settings.index_dir)
    (built / "doc003.txt").write_text("Document 3 was rewritten about volcanoes.")
    (built / "doc004.txt").unlink()
    code, out, err = run_worker(built, settings.index_dir, "--die-at", point)
    assert code == -signal.SIGKILL, (out, err)
    assert any(p.name.startswith((".tmp-", "v-")) and p.name != before[0]
               for p in settings.index_dir.iterdir()), "the killed writer left a partial version behind"
    assert snapshot(settings.index_dir)[1] == before[1]

    data, report = _assert_update_completes(built, settings, before[0])
    assert (report.updated, report.removed) == (1, 1)
    assert any("volcanoes" in c.text for c in data.chunks)
    assert not any(c.doc_id == "doc004.txt" for c in data.chunks)


# ------------------------------------------------------------------------- two writers
def test_second_process_is_told_the_index_is_being_indexed(built, settings, tmp_path):
    many_docs(built, 20, tag=" (v2)")
    ready, release = tmp_path / "ready", tmp_path / "release"
    # the first indexer pauses mid-embedding, holding the lock, until the second has been
    # turned away (not for a fixed ~10 s that a slow CLI start on a loaded box could outlast)
    first = worker(built, settings.index_dir, "--ready", ready, "--hold", release)
    try:
        _wait_for(ready, first)
        second = cli("index", built, "--index-dir", settings.index_dir)
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert lines == [f"error: {settings.index_dir} is being indexed by pid {first.pid}; "
                         f"wait for it to finish and try again"], second.stderr
        assert "Traceback" not in second.stderr
    finally:
        release.touch()
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    data = store.load(settings.index_dir)
    assert all("(v2)" in c.text for c in data.chunks if c.text.startswith("Document"))


def test_racing_processes_never_corrupt_the_index(tmp_path, settings):
    docs = many_docs(tmp_path / "docs", 30)
    procs = [worker(docs, settings.index_dir, "--slow", 0.002) for _ in range(4)]
    results = [(p.wait(120), p.communicate()) for p in procs]
    codes = [code for code, _ in results]
    assert 0 in codes and set(codes) <= {0, 1}, results
    for code, (out, err) in results:
        if code == 1:
            assert "is being indexed by pid" in err and "Traceback" not in err
    data = store.load(settings.index_dir)
    assert len({c.doc_id for c in data.chunks}) == 30
    assert len(data.chunks) == data.faiss_index.ntotal == len(data.vectors)
    versions = [p for p in settings.index_dir.iterdir() if p.is_dir()]
    assert [v.name for v in versions] == [data.path.name]


# ------------------------------------------------------------------------- damaged files
def _flip(path: Path, seed: int = 0) -> None:
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(seed)
    for i in rng.integers(len(data) // 4, len(data), size=8):
        data[i] ^= 0xA5
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["vectors.npy", "dense.faiss", "chunks.jsonl", "bm25/data.csc.index.npy",
                                  "bm25/indices.csc.index.npy", "bm25/indptr.csc.index.npy"])
def test_same_size_damage_is_detected_at_load(built, settings, name):
    """Byte damage that keeps the size used to load silently (wrong vectors, wrong scores)
    or fail at query time; the manifest's checksums catch it at load."""
    version = store.load(settings.index_dir).path
    _flip(version / name)
    with pytest.raises(IndexCorruptError) as info:
        store.load(settings.index_dir)
    message = str(info.value)
    assert name in message and "python -m rag index" in message and "\n" not in message


def test_cli_reports_a_damaged_index_in_one_line_with_the_fix(built, settings):
    version = store.load(settings.index_dir).path
    _flip(version / "dense.faiss")
    result = cli("search", "topic3", "--index-dir", settings.index_dir)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: index in ")
    assert f"rebuild it with: python -m rag index [PATH ...] --index-dir {settings.index_dir}" in lines[0]


def test_damaged_index_is_rebuilt_by_the_next_index_run(built, settings):
    version = store.load(settings.index_dir).path
    _flip(version / "vectors.npy")
    logs: list[str] = []
    data, report = index_paths([built], settings, HashEmbedder(), log=logs.append)
    assert report.added == 20 and any("rebuilding from scratch" in line for line in logs)
    assert store.load(settings.index_dir).path == data.path
