"""``python -m rag store init|upgrade|status|copy``: the database's schema and contents.

The schema is created and upgraded only by these commands (never by an app that starts),
the index's tables and those of every other store on the database (``chains``: the
conversation store's, passed in by ``rag.cli``), and ``copy`` moves a file index into a database with its vectors, so nothing is embedded
again, then checks that the database holds as many documents and chunks as the files.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import InputError, StoreSchemaError

DEFAULT_DIM = 384


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="store_command", required=True, parser_class=type(parser))
    for name, text in (("init", "create the schema in an empty database"),
                       ("upgrade", "apply the schema migrations the database lacks"),
                       ("status", "schema version, embedding model and counts of a database")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--store-url", help="postgresql://user:pass@host:5432/db (default: RAG_STORE_URL)")
        if name == "init":
            p.add_argument("--dim", type=int, default=DEFAULT_DIM, help="vector dimension (all-MiniLM-L6-v2: 384)")
    p = sub.add_parser("copy", help="copy a file index (vectors included) into a database")
    p.add_argument("--from", dest="source", type=Path, required=True, help="index folder, e.g. embeddings/")
    p.add_argument("--to", dest="store_url", required=True, help="postgresql://... with the schema initialised")


def run(args, settings, log, chains=()) -> int:
    """Run ``rag store ...``; ``chains`` (:class:`~rag.index.postgres.schema.Chain`) are the
    other stores' tables, created by ``init`` and brought up to date by ``upgrade``."""
    from .postgres import PostgresStore
    from .postgres.connection import explain, safe_url

    url = getattr(args, "store_url", None) or settings.store_url
    if not url:
        raise InputError("no database given: pass --store-url postgresql://user:pass@host/db or set RAG_STORE_URL")
    if not url.startswith(("postgresql://", "postgres://")):
        raise InputError(f"{safe_url(url) if '://' in url else 'the store URL'} is not a postgresql:// URL")
    if args.store_command == "copy":
        return copy(args.source, PostgresStore(url), log)
    import psycopg

    from .postgres import schema

    where = safe_url(url)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            have = schema.current(conn)
            if args.store_command == "status":
                return status(conn, where, have, chains)
            if args.store_command == "init" and have is not None:
                behind = have < schema.VERSION or any(c.current(conn) != c.version for c in chains)
                raise StoreSchemaError(f"{where} already has schema version {have}"
                                       + ("; run: python -m rag store upgrade" if behind else ""))
            if args.store_command == "upgrade" and have is None:
                raise StoreSchemaError(f"{where} has no rag schema; create it with: python -m rag store init")
            applied = schema.migrate(conn, dim=getattr(args, "dim", DEFAULT_DIM))
            more = [(c, c.migrate(conn)) for c in chains]
    except psycopg.Error as exc:
        raise explain(exc, url, "set up") from None
    if applied:
        print(f"{where}: schema version {applied[-1]} (applied {', '.join(map(str, applied))})")
    for chain, done in more:
        if done:
            print(f"{where}: {chain.name} schema version {done[-1]} (applied {', '.join(map(str, done))})")
    if not applied and not any(done for _, done in more):
        print(f"{where}: schema version {schema.VERSION} is current; nothing to do")
    return 0


def status(conn, where: str, have: int | None, chains=()) -> int:
    from .postgres import schema

    if have is None:
        print(f"{where}: no rag schema (python -m rag store init)")
        return 0
    line = f"{where}: schema version {have}"
    if have < schema.VERSION:
        print(f"{line}, this code needs {schema.VERSION}: run python -m rag store upgrade")
        return 0
    model, dim, n_docs, n_chunks, updated = conn.execute(
        "SELECT model, dim, n_documents, n_chunks, updated_at FROM rag_manifest").fetchone()
    size = conn.execute("SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                        "WHERE c.relname LIKE 'rag\\_%%' AND c.relkind = 'r'").fetchone()[0]
    print(f"{line} (current); model {model or '(none yet)'}, {dim} dimensions; {n_docs} documents, "
          f"{n_chunks} chunks; {size} on disk; updated {updated:%Y-%m-%d %H:%M:%S %Z}")
    for chain in chains:
        version = chain.current(conn)
        state = ("no tables yet: run python -m rag store upgrade" if version is None else
                 f"version {version}" + (" (current)" if version == chain.version else
                                         f", this code needs {chain.version}: run python -m rag store upgrade"))
        print(f"{where}: {chain.name} schema {state}")
    return 0


def copy(source: Path, store, log) -> int:
    """The file index in ``source`` into ``store`` in one transaction; counts verified."""
    from . import store as files
    from .protocol import IndexChange

    t0 = time.perf_counter()
    data = files.load(Path(source))
    documents = {doc_id: dict(info) for doc_id, info in data.documents.items()}
    change = IndexChange(manifest={"settings": data.manifest["settings"], "embedder": data.manifest["embedder"]},
                         documents=documents, replace_all=True,
                         put={doc_id: data.document_chunks(doc_id) for doc_id in documents})
    with store.lock():
        view = store.apply(None, change)
    counts = view.manifest["counts"]
    want = {"documents": len(documents), "chunks": len(data.chunks)}
    if counts != want:
        raise StoreSchemaError(f"copy to {store.location} does not add up: the files hold {want}, "
                               f"the database {counts}")
    print(f"copied {counts['documents']} documents and {counts['chunks']} chunks (vectors reused, none "
          f"re-embedded) from {source} to {store.location} in {time.perf_counter() - t0:.1f} s; counts verified")
    return 0
