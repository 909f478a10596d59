"""One indexing run written in one transaction: documents, chunks (COPY), BM25 statistics.

Changed and removed documents are deleted (their chunks go with them, and their lexemes'
document frequencies are taken off ``rag_terms``), new versions are inserted, and the
manifest row's counts are updated. Readers keep seeing the previous state until COMMIT.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import numpy as np

from ...errors import StoreSchemaError
from ..lexical import Tokenizer
from ..protocol import IndexChange

CHUNK_COLUMNS = ("chunk_id", "doc_id", "text", "source", "title", "start_char", "end_char", "page",
                 "embedding", "lexemes", "tf", "n_tokens")
CHUNK_TYPES = ("text", "text", "text", "text", "text", "int4", "int4", "int4", "vector", "text", "jsonb", "int4")
BULK_ROWS = 1_000
"""A first build or copy at least this big drops the HNSW and GIN indexes and builds them
once after COPY (inside the same transaction): twice as fast as updating them row by row
(squad-dev-half-a's 1,602 chunks: 1.2-1.4 s against 2.5-3.8 s)."""
_INDEXES = {"rag_chunks_embedding": "USING hnsw (embedding vector_cosine_ops)", "rag_chunks_tsv": "USING gin (tsv)"}
_TERMS_OF_TOUCHED = "SELECT c.tsv FROM rag_chunks c JOIN rag_touched t USING (doc_id)"


def lexemes(tokenizer: Tokenizer, chunk) -> list[str]:
    """The BM25 tokens of a chunk as the file backend's BM25 sees them, split where
    PostgreSQL's text parser would split them (underscores), so that the generated tsvector,
    the term frequencies and the query all hold the same lexemes."""
    from ..indexing import embed_text

    return split_lexemes(tokenizer(embed_text(chunk)))


def split_lexemes(tokens: list[str]) -> list[str]:
    return [part for token in tokens for part in token.split("_") if part]


def apply(conn, change: IndexChange, after_chunks=None) -> dict[str, float]:
    """Write ``change`` in one transaction; returns seconds per step (copy, terms, indexes, all).
    ``after_chunks()`` runs inside the transaction once the chunks are in (tests: crash there)."""
    t0 = time.perf_counter()
    steps: dict[str, float] = {}
    manifest = change.manifest
    dim = int(conn.execute("SELECT dim FROM rag_manifest").fetchone()[0])
    want = int(manifest["embedder"]["dim"])
    if want != dim:
        model = conn.execute("SELECT model FROM rag_manifest").fetchone()[0]
        raise StoreSchemaError(f"the database holds {dim}-dimensional vectors (model {model!r}); this app "
                               f"embeds {want} dimensions with {manifest['embedder']['name']!r}")
    touched = set(change.put) | set(change.remove)
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE rag_touched (doc_id text PRIMARY KEY) ON COMMIT DROP")
        if change.replace_all:
            conn.execute("DELETE FROM rag_documents")
            conn.execute("DELETE FROM rag_terms")
        elif touched:
            _fill_touched(conn, touched)
            conn.execute(f"""UPDATE rag_terms t SET df = t.df - s.ndoc
                             FROM ts_stat('{_TERMS_OF_TOUCHED}') s WHERE t.term = s.word""")
            conn.execute("DELETE FROM rag_documents WHERE doc_id IN (SELECT doc_id FROM rag_touched)")
            conn.execute("TRUNCATE rag_touched")
        bulk = change.replace_all and sum(len(cs) for cs, _ in change.put.values()) >= BULK_ROWS
        if bulk:  # readers wait for COMMIT (the table is locked), they never see a partial index
            conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for name in _INDEXES:
                conn.execute(f"DROP INDEX IF EXISTS {name}")
        if change.put:
            t = time.perf_counter()
            _insert(conn, change)
            steps["copy"] = time.perf_counter() - t
            if after_chunks is not None:
                after_chunks()
            t = time.perf_counter()
            _fill_touched(conn, set(change.put))
            conn.execute(f"""INSERT INTO rag_terms SELECT word, ndoc FROM ts_stat('{_TERMS_OF_TOUCHED}')
                             ON CONFLICT (term) DO UPDATE SET df = rag_terms.df + EXCLUDED.df""")
            steps["terms"] = time.perf_counter() - t
        if bulk:
            t = time.perf_counter()
            for name, how in _INDEXES.items():
                conn.execute(f"CREATE INDEX {name} ON rag_chunks {how}")
            steps["indexes"] = time.perf_counter() - t
        conn.execute("DELETE FROM rag_terms WHERE df <= 0")
        conn.execute("""UPDATE rag_manifest SET model = %s, settings = %s, updated_at = now(),
                          n_documents = (SELECT count(*) FROM rag_documents),
                          n_chunks = (SELECT count(*) FROM rag_chunks),
                          n_tokens = (SELECT coalesce(sum(n_tokens), 0) FROM rag_chunks)""",
                     (manifest["embedder"]["name"], json.dumps(manifest["settings"])))
    steps["all"] = time.perf_counter() - t0
    return {k: round(v, 3) for k, v in steps.items()}


def _fill_touched(conn, doc_ids: set[str]) -> None:
    with conn.cursor().copy("COPY rag_touched (doc_id) FROM STDIN") as copy:
        for doc_id in sorted(doc_ids):
            copy.write_row((doc_id,))


def _insert(conn, change: IndexChange) -> None:
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO rag_documents (doc_id, source, title, content_hash, n_chunks, input) "
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        [(doc_id, info["source"], info.get("title", ""), info["hash"], len(change.put[doc_id][0]),
                          info.get("input", "")) for doc_id, info in change.documents.items()
                         if doc_id in change.put])
    copy_chunks(conn, ((c, v) for doc_id in change.put
                       for c, v in zip(change.put[doc_id][0], change.put[doc_id][1])))


def copy_chunks(conn, rows) -> int:
    """COPY (chunk, vector) pairs into rag_chunks in binary; returns the row count."""
    from psycopg.types.json import Jsonb

    tokenizer = Tokenizer()
    n = 0
    with conn.cursor().copy(f"COPY rag_chunks ({', '.join(CHUNK_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(CHUNK_TYPES))
        for c, vector in rows:
            tokens = lexemes(tokenizer, c)
            copy.write_row((c.chunk_id, c.doc_id, c.text, c.source, c.title, c.start, c.end, c.page,
                            np.asarray(vector, dtype=np.float32), " ".join(tokens), Jsonb(Counter(tokens)),
                            len(tokens)))
            n += 1
    return n
