"""The persisted index: chunk store, vectors, FAISS, BM25 and manifest, written atomically.

Layout of an index directory::

    CURRENT            name of the live version folder (replaced atomically)
    v-<stamp>/         manifest.json, chunks.jsonl, vectors.npy, dense.faiss, bm25/
    .lock              held by the one process that writes

A version folder is complete before CURRENT points at it, so a crash mid-write leaves the
previous version live; leftovers are removed by the next writer.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..hashing import file_sha256
from . import dense
from ..errors import IndexCorruptError, IndexLockedError, IndexNotFoundError
from .lexical import BM25Index
from ..models import Chunk

FORMAT = 1
CURRENT = "CURRENT"
FILES = ("manifest.json", "chunks.jsonl", "vectors.npy", "dense.faiss")


@dataclass
class IndexData:
    """A loaded, immutable index version."""

    manifest: dict
    chunks: list[Chunk]
    vectors: np.ndarray
    faiss_index: object
    bm25: BM25Index
    path: Path | None = None

    @property
    def documents(self) -> dict[str, dict]:
        return self.manifest.get("documents", {})

    @property
    def chunk_count(self) -> int:
        return len(self.chunks)

    def candidates(self, qvec: np.ndarray, query: str, n: int, mode: str):
        from .files import candidates

        return candidates(self, qvec, query, n, mode)

    def document_chunks(self, doc_id: str) -> tuple[list[Chunk], np.ndarray]:
        if not hasattr(self, "_rows"):
            self._rows: dict[str, list[int]] = {}
            for row, c in enumerate(self.chunks):
                self._rows.setdefault(c.doc_id, []).append(row)
        rows = self._rows.get(doc_id, [])
        return [self.chunks[r] for r in rows], np.asarray(self.vectors[rows], dtype=np.float32)


def rebuild_hint(index_dir: Path) -> str:
    return f"rebuild it with: python -m rag index [PATH ...] --index-dir {index_dir}"


def current_version(index_dir: Path) -> Path | None:
    pointer = Path(index_dir) / CURRENT
    try:
        name = pointer.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"cannot read {pointer}: {exc}; {rebuild_hint(index_dir)}") from None
    if not name or "/" in name or "\x00" in name or name.startswith("."):
        raise IndexCorruptError(f"{pointer} is corrupt; {rebuild_hint(index_dir)}")
    return Path(index_dir) / name


def exists(index_dir: Path) -> bool:
    return current_version(Path(index_dir)) is not None


def read_manifest(index_dir: Path) -> dict:
    version = current_version(Path(index_dir))
    if version is None:
        raise IndexNotFoundError(f"no index in {index_dir}; build one with: python -m rag index [PATH ...]"
                                 + (f" --index-dir {index_dir}" if Path(index_dir).name != "embeddings" else ""))
    try:
        manifest = json.loads((version / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"index manifest in {version} is unreadable ({exc.__class__.__name__}); "
                                f"{rebuild_hint(index_dir)}") from None
    if manifest.get("format") != FORMAT:
        raise IndexCorruptError(f"index in {index_dir} has format {manifest.get('format')!r}, "
                                f"this version reads {FORMAT}; {rebuild_hint(index_dir)}")
    return manifest


def load(index_dir: Path) -> IndexData:
    """Load the live version; IndexNotFoundError or IndexCorruptError with a rebuild hint."""
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    version = current_version(index_dir)
    try:
        for name, size in manifest.get("file_sizes", {}).items():
            actual = (version / name).stat().st_size
            if actual != size:
                raise ValueError(f"{name} is {actual} bytes, expected {size} (truncated?)")
        # Same size, different bytes (a bad disk, a copy gone wrong) loads silently or
        # fails only at query time without this.
        for name, digest in manifest.get("file_sha256", {}).items():
            if file_sha256(version / name) != digest:
                raise ValueError(f"{name} does not match its checksum (damaged)")
        chunks = []
        with (version / "chunks.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                chunks.append(Chunk(**json.loads(line)))
        vectors = np.load(version / "vectors.npy", mmap_mode="r")
        faiss_index = dense.load(version / "dense.faiss")
        bm25 = BM25Index.load(version / "bm25")
        counts = manifest.get("counts", {})
        if not (len(chunks) == len(vectors) == faiss_index.ntotal == counts.get("chunks")):
            raise ValueError(f"chunk counts disagree: store {len(chunks)}, vectors {len(vectors)}, "
                             f"faiss {faiss_index.ntotal}, manifest {counts.get('chunks')}")
        if chunks and bm25.size != len(chunks):
            raise ValueError(f"BM25 index has {bm25.size} chunks, store has {len(chunks)}")
    except Exception as exc:  # the readers (numpy, faiss, bm25s) raise many types on bad bytes
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise IndexCorruptError(f"index in {index_dir} is corrupt: {detail}; {rebuild_hint(index_dir)}") from None
    return IndexData(manifest, chunks, vectors, faiss_index, bm25, version)


def write(index_dir: Path, manifest: dict, chunks: list[Chunk], vectors: np.ndarray,
          bm25_texts: list[str], _fail_after: str | None = None) -> IndexData:
    """Write a new version and make it live atomically. Call under :func:`lock`.

    ``_fail_after`` names a file after which to raise, to test crash safety.
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    name = f"v-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as handle:
        for c in chunks:
            handle.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
    if _fail_after == "chunks.jsonl":
        raise OSError("simulated crash after chunks.jsonl")
    np.save(tmp / "vectors.npy", vectors)
    faiss_index = dense.build(vectors)
    dense.save(faiss_index, tmp / "dense.faiss")
    if _fail_after == "dense.faiss":
        raise OSError("simulated crash after dense.faiss")
    bm25 = BM25Index.build(bm25_texts)
    bm25.save(tmp / "bm25")
    manifest = dict(manifest, format=FORMAT, dense_index=dense.kind(faiss_index),
                    counts={"documents": len(manifest.get("documents", {})), "chunks": len(chunks)})
    # Every data file (BM25's too), so a truncated one is caught at load time.
    manifest["file_sizes"] = {f.relative_to(tmp).as_posix(): f.stat().st_size
                              for f in sorted(tmp.rglob("*")) if f.is_file() and f.name != "manifest.json"}
    manifest["file_sha256"] = {name: file_sha256(tmp / name) for name in manifest["file_sizes"]}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    for f in tmp.rglob("*"):
        if f.is_file():
            with f.open("rb") as fh:
                os.fsync(fh.fileno())
    final = index_dir / name
    os.rename(tmp, final)
    pointer_tmp = index_dir / f".{CURRENT}.tmp"
    pointer_tmp.write_text(name)
    with pointer_tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    if _fail_after == "version":
        raise OSError("simulated crash before CURRENT was switched")
    os.replace(pointer_tmp, index_dir / CURRENT)
    cleanup(index_dir, keep=name)
    return IndexData(manifest, chunks, vectors, faiss_index, bm25, final)


def cleanup(index_dir: Path, keep: str | None = None) -> None:
    """Remove unfinished and superseded versions (only under the lock)."""
    live = keep
    if live is None:
        version = current_version(index_dir)
        live = version.name if version else None
    for entry in Path(index_dir).iterdir():
        if entry.is_dir() and (entry.name.startswith(".tmp-") or entry.name.startswith("v-")) \
                and entry.name != live:
            shutil.rmtree(entry, ignore_errors=True)


@contextmanager
def lock(index_dir: Path) -> Iterator[None]:
    """Exclusive write lock on an index directory; IndexLockedError when another holds it."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / ".lock"
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise IndexLockedError(f"{index_dir} is being indexed by {holder}; wait for it to finish "
                                   f"and try again") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()
