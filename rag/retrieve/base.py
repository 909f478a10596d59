"""What the answer path needs from retrieval: ranked passages for a query, and the embedder
that encoded it (evidence sentences are compared with the same model)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..index import Embedder
from ..models import Passage

from ..config import MODES  # noqa: F401  (re-exported: dense and BM25 fused, or either alone)


@runtime_checkable
class Searcher(Protocol):
    embedder: Embedder

    def search(self, query: str, k: int | None = None, mode: str | None = None) -> list[Passage]:
        """The top ``k`` passages for ``query``, best first; InputError for an unknown mode."""
