"""The file backend of the store seam: versioned folders in ``embeddings/`` (rag.index.store)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import dense
from . import store as files
from .store import IndexData
from .protocol import Candidates, IndexChange, gather


def candidates(data: IndexData, qvec: np.ndarray, query: str, n: int, mode: str) -> Candidates:
    """FAISS top ``n`` and BM25 top ``n``, each candidate with its cosine and BM25 score."""
    n = min(n, len(data.chunks))
    if n == 0:
        return Candidates.empty()
    bm25 = data.bm25.scores(query)
    rows: set[int] = set()
    if mode in ("hybrid", "dense"):
        rows.update(int(i) for i in dense.search(data.faiss_index, qvec, n)[1])
    if mode in ("hybrid", "bm25"):
        rows.update(int(i) for i in _top(bm25, n) if bm25[i] > 0)
    order = np.array(sorted(rows), dtype=np.int64)
    cos = np.asarray(data.vectors[order], dtype=np.float32) @ qvec if len(order) else np.zeros(0, np.float32)
    return Candidates([data.chunks[int(r)] for r in order], cos, np.asarray(bm25[order]), order)


class FileStore:
    """The embedded default: versioned index folders on one disk (the module functions)."""

    shared = False

    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        self.location = str(index_dir)

    def load(self) -> IndexData:
        return files.load(self.index_dir)

    def lock(self):
        return files.lock(self.index_dir)

    def apply(self, previous: IndexData | None, change: IndexChange) -> IndexData:
        from .indexing import embed_text

        dim = int(change.manifest.get("embedder", {}).get("dim") or 0)
        chunks, vectors = gather(change.documents, previous, change.put, dim)
        manifest = dict(change.manifest, documents=change.documents)
        return files.write(self.index_dir, manifest, chunks, vectors, [embed_text(c) for c in chunks])


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    if n >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, n)[:n]
    return part[np.argsort(-scores[part], kind="stable")]
