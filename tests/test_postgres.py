"""The PostgreSQL store on a real server: schema commands, versions, the HNSW index, safe
writes (the advisory lock, a killed indexer), model checks, URLs and the password."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from pg_fixtures import new_database
from rag.config import Settings
from rag.testing import HashEmbedder
from rag.errors import IndexLockedError, StoreSchemaError
from rag.index.postgres import PostgresStore, safe_url, schema
from rag.index.indexing import ensure_index, index_paths
from rag.retrieve import Retriever

ROOT = Path(__file__).resolve().parent.parent
quiet = {"log": lambda m: None}


def rag(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, **(env or {})))


def pg_settings(tmp_path, url) -> Settings:
    return Settings(index_dir=tmp_path / "unused", chunk_words=40, store_url=url)


def test_safe_url_never_shows_the_password():
    assert safe_url("postgresql://bob:s3cret@db.example:5432/rag") == "postgresql://bob@db.example:5432/rag"
    assert safe_url("postgresql://postgres:pw@/postgres?host=/tmp/x") == "postgresql://postgres@localhost/postgres?host=/tmp/x"
    assert "s3cret" not in repr(Settings(store_url="postgresql://bob:s3cret@h/db"))


def test_store_init_status_upgrade_commands(pg_server):
    url = new_database(pg_server, init=False)
    status = rag("store", "status", "--store-url", url)
    assert status.returncode == 0 and "no rag schema (python -m rag store init)" in status.stdout
    up = rag("store", "upgrade", "--store-url", url)
    assert up.returncode == 2 and "has no rag schema; create it with: python -m rag store init" in up.stderr
    init = rag("store", "init", "--store-url", url)
    assert init.returncode == 0 and f"schema version {schema.VERSION} (applied 1, 2)" in init.stdout
    again = rag("store", "init", "--store-url", url)
    assert again.returncode == 2 and "already has schema version 2" in again.stderr
    status = rag("store", "status", "--store-url", url)
    assert "schema version 2 (current); model (none yet), 384 dimensions; 0 documents, 0 chunks" in status.stdout
    assert rag("store", "upgrade", "--store-url", url).stdout.strip().endswith("is current; nothing to do")


def test_an_older_schema_is_refused_with_the_command_that_upgrades_it(pg_server, tmp_path, docs_dir):
    url = new_database(pg_server, init=False)
    with psycopg.connect(url, autocommit=True) as conn:
        schema.migrate(conn, 64, target=1)
    with pytest.raises(StoreSchemaError, match=r"schema version 1, this version needs 2; upgrade it with: "
                                               r"python -m rag store upgrade --store-url postgresql://"):
        PostgresStore(url).load()
    out = rag("search", "capital", "--store-url", url)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "python -m rag store upgrade" in out.stderr
    assert "Traceback" not in out.stderr
    assert "(applied 2)" in rag("store", "upgrade", "--store-url", url).stdout
    data, _ = index_paths([docs_dir], pg_settings(tmp_path, url), HashEmbedder(), **quiet)
    assert data.chunk_count > 0


def test_upgrading_from_version_1_backfills_the_bm25_statistics(pg_server, tmp_path, docs_dir):
    """A v2 database indexed, then its v2 parts removed by hand, upgraded again: same scores."""
    url = new_database(pg_server, dim=64)
    settings, embedder = pg_settings(tmp_path, url), HashEmbedder()
    data, _ = index_paths([docs_dir], settings, embedder, **quiet)
    before = [(p.chunk.chunk_id, round(p.scores["bm25"], 5)) for p in
              Retriever(data, embedder, settings).search("capital of France", mode="bm25")]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE rag_terms; ALTER TABLE rag_chunks DROP COLUMN n_tokens, DROP COLUMN tf; "
                     "ALTER TABLE rag_manifest DROP COLUMN n_tokens; DELETE FROM rag_schema WHERE version = 2")
        assert schema.migrate(conn, 64) == [2]
    after = [(p.chunk.chunk_id, round(p.scores["bm25"], 5)) for p in
             Retriever(PostgresStore(url).load(), embedder, settings).search("capital of France", mode="bm25")]
    assert after == before


def test_the_fast_statement_returns_what_the_previous_one_did(pg_server, tmp_path, docs_dir, monkeypatch):
    """BM25 decompressed once per candidate and computed once (rag/index/postgres/search.py)
    gives the very rows and scores of the statement before it (bench/pg_previous.py), with
    every matching chunk a candidate (pool 2,000) and with a pool smaller than the matches."""
    from bench.pg_previous import PreviousSqlIndex
    from rag.index.postgres import search

    url = new_database(pg_server, dim=64)
    settings, embedder = Settings(index_dir=tmp_path / "unused", chunk_words=8, store_url=url), HashEmbedder()
    data, _ = index_paths([docs_dir], settings, embedder, **quiet)
    previous = PreviousSqlIndex(data.store)
    lexical = {}
    for pool in (2_000, 2):
        monkeypatch.setattr(search, "LEXICAL_POOL", pool)
        for query in ("capital of France", "the ancient amphitheatre of Rome", "wine cheese exports France capital",
                      "zzqx unknownword", "of the"):
            qvec = embedder.embed_query(query)
            for mode in ("hybrid", "dense", "bm25"):
                new, old = data.candidates(qvec, query, 6, mode), previous.candidates(qvec, query, 6, mode)
                assert [c.chunk_id for c in new.chunks] == [c.chunk_id for c in old.chunks], (pool, query, mode)
                assert new.bm25.round(5).tolist() == old.bm25.round(5).tolist(), (pool, query, mode)
                assert new.dense.round(5).tolist() == old.dense.round(5).tolist(), (pool, query, mode)
            lexical[pool, query] = len(new.chunks)  # bm25 mode: the lexical candidates
    assert lexical[2_000, "capital of France"] >= 3
    assert any(lexical[2, q] < lexical[2_000, q] for _, q in lexical)  # the small pool did cut candidates


def test_the_hnsw_index_serves_dense_search(pg_server, tmp_path, docs_dir):
    url = new_database(pg_server, dim=64)
    index_paths([docs_dir], pg_settings(tmp_path, url), HashEmbedder(), **quiet)
    q = HashEmbedder().embed_query("capital")
    with psycopg.connect(url, autocommit=True) as conn:
        from pgvector.psycopg import register_vector

        register_vector(conn)
        conn.execute("SET enable_seqscan = off")
        plan = " ".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT id FROM rag_chunks ORDER BY embedding <=> %s LIMIT 5", (q,)).fetchall())
        assert "rag_chunks_embedding" in plan
        via_index = [r[0] for r in conn.execute(
            "SELECT id FROM rag_chunks ORDER BY embedding <=> %s LIMIT 3", (q,)).fetchall()]
        conn.execute("SET enable_indexscan = off; SET enable_seqscan = on")
        exact = [r[0] for r in conn.execute(
            "SELECT id FROM rag_chunks ORDER BY embedding <=> %s LIMIT 3", (q,)).fetchall()]
    assert via_index == exact
    with psycopg.connect(url, autocommit=True) as conn:
        plan = " ".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT id FROM rag_chunks WHERE tsv @@ 'capit'::tsquery").fetchall())
    assert "rag_chunks_tsv" in plan or "Seq Scan" in plan  # GIN exists; tiny tables may scan


def test_a_database_of_another_model_is_refused_naming_it(pg_server, tmp_path, docs_dir):
    url = new_database(pg_server, dim=64)
    settings = pg_settings(tmp_path, url)
    index_paths([docs_dir], settings, HashEmbedder(name="model-a"), **quiet)
    with pytest.raises(StoreSchemaError, match=r"holds vectors of the embedding model 'model-a' \(64 dimensions\), "
                                               r"but this app embeds with 'model-b'"):
        ensure_index(settings, HashEmbedder(name="model-b"), **quiet)
    with pytest.raises(StoreSchemaError, match="model 'model-a'"):
        index_paths([docs_dir], settings, HashEmbedder(name="model-b"), **quiet)
    with pytest.raises(StoreSchemaError, match=r"holds 64-dimensional vectors \(model None\)|'hash-embedder' \(64"):
        fresh = new_database(pg_server, dim=64)
        index_paths([docs_dir], pg_settings(tmp_path, fresh), HashEmbedder(dim=32), **quiet)


PAUSING_INDEXER = textwrap.dedent("""
    import sys, time
    from rag.config import Settings
    from rag.testing import HashEmbedder
    from rag.index.postgres import PostgresStore
    from rag.index.indexing import index_paths
    store = PostgresStore(sys.argv[1])
    def pause():
        print("PAUSED", flush=True)
        time.sleep(300)
    store._after_chunks = pause
    index_paths([sys.argv[2]], Settings(chunk_words=40, store_url=sys.argv[1]), HashEmbedder(),
                log=lambda m: None, store=store)
""")


def _wait_until_no_indexer(url: str, seconds: float = 60.0) -> None:
    """Until no session holds an advisory lock on this database (the killed indexer's is gone)."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute("""SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())""").fetchone()[0]:
            assert time.monotonic() < deadline, "the killed indexer's session still holds its lock"
            time.sleep(0.05)


def test_a_killed_indexer_leaves_the_previous_state_and_readers_never_see_half(pg_server, tmp_path, docs_dir):
    url = new_database(pg_server, dim=64)
    settings, embedder = pg_settings(tmp_path, url), HashEmbedder()
    index_paths([docs_dir], settings, embedder, **quiet)
    (docs_dir / "oslo.txt").write_text("Oslo is the capital of Norway, with the Holmenkollen ski jump.")
    (docs_dir / "rome.txt").unlink()
    proc = subprocess.Popen([sys.executable, "-c", PAUSING_INDEXER, url, str(docs_dir)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "PAUSED", proc.stderr.read()
        # Mid-transaction: the chunks are written but not committed. Readers see the old state...
        view = PostgresStore(url).load()
        assert set(view.documents) == {"paris.txt", "berlin.md", "rome.txt"}
        assert Retriever(view, embedder, settings).search("Holmenkollen", mode="bm25") == []
        # ...and a second indexer is told who is indexing.
        with pytest.raises(IndexLockedError, match=r"being indexed by rag indexer pid \d+ on "):
            index_paths([docs_dir], settings, embedder, **quiet)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    _wait_until_no_indexer(url)  # the server notices the dead session and rolls it back
    view = PostgresStore(url).load()
    assert set(view.documents) == {"paris.txt", "berlin.md", "rome.txt"}
    data, report = index_paths([docs_dir], settings, embedder, **quiet)  # the lock went with the session
    assert (report.added, report.removed) == (1, 1)
    assert Retriever(data, embedder, settings).search("Holmenkollen", mode="bm25")[0].chunk.doc_id == "oslo.txt"


def test_store_copy_moves_a_file_index_without_embedding(pg_server, tmp_path, docs_dir):
    files_settings = Settings(index_dir=tmp_path / "index", chunk_words=40)
    embedder = HashEmbedder()
    index_paths([docs_dir], files_settings, embedder, **quiet)
    url = new_database(pg_server, dim=64)
    out = rag("store", "copy", "--from", str(tmp_path / "index"), "--to", url)
    assert out.returncode == 0, out.stderr
    assert "copied 3 documents and" in out.stdout and "none re-embedded" in out.stdout and "counts verified" in out.stdout
    settings = pg_settings(tmp_path, url)
    a = Retriever(ensure_index(files_settings, embedder, **quiet), embedder, files_settings)
    b = Retriever(ensure_index(settings, embedder, **quiet), embedder, settings)
    for q in ("capital of France", "Colosseum"):
        assert [(p.chunk.chunk_id, round(p.score, 4)) for p in a.search(q)] == \
               [(p.chunk.chunk_id, round(p.score, 4)) for p in b.search(q)]
    _, report = index_paths([docs_dir], settings, HashEmbedder(), **quiet)
    assert report.embedded == 0  # the copied vectors and hashes are reused


def test_replicas_indexing_their_own_folders_keep_each_others_documents(pg_server, tmp_path):
    url = new_database(pg_server, dim=64)
    settings, embedder = pg_settings(tmp_path, url), HashEmbedder()
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "one.txt").write_text("The first replica's upload about glaciers.")
    (b / "two.txt").write_text("The second replica's upload about deserts.")
    index_paths([a], settings, embedder, **quiet)
    data, report = index_paths([b], settings, embedder, **quiet)
    assert set(data.documents) == {"one.txt", "two.txt"} and report.removed == 0
    (a / "one.txt").unlink()
    (a / "keep.txt").write_text("A third upload about forests.")
    data, report = index_paths([a], settings, embedder, **quiet)
    assert set(data.documents) == {"keep.txt", "two.txt"} and report.removed == 1


def test_a_bulk_first_build_recreates_both_indexes(pg_server, tmp_path, docs_dir, monkeypatch):
    from rag.index.postgres import writes

    monkeypatch.setattr(writes, "BULK_ROWS", 1)  # every first build takes the bulk path
    url = new_database(pg_server, dim=64)
    settings, embedder = pg_settings(tmp_path, url), HashEmbedder()
    store = PostgresStore(url)
    data, _ = index_paths([docs_dir], settings, embedder, store=store, **quiet)
    assert {"copy", "terms", "indexes", "all"} <= set(store.last_write)
    with psycopg.connect(url, autocommit=True) as conn:
        names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'rag_chunks'")}
    assert {"rag_chunks_embedding", "rag_chunks_tsv"} <= names
    assert Retriever(data, embedder, settings).search("Colosseum", mode="bm25")[0].chunk.doc_id == "rome.txt"


def test_other_chunking_settings_are_refused_not_reembedded(pg_server, tmp_path, docs_dir):
    url = new_database(pg_server, dim=64)
    index_paths([docs_dir], pg_settings(tmp_path, url), HashEmbedder(), **quiet)
    other = pg_settings(tmp_path, url).replace(chunk_words=80)
    with pytest.raises(StoreSchemaError, match=r"was indexed with other settings \(chunk_words 40 -> 80\)"):
        index_paths([docs_dir], other, HashEmbedder(), **quiet)
    with pytest.raises(StoreSchemaError, match="chunk_words 40 -> 80"):
        ensure_index(other, HashEmbedder(), **quiet)
    assert PostgresStore(url).load().chunk_count > 0  # nothing was dropped
