"""The PostgreSQL + pgvector backend of the store seam, shared by many app replicas.

Readers query the live tables (every search is one statement, so it sees one committed
state); a writer holds a session advisory lock and makes each indexing run one
transaction, so a killed indexer leaves the previous state and no replica ever serves a
half-written document. Nothing of the index is held in the app's memory.
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from typing import Iterator


from ...errors import IndexLockedError, IndexNotFoundError, StoreError, StoreSchemaError
from ..protocol import IndexChange
from . import schema, writes
from .connection import explain, probe, safe_url, shared_pool
from .view import PostgresIndex

LOCK_KEY = 0x7261_6721  # "rag!": the advisory lock that serialises indexers
EF_SEARCH = 200
"""HNSW candidate list per query (pgvector's default is 40, fewer than the 50 candidates
the retriever asks for). bench/postgres.py, 100,000 synthetic chunks, 300 real question
embeddings against exact search: recall@10 0.901 at 40, 0.956 at 100, 0.971 at 200 (p50
3.1 ms against 1.8 ms at 100), 0.985 at 400; 200 keeps a margin above the 0.95 bar."""


class PostgresStore:
    shared = True

    def __init__(self, url: str, *, pool_size: int = 4):
        self.url = url
        self.location = safe_url(url)
        self.pool_size = pool_size
        self._pool = None
        self._writer = None
        self._after_chunks = None  # tests: called inside the write transaction (crash, pause)
        self.last_write: dict[str, float] = {}
        """Seconds per step of the last apply() (copy, terms, indexes, all), for the bench."""

    @classmethod
    def for_settings(cls, settings) -> "PostgresStore":
        return cls(settings.store_url, pool_size=settings.store_pool_size)

    # ------------------------------------------------------------------ connections
    @property
    def pool(self):
        if self._pool is None:
            self._pool = shared_pool(self.url, max_size=self.pool_size, name="rag-store",
                                     settings={"hnsw.ef_search": EF_SEARCH}, vectors=True)
        return self._pool

    @contextmanager
    def connection(self, wait: float | None = None) -> Iterator:
        """A pooled connection (waiting up to ``wait`` seconds for a free one, default the
        pool's); any database failure leaves as a one-line StoreError."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self.pool.connection(timeout=wait) as conn:
                yield conn
        except PoolTimeout:
            probe(self.url)  # raises the real reason (down, wrong password, ...)
            raise explain(psycopg.OperationalError("no connection became free in time"), self.url) from None
        except psycopg.Error as exc:
            raise explain(exc, self.url) from None

    def close(self) -> None:
        """Close this process's pool to the database (other stores on it reopen one)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # ------------------------------------------------------------------ the seam
    def load(self) -> PostgresIndex:
        with self.connection() as conn:
            check_ready(conn, self.location)
            row = conn.execute("SELECT model, dim FROM rag_manifest").fetchone()
        if row is None or row[0] is None:
            raise IndexNotFoundError(f"no documents in {self.location} yet; index some with: "
                                     f"python -m rag index PATH ... --store-url {self.location}")
        return PostgresIndex(self)

    @contextmanager
    def lock(self) -> Iterator[None]:
        import psycopg

        who = f"rag indexer pid {os.getpid()} on {socket.gethostname()}"
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5, application_name=who[:63])
        except psycopg.Error as exc:
            raise explain(exc, self.url) from None
        try:
            check_ready(conn, self.location)
            if not conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
                raise IndexLockedError(f"{self.location} is being indexed by {holder(conn)}; wait for it to "
                                       f"finish and try again")
            from pgvector.psycopg import register_vector

            register_vector(conn)
            self._writer = conn
            yield
        except psycopg.Error as exc:
            raise explain(exc, self.url, "write to") from None
        finally:
            self._writer = None
            conn.close()  # ends the session: the advisory lock goes with it

    def apply(self, previous, change: IndexChange) -> PostgresIndex:
        if self._writer is None:
            raise StoreError("apply() must run under lock()")
        self.last_write = writes.apply(self._writer, change, after_chunks=self._after_chunks)
        return PostgresIndex(self)


def check_ready(conn, where: str) -> None:
    """pgvector installed and this code's schema version present, or say what to run."""
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone() is None:
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
        if available is None:
            raise StoreSchemaError(f"the server behind {where} has no pgvector extension: install pgvector "
                                   f"(https://github.com/pgvector/pgvector) on it")
        raise StoreSchemaError(f"pgvector is not enabled in {where}; create the schema with: "
                               f"python -m rag store init --store-url {where}")
    schema.check(conn, where)


def holder(conn) -> str:
    row = conn.execute("""SELECT a.application_name, a.client_addr, a.pid FROM pg_locks l
                          JOIN pg_stat_activity a ON a.pid = l.pid
                          WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted""",
                       (LOCK_KEY & 0xFFFFFFFF,)).fetchone()
    if row is None:
        return "another process"
    name, addr, pid = row
    return (name or "another process") + (f" (server pid {pid}{', from ' + str(addr) if addr else ''})")
