"""Faults of the PostgreSQL store, each with its own one-line message and no traceback: the
database down at start-up, mid-question and mid-indexing (and recovery once it is back),
a wrong password, no pgvector, no permission to create tables. These use a TCP URI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import psycopg
import pytest

from rag.config import Settings
from rag.testing import HashEmbedder
from rag.engine import Engine
from rag.errors import StoreAccessError, StoreSchemaError, StoreUnavailableError
from rag.index.postgres import PostgresStore
from rag.index.indexing import index_paths

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent
DEBIAN_PG = Path("/usr/lib/postgresql/15/bin")


def rag(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, HF_HUB_OFFLINE="1"))


def one_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def engine_for(url: str, tmp_path) -> Engine:
    return Engine(Settings(index_dir=tmp_path / "unused", chunk_words=40, store_url=url),
                  embedder=HashEmbedder(), log=lambda m: None)


def test_wrong_password_has_its_own_message_without_the_password(tcp_server):
    url = tcp_server.new_database(dim=64)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO pwuser")
    db = url.rsplit("/", 1)[1]
    bad = tcp_server.url_for(db, "pwuser", "wrong-pw")
    with pytest.raises(StoreAccessError, match=rf"wrong password for postgresql://pwuser@127.0.0.1:{tcp_server.port}/{db}"):
        PostgresStore(bad).load()
    proc = rag("search", "capital", "--store-url", bad)
    line = one_line(proc)
    assert proc.returncode == 2 and "wrong password" in line and "wrong-pw" not in proc.stderr + proc.stdout
    good = rag("store", "status", "--store-url", tcp_server.url_for(db, "pwuser", "right-pw"))
    assert good.returncode == 0 and "schema version 2" in good.stdout and "right-pw" not in good.stdout + good.stderr


def test_no_pgvector_and_no_right_to_install_it(tcp_server):
    url = tcp_server.new_database(owner="pwuser", init=False)
    as_user = tcp_server.url_for(url.rsplit("/", 1)[1], "pwuser", "right-pw")
    line = one_line(rag("search", "capital", "--store-url", as_user))
    assert "pgvector is not enabled in" in line and "python -m rag store init" in line
    proc = rag("store", "init", "--store-url", as_user)
    assert proc.returncode == 2
    assert "pgvector is not installed in" in one_line(proc) and "ask a superuser to run CREATE EXTENSION vector" in proc.stderr


def test_no_permission_to_create_tables(tcp_server):
    url = tcp_server.new_database(init=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
    as_user = tcp_server.url_for(url.rsplit("/", 1)[1], "pwuser", "right-pw")
    proc = rag("store", "init", "--store-url", as_user)
    line = one_line(proc)
    assert proc.returncode == 2 and "permission denied in postgresql://pwuser@" in line
    assert "grant the role CREATE on the schema, or run python -m rag store init as the database owner" in line


@pytest.mark.skipif(not (DEBIAN_PG / "postgres").exists(), reason="Debian's postgresql-15 is not installed")
def test_a_server_without_pgvector_is_named():
    from conftest import free_port

    folder = Path(tempfile.mkdtemp(prefix="rag-pg15-", dir="/tmp"))
    shutil.chown(folder, "postgres")
    port = free_port()
    run = dict(user="postgres", check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([str(DEBIAN_PG / "initdb"), "-D", str(folder / "data"), "-A", "trust", "-U", "postgres"], **run)
    subprocess.run([str(DEBIAN_PG / "pg_ctl"), "-D", str(folder / "data"), "-w", "-l", str(folder / "log"),
                    "-o", f"-h 127.0.0.1 -p {port} -k {folder}", "start"], **run)
    try:
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        proc = rag("store", "init", "--store-url", url)
        assert proc.returncode == 2
        assert f"the server behind postgresql://postgres@127.0.0.1:{port}/postgres has no pgvector extension" \
            in one_line(proc)
        assert "has no pgvector extension: install pgvector" in one_line(rag("search", "x", "--store-url", url))
    finally:
        subprocess.run([str(DEBIAN_PG / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "stop"], **run)
        shutil.rmtree(folder, ignore_errors=True)


def test_down_at_start_up_then_back(tcp_server, tmp_path, docs_dir):
    url = tcp_server.new_database(dim=64)
    index_paths([docs_dir], Settings(chunk_words=40, store_url=url), HashEmbedder(), log=lambda m: None)
    tcp_server.stop()
    try:
        line = one_line(rag("search", "capital", "--store-url", url))
        assert f"the database postgresql://postgres@127.0.0.1:{tcp_server.port}/" in line and "is unavailable" in line
        engine = engine_for(url, tmp_path)
        with pytest.raises(StoreUnavailableError, match="is unavailable"):
            engine.load()
        with pytest.raises(StoreUnavailableError):
            engine.search("capital of France")
    finally:
        tcp_server.start()
    assert engine.search("capital of France")[0].chunk.doc_id == "paris.txt"  # same engine, no restart


def test_gone_mid_question_then_back(tcp_server, tmp_path, docs_dir):
    url = tcp_server.new_database(dim=64)
    index_paths([docs_dir], Settings(chunk_words=40, store_url=url), HashEmbedder(), log=lambda m: None)
    engine = engine_for(url, tmp_path)
    engine.load()
    assert engine.search("Colosseum")[0].chunk.doc_id == "rome.txt"
    tcp_server.stop()
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            engine.search("Colosseum")
        assert "\n" not in str(caught.value) and "is unavailable" in str(caught.value)
        assert engine.status()["store_error"]  # the status line says so instead of failing
    finally:
        tcp_server.start()
    assert engine.search("Colosseum")[0].chunk.doc_id == "rome.txt"
    assert "store_error" not in engine.status()


SLOW_INDEXER = textwrap.dedent("""
    import os, sys, time
    from rag.index.postgres import writes
    real = writes.copy_chunks
    def slow(conn, rows):
        n = real(conn, rows)
        print("PAUSED", flush=True)
        while not os.path.exists(sys.argv[3]):
            time.sleep(0.1)
        return n
    writes.copy_chunks = slow
    from rag.cli import main
    sys.exit(main(["index", sys.argv[2], "--store-url", sys.argv[1]]))
""")


@pytest.mark.slow
def test_gone_mid_indexing_leaves_the_previous_state(tcp_server, tmp_path, docs_dir):
    url = tcp_server.new_database(dim=384)
    first = rag("index", str(docs_dir), "--store-url", url)
    assert first.returncode == 0, first.stderr
    (docs_dir / "oslo.txt").write_text("Oslo is the capital of Norway.")
    flag = tmp_path / "go"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_INDEXER, url, str(docs_dir), str(flag)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "PAUSED"
        tcp_server.stop()
        flag.touch()
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        tcp_server.start()
    assert proc.returncode == 1, err
    lines = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "is unavailable" in lines[0] and "Traceback" not in err, err
    docs = PostgresStore(url).load().documents
    assert set(docs) == {"paris.txt", "berlin.md", "rome.txt"}
    again = rag("index", str(docs_dir), "--store-url", url)
    assert again.returncode == 0 and "1 added" in again.stdout, again.stderr


def test_a_second_indexer_process_gets_a_clear_message(tcp_server, tmp_path, docs_dir):
    url = tcp_server.new_database(dim=64)
    holder = PostgresStore(url)
    with holder.lock():
        line = one_line(rag("index", str(docs_dir), "--store-url", url))
    assert "is being indexed by rag indexer pid" in line and "wait for it to finish and try again" in line


def test_schema_mismatch_is_not_a_connection_error(tcp_server):
    url = tcp_server.new_database(init=False)
    with pytest.raises(StoreSchemaError, match="no rag schema|pgvector is not enabled"):
        PostgresStore(url).load()
