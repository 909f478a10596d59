"""Indexing: embedders (ONNX Runtime by default, torch as reference), the dense FAISS and
lexical BM25 indexes, the persisted store, and incremental (re)indexing of input paths."""

from . import dense, store
from .embedding import BACKENDS, EMBEDDERS, Embedder, EmbedderOptions, Progress, build_embedder, bundled_model_path
from .indexing import IndexReport, embed_text, ensure_index, index_paths, stale_reason
from .store import IndexData

__all__ = ["BACKENDS", "EMBEDDERS", "Embedder", "EmbedderOptions", "IndexData", "IndexReport", "Progress",
           "build_embedder", "bundled_model_path", "embed_text", "ensure_index", "index_paths",
           "dense", "stale_reason", "store"]
