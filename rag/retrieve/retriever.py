"""Hybrid retrieval: dense and BM25 candidates from the store, fused here.

The store (files: FAISS and bm25s; PostgreSQL: pgvector and BM25 over its full-text
index) proposes ``candidates`` chunks per retriever, each with both scores. In hybrid mode every candidate is scored by
both: ``dense_weight * cosine + bm25_weight * bm25 / best_bm25`` (linear fusion, the
default), or by reciprocal rank fusion. Every returned passage carries its dense cosine
and BM25 score, whichever retriever found it, so later stages (refusal, the UI) can reason
about the evidence.
"""

from __future__ import annotations

import numpy as np

from ..index import Embedder, IndexView
from ..config import Settings
from ..errors import InputError
from ..models import Passage
from .base import MODES


class Retriever:
    def __init__(self, data: IndexView, embedder: Embedder, settings: Settings):
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
        n = max(self.settings.candidates, k)
        qvec = self.embedder.embed_query(query)
        found = self.data.candidates(qvec, query, n, mode)
        if not found.chunks:
            return []
        cos, lex = found.dense, found.bm25
        fused = self._fuse(mode, cos, lex)
        order = np.lexsort((found.order, -fused))[:k]
        return [Passage(rank=r, score=float(fused[i]), chunk=found.chunks[int(i)],
                        scores={"dense": float(cos[i]), "bm25": float(lex[i]), "fused": float(fused[i])})
                for r, i in enumerate(order, start=1)]

    def _fuse(self, mode: str, cos: np.ndarray, lex: np.ndarray) -> np.ndarray:
        s = self.settings
        if mode == "dense":
            return cos
        if mode == "bm25":
            return lex
        if s.fusion == "rrf":
            return s.dense_weight / (s.rrf_k + 1 + _ranks(cos)) + s.bm25_weight / (s.rrf_k + 1 + _ranks(lex))
        best = float(lex.max()) if len(lex) else 0.0
        return s.dense_weight * cos + s.bm25_weight * (lex / best if best > 0 else lex)


def _ranks(scores: np.ndarray) -> np.ndarray:
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    return ranks
