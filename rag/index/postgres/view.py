"""A live view of the database index: what the retriever and indexing read from it."""

from __future__ import annotations

import json

import numpy as np

from ..lexical import Tokenizer
from ...models import Chunk
from ..protocol import Candidates
from .search import candidates_sql, params
from .writes import split_lexemes


class PostgresIndex:
    """Reads go to the database each time, so every replica sees every committed update."""

    statement = staticmethod(candidates_sql)
    """The candidates statement for (mode, has_terms); bench/pg_previous.py swaps in the old one."""

    def __init__(self, store):
        self.store = store
        self._tokenizer = Tokenizer()

    @property
    def manifest(self) -> dict:
        with self.store.connection() as conn:
            model, dim, settings, n_docs, n_chunks, updated = conn.execute(
                "SELECT model, dim, settings, n_documents, n_chunks, updated_at FROM rag_manifest").fetchone()
        settings = settings if isinstance(settings, dict) else json.loads(settings or "{}")
        return {"settings": settings, "embedder": {"name": model, "dim": dim},
                "counts": {"documents": n_docs, "chunks": n_chunks},
                "built_at": updated.isoformat() if updated else None, "store": self.store.location}

    @property
    def documents(self) -> dict[str, dict]:
        with self.store.connection() as conn:
            rows = conn.execute("SELECT doc_id, content_hash, source, title, n_chunks, input "
                                "FROM rag_documents ORDER BY doc_id").fetchall()
        return {d: {"hash": h, "source": s, "title": t, "chunks": n, "input": i} for d, h, s, t, n, i in rows}

    @property
    def chunk_count(self) -> int:
        with self.store.connection() as conn:
            return int(conn.execute("SELECT n_chunks FROM rag_manifest").fetchone()[0])

    def candidates(self, qvec: np.ndarray, query: str, n: int, mode: str) -> Candidates:
        lexemes = split_lexemes(self._tokenizer(query))
        sql = self.statement(mode, bool(lexemes))
        if not sql:
            return Candidates.empty()
        with self.store.connection() as conn:
            rows = conn.execute(sql, params(np.asarray(qvec, dtype=np.float32), lexemes, n)).fetchall()
        if not rows:
            return Candidates.empty()
        chunks = [Chunk(chunk_id=r[1], doc_id=r[2], text=r[3], start=r[4], end=r[5], source=r[6],
                        title=r[7], page=r[8]) for r in rows]
        return Candidates(chunks, np.array([r[9] for r in rows], dtype=np.float32),
                          np.array([r[10] for r in rows], dtype=np.float32),
                          np.array([r[0] for r in rows], dtype=np.int64))

    def document_chunks(self, doc_id: str) -> tuple[list[Chunk], np.ndarray]:
        with self.store.connection() as conn:
            rows = conn.execute("SELECT chunk_id, doc_id, text, start_char, end_char, source, title, page, "
                                "embedding FROM rag_chunks WHERE doc_id = %s ORDER BY id", (doc_id,)).fetchall()
        chunks = [Chunk(chunk_id=r[0], doc_id=r[1], text=r[2], start=r[3], end=r[4], source=r[5],
                        title=r[6], page=r[7]) for r in rows]
        vectors = [_array(r[8]) for r in rows]
        dim = len(vectors[0]) if vectors else 0
        return chunks, np.array(vectors, dtype=np.float32).reshape(len(rows), dim)


def _array(value) -> np.ndarray:
    """pgvector's loader gives numpy arrays or its Vector type, depending on the version."""
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)
