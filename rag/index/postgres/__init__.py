"""The PostgreSQL + pgvector index store (``RAG_STORE_URL``): schema, migrations, store, search."""

from .connection import is_postgres_url, make_pool, safe_url, shared_pool
from .store import PostgresStore

__all__ = ["PostgresStore", "is_postgres_url", "make_pool", "safe_url", "shared_pool"]
