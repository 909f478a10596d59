"""The index store seam: what indexing, retrieval and the app need from a backend.

Two backends satisfy it: the files in ``embeddings/`` (rag.index.store, the embedded default)
and a PostgreSQL + pgvector database that many app replicas share
(rag.index.postgres, chosen by ``RAG_STORE_URL`` / ``--store-url``). Nothing above this
seam knows which one it talks to; :func:`build_store` is the one place that picks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ContextManager, Protocol

import numpy as np

from ..models import Chunk
from ..registry import Registry


@dataclass
class Candidates:
    """Chunks proposed by the dense and the lexical retriever, each with both scores.

    ``order`` breaks ties the same way in every backend (insertion order of the chunks)."""

    chunks: list[Chunk]
    dense: np.ndarray
    bm25: np.ndarray
    order: np.ndarray

    @classmethod
    def empty(cls) -> "Candidates":
        return cls([], np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


@dataclass
class IndexChange:
    """One indexing run's result, applied by a store in one step (all or nothing).

    ``documents`` is the manifest entry of every document that stays (doc_id -> hash,
    source, title, chunks, input); ``put`` holds the chunks and vectors of the documents
    that are new or changed; ``remove`` the ids that go. ``replace_all`` starts from an
    empty index (a first build, or a change of model or chunking settings)."""

    manifest: dict
    documents: dict[str, dict]
    put: dict[str, tuple[list[Chunk], np.ndarray]] = field(default_factory=dict)
    remove: set[str] = field(default_factory=set)
    replace_all: bool = False


class IndexView(Protocol):
    """A loaded index: its manifest and documents, and the candidate search."""

    manifest: dict

    @property
    def documents(self) -> dict[str, dict]: ...

    @property
    def chunk_count(self) -> int: ...

    def candidates(self, qvec: np.ndarray, query: str, n: int, mode: str) -> Candidates:
        """Top ``n`` by cosine (mode hybrid/dense) and top ``n`` by BM25 (hybrid/bm25)."""

    def document_chunks(self, doc_id: str) -> tuple[list[Chunk], np.ndarray]:
        """One document's chunks and their vectors (to reuse unchanged ones when re-indexing)."""


class Store(Protocol):
    location: str
    """Where the index lives, safe to show (no password)."""
    shared: bool
    """Many processes read and write it: indexing removes only documents of the inputs it
    was given, and the embedding model is checked instead of silently re-embedding."""

    def load(self) -> IndexView:
        """The live index; IndexNotFoundError when there is none yet."""

    def lock(self) -> ContextManager[None]:
        """Exclusive right to write; IndexLockedError naming the holder when taken."""

    def apply(self, previous: IndexView | None, change: IndexChange) -> IndexView:
        """Make ``change`` live atomically: readers see the old index or the new, never half."""


def _files(settings) -> Store:
    from .files import FileStore

    return FileStore(settings.index_dir)


def _postgres(settings) -> Store:
    from .postgres import PostgresStore

    return PostgresStore.for_settings(settings)


STORES: Registry[Callable[..., Store]] = Registry("store backend", "RAG_STORE_URL")
"""Store backends by name: ``files`` when no ``store_url`` is set, else the URL's scheme."""
STORES.register("files", _files)
STORES.register("postgresql", _postgres)
STORES.register("postgres", _postgres)


def build_store(settings) -> Store:
    """The store ``settings`` selects: the ``store_url``'s scheme (PostgreSQL), else the files."""
    url = getattr(settings, "store_url", None)
    return STORES.get(url.split("://", 1)[0] if url and "://" in url else "files")(settings)


def gather(documents: dict[str, dict], view: IndexView | None,
           put: dict[str, tuple[list[Chunk], np.ndarray]], dim: int) -> tuple[list[Chunk], np.ndarray]:
    """Every chunk and vector of ``documents`` in document order: fresh ones from ``put``,
    the others from ``view`` (for backends that rewrite the whole index)."""
    chunks: list[Chunk] = []
    vectors: list[np.ndarray] = []
    for doc_id in documents:
        cs, vs = put[doc_id] if doc_id in put else view.document_chunks(doc_id)
        chunks.extend(cs)
        vectors.append(np.asarray(vs, dtype=np.float32).reshape(len(cs), dim))
    return chunks, (np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32))


def safe_location(settings) -> str:
    url = getattr(settings, "store_url", None)
    if url:
        from .postgres.connection import safe_url

        return safe_url(url)
    return str(settings.index_dir)


__all__ = ["STORES", "Candidates", "IndexChange", "IndexView", "Store", "build_store", "gather", "safe_location"]
