"""A bounded LRU cache in front of an embedder, for the question path.

Answering embeds the question once for retrieval and again to score evidence sentences,
and embeds the ~15 sentences of the top passages (about a third of an answer's time on 2
cores). Users ask several questions about the same documents, and the same passages come
back, so their sentence vectors are worth keeping. Large batches (indexing) go straight to
the wrapped embedder and are not cached. Vectors are the wrapped embedder's own: a cache
hit returns exactly what a miss computed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np

from ..index import Embedder, Progress


class CachedEmbedder:
    def __init__(self, inner: Embedder, max_items: int = 8192, passthrough: int = 256):
        self.inner = inner
        self.max_items = max_items
        self.passthrough = passthrough
        self._texts: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def __getattr__(self, attr):  # anything else (model, threads, ...) is the inner embedder's
        if attr == "inner":
            raise AttributeError(attr)
        return getattr(self.inner, attr)

    def _get(self, table: OrderedDict, key: str) -> np.ndarray | None:
        vec = table.get(key)
        if vec is not None:
            table.move_to_end(key)
        return vec

    def _put(self, table: OrderedDict, key: str, vec: np.ndarray) -> None:
        table[key] = vec
        table.move_to_end(key)
        while len(table) > self.max_items:
            table.popitem(last=False)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            vec = self._get(self._queries, text)
        if vec is not None:
            self.hits += 1
            return vec
        self.misses += 1
        vec = self.inner.embed_query(text)
        vec.setflags(write=False)
        with self._lock:
            self._put(self._queries, text, vec)
        return vec

    def embed_batch(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        if len(texts) > self.passthrough or self.max_items <= 0:
            return self.inner.embed_batch(texts, progress)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                vec = self._get(self._texts, text)
                if vec is None:
                    missing.setdefault(text, []).append(i)
                else:
                    out[i] = vec
        self.hits += len(texts) - sum(len(v) for v in missing.values())
        self.misses += len(missing)
        if missing:
            fresh = self.inner.embed_batch(list(missing))
            with self._lock:
                for (text, rows), vec in zip(missing.items(), fresh):
                    out[rows] = vec
                    self._put(self._texts, text, vec.copy())
        if progress:
            progress(len(texts))
        return out
