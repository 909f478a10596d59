"""Indexing: embedders (ONNX Runtime by default, torch as reference), the dense FAISS and
lexical BM25 indexes, the persisted store, and incremental (re)indexing of input paths."""

from . import dense, store
from .embedding import BACKENDS, EMBEDDERS, Embedder, EmbedderOptions, Progress, build_embedder, bundled_model_path
from .indexing import IndexReport, embed_text, ensure_index, index_paths, stale_reason
from .protocol import STORES, Candidates, IndexChange, IndexView, Store, build_store, safe_location
from .store import IndexData
from .postgres import PostgresStore  # its pooled connection() serves other stores on the database too
from .postgres.connection import make_pool, safe_url, shared_pool  # reusable by other stores on the database
from .postgres.schema import Chain as SchemaChain
from .store_cli import add_arguments as add_store_arguments, run as run_store_command

__all__ = ["BACKENDS", "STORES", "Candidates", "EMBEDDERS", "Embedder", "EmbedderOptions", "IndexChange", "IndexData",
           "IndexReport", "IndexView", "PostgresStore", "Progress", "SchemaChain", "Store", "add_store_arguments", "build_store",
           "make_pool", "run_store_command", "safe_location", "safe_url", "shared_pool",
           "build_embedder", "bundled_model_path", "embed_text", "ensure_index", "index_paths",
           "dense", "stale_reason", "store"]
