"""The database schema, created and upgraded explicitly, one numbered migration at a time.

``python -m rag store init`` applies every migration to an empty database, ``upgrade``
applies the missing ones, ``status`` reports the version. An app pointed at an older
schema is refused with the command to run (:func:`check`); it never migrates on its own,
because many replicas share one database.

Tables (all ``rag_``-prefixed so they can share a database with other stores):
``rag_schema`` (applied versions), ``rag_manifest`` (one row: embedding model, dimension,
chunking settings, counts), ``rag_documents``, ``rag_chunks`` (text, offsets, page,
``vector(dim)``, the BM25 tokens with their term frequencies and count, and a ``tsvector``
generated from the tokens), ``rag_terms`` (document frequency of every lexeme, for BM25).
"""

from __future__ import annotations

from ...errors import StoreSchemaError

VERSION = 2
"""The schema version this code reads and writes."""


def _v1(dim: int) -> list[str]:
    return [
        "CREATE EXTENSION IF NOT EXISTS vector",
        "CREATE TABLE rag_schema (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        """CREATE TABLE rag_manifest (
             id boolean PRIMARY KEY DEFAULT true CHECK (id),
             model text, dim int NOT NULL, settings jsonb NOT NULL DEFAULT '{}',
             n_documents int NOT NULL DEFAULT 0, n_chunks int NOT NULL DEFAULT 0,
             updated_at timestamptz NOT NULL DEFAULT now())""",
        f"INSERT INTO rag_manifest (dim) VALUES ({int(dim)})",
        """CREATE TABLE rag_documents (
             doc_id text PRIMARY KEY, source text NOT NULL, title text NOT NULL DEFAULT '',
             content_hash text NOT NULL, n_chunks int NOT NULL, input text NOT NULL DEFAULT '',
             indexed_at timestamptz NOT NULL DEFAULT now())""",
        f"""CREATE TABLE rag_chunks (
             id bigserial PRIMARY KEY,
             chunk_id text NOT NULL,
             doc_id text NOT NULL REFERENCES rag_documents ON DELETE CASCADE,
             text text NOT NULL, source text NOT NULL, title text NOT NULL DEFAULT '',
             start_char int NOT NULL, end_char int NOT NULL, page int,
             embedding vector({int(dim)}) NOT NULL,
             lexemes text NOT NULL,
             tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', lexemes)) STORED)""",
        "CREATE INDEX rag_chunks_doc ON rag_chunks (doc_id)",
        "CREATE INDEX rag_chunks_embedding ON rag_chunks USING hnsw (embedding vector_cosine_ops)",
        "CREATE INDEX rag_chunks_tsv ON rag_chunks USING gin (tsv)",
    ]


def _v2(dim: int) -> list[str]:
    # BM25 needs each chunk's term frequencies and length and each lexeme's document
    # frequency (ts_rank_cd is not BM25 and mixes badly with cosine in the fusion). The
    # indexer writes them with the chunk; chunks of a version-1 database get them from
    # their tsvector here.
    return [
        "ALTER TABLE rag_chunks ADD COLUMN tf jsonb, ADD COLUMN n_tokens int",
        """UPDATE rag_chunks c SET
             tf = (SELECT coalesce(jsonb_object_agg(lexeme, coalesce(cardinality(positions), 1)), '{}')
                   FROM unnest(c.tsv)),
             n_tokens = (SELECT coalesce(sum(coalesce(cardinality(positions), 1)), 0) FROM unnest(c.tsv))""",
        "ALTER TABLE rag_chunks ALTER COLUMN tf SET NOT NULL, ALTER COLUMN n_tokens SET NOT NULL",
        "ALTER TABLE rag_manifest ADD COLUMN n_tokens bigint NOT NULL DEFAULT 0",
        "UPDATE rag_manifest SET n_tokens = (SELECT coalesce(sum(n_tokens), 0) FROM rag_chunks)",
        "CREATE TABLE rag_terms (term text PRIMARY KEY, df int NOT NULL)",
        "INSERT INTO rag_terms SELECT word, ndoc FROM ts_stat('SELECT tsv FROM rag_chunks')",
    ]


MIGRATIONS = {1: _v1, 2: _v2}


def current(conn) -> int | None:
    """The schema version in the database, or None when it has none."""
    row = conn.execute("SELECT to_regclass('rag_schema') IS NOT NULL").fetchone()
    if not row[0]:
        return None
    return conn.execute("SELECT max(version) FROM rag_schema").fetchone()[0]


def migrate(conn, dim: int, target: int = VERSION) -> list[int]:
    """Apply the migrations after the current version up to ``target``, each in one transaction."""
    applied = []
    have = current(conn) or 0
    for version in range(have + 1, target + 1):
        with conn.transaction():
            for statement in MIGRATIONS[version](dim):
                conn.execute(statement)
            conn.execute("INSERT INTO rag_schema (version) VALUES (%s)", (version,))
        applied.append(version)
    return applied


def check(conn, where: str) -> None:
    """Refuse a database without this code's schema, saying which command fixes it."""
    have = current(conn)
    if have is None:
        raise StoreSchemaError(f"{where} has no rag schema; create it with: python -m rag store init "
                               f"--store-url {where}")
    if have < VERSION:
        raise StoreSchemaError(f"{where} has schema version {have}, this version needs {VERSION}; "
                               f"upgrade it with: python -m rag store upgrade --store-url {where}")
    if have > VERSION:
        raise StoreSchemaError(f"{where} has schema version {have}, newer than this code reads ({VERSION}); "
                               f"upgrade the app")


class Chain:
    """Another store's tables in the same database, versioned like the index's: numbered
    migrations (lists of statements), the applied versions in a ``table`` of their own.
    ``python -m rag store init|upgrade|status`` take them along (the conversation store's)."""

    def __init__(self, name: str, table: str, migrations: dict[int, list[str]]):
        self.name, self.table, self.migrations = name, table, dict(migrations)
        self.version = max(self.migrations)

    def current(self, conn) -> int | None:
        if not conn.execute("SELECT to_regclass(%s) IS NOT NULL", (self.table,)).fetchone()[0]:
            return None
        return conn.execute(f"SELECT max(version) FROM {self.table}").fetchone()[0]

    def migrate(self, conn) -> list[int]:
        applied = []
        with conn.transaction():
            conn.execute(f"CREATE TABLE IF NOT EXISTS {self.table} "
                         f"(version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        for version in range((self.current(conn) or 0) + 1, self.version + 1):
            with conn.transaction():
                for statement in self.migrations[version]:
                    conn.execute(statement)
                conn.execute(f"INSERT INTO {self.table} (version) VALUES (%s)", (version,))
            applied.append(version)
        return applied

    def check(self, conn, where: str) -> None:
        have = self.current(conn)
        if have is None or have < self.version:
            found = "no tables" if have is None else f"version {have}"
            raise StoreSchemaError(f"{where} has {found} for the {self.name}, this version needs {self.version}; "
                                   f"create them with: python -m rag store upgrade --store-url {where}")
        if have > self.version:
            raise StoreSchemaError(f"{where} has {self.name} schema version {have}, newer than this code reads "
                                   f"({self.version}); upgrade the app")
