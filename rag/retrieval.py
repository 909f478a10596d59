"""Hybrid retrieval: dense FAISS inner product and BM25, fused.

Fusion is reciprocal rank fusion with per-retriever weights. Every returned passage
carries its dense cosine and BM25 score, whichever retriever found it, so later stages
(refusal, the UI) can reason about the evidence.
"""

from __future__ import annotations

import numpy as np

from . import dense
from .config import Settings
from .embedding import Embedder
from .errors import InputError
from .models import Passage
from .store import IndexData

MODES = ("hybrid", "dense", "bm25")


class Retriever:
    def __init__(self, data: IndexData, embedder: Embedder, settings: Settings):
        self.data = data
        self.embedder = embedder
        self.settings = settings

    def search(self, query: str, k: int | None = None, mode: str | None = None) -> list[Passage]:
        k = k or self.settings.k
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise InputError(f"retrieval mode must be one of {', '.join(MODES)}, not {mode!r}")
        if not query or not query.strip():
            raise InputError("the query is empty")
        n_chunks = len(self.data.chunks)
        if n_chunks == 0:
            return []
        n = min(max(self.settings.candidates, k), n_chunks)
        qvec = self.embedder.embed_query(query)

        dense_rank: dict[int, int] = {}
        if mode in ("hybrid", "dense"):
            _, ids = dense.search(self.data.faiss_index, qvec, n)
            dense_rank = {int(i): r for r, i in enumerate(ids)}
        bm25_scores = self.data.bm25.scores(query)
        bm25_rank: dict[int, int] = {}
        if mode in ("hybrid", "bm25"):
            top = _top(bm25_scores, n)
            bm25_rank = {int(i): r for r, i in enumerate(top) if bm25_scores[i] > 0}

        s = self.settings
        fused: dict[int, float] = {}
        for ranks, weight in ((dense_rank, s.dense_weight), (bm25_rank, s.bm25_weight)):
            for i, r in ranks.items():
                fused[i] = fused.get(i, 0.0) + weight / (s.rrf_k + r + 1)
        if mode == "dense" and not fused:
            return []
        best = sorted(fused, key=lambda i: (-fused[i], i))[:k]
        rows = np.array(best, dtype=np.int64)
        cosines = np.asarray(self.data.vectors[rows], dtype=np.float32) @ qvec if len(rows) else []
        passages = []
        for rank, (i, cos) in enumerate(zip(best, cosines), start=1):
            passages.append(Passage(rank=rank, score=float(fused[i]), chunk=self.data.chunks[i],
                                    scores={"dense": float(cos), "bm25": float(bm25_scores[i]),
                                            "fused": float(fused[i])}))
        return passages


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    if n >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, n)[:n]
    return part[np.argsort(-scores[part], kind="stable")]
