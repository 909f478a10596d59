"""Retrieval: dense FAISS and BM25 over the same chunks, fused (linear or reciprocal rank),
with a bounded cache of question vectors in front of the embedder."""

from .base import MODES, Searcher
from .retriever import Retriever
from .vector_cache import CachedEmbedder

__all__ = ["MODES", "CachedEmbedder", "Retriever", "Searcher"]
