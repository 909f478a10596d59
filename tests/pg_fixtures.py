"""A real PostgreSQL with pgvector for the tests (pgserver): one server per session, a fresh
database per test, and the parametrised ``store_settings`` that runs a test on both the
file index and the database."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

import pytest

from rag.config import Settings

_counter = itertools.count()


def start_server(prefix: str = "rag-pg-"):
    """A pgserver PostgreSQL on a new data folder under /tmp (short socket path, readable by
    the unprivileged user pgserver runs the server as); returns (server, folder)."""
    pgserver = pytest.importorskip("pgserver")
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    return pgserver.get_server(folder / "data", cleanup_mode="stop"), folder


def stop_server(server, folder: Path) -> None:
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    server, folder = start_server()
    yield server
    stop_server(server, folder)


def new_database(server, init: bool = True, dim: int = 384) -> str:
    """A fresh database's URL (socket URI), with this code's schema unless ``init`` is False."""
    import psycopg

    name = f"rag_test_{next(_counter)}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    url = server.get_uri(name)
    if init:
        with psycopg.connect(url, autocommit=True) as conn:
            migrate_all(conn, dim)
    return url


def migrate_all(conn, dim: int) -> None:
    """What ``python -m rag store init`` creates: the index's tables and the conversation store's."""
    from rag.index.postgres import schema
    from rag.serve import CONVERSATION_SCHEMA

    schema.migrate(conn, dim)
    CONVERSATION_SCHEMA.migrate(conn)


@pytest.fixture
def pg_url(pg_server) -> str:
    return new_database(pg_server)


@pytest.fixture(params=["files", "postgres"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def store_settings(backend, tmp_path, request) -> Settings:
    """Settings for a temporary index on the backend under test (40-word chunks, as ``settings``)."""
    base = Settings(index_dir=tmp_path / "index", chunk_words=40)
    if backend == "files":
        return base
    # dim 64: the HashEmbedder the unit tests index with
    return base.replace(store_url=new_database(request.getfixturevalue("pg_server"), dim=64))


class TcpServer:
    """A PostgreSQL of our own, listening on 127.0.0.1:port (and a socket), that tests stop and
    start again (faults), with a password-checked role ``pwuser`` (password ``right-pw``).
    Initialised by pgserver, then run through its pg_ctl as the user pgserver uses."""

    def __init__(self):
        import pgserver
        from pgserver._commands import POSTGRES_BIN_PATH

        from conftest import free_port

        server, self.folder = start_server("rag-pgtcp-")
        self.data = server.pgdata
        self.user = server.system_user  # 'pgserver' when we run as root, else None
        server.cleanup()
        hba = self.data / "pg_hba.conf"
        hba.write_text("host all pwuser 127.0.0.1/32 scram-sha-256\nlocal all pwuser scram-sha-256\n"
                       + hba.read_text())
        self.port = free_port()
        self.pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.start()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE ROLE pwuser LOGIN PASSWORD 'right-pw'")
        del pgserver

    def _ctl(self, *args) -> None:
        import subprocess

        subprocess.run([self.pg_ctl, "-D", str(self.data), "-w", *args], check=True, timeout=60,
                       user=self.user, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self._ctl("-o", f"-h 127.0.0.1 -p {self.port} -k {self.data}", "-l", str(self.data / "server.log"), "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def url_for(self, db: str, user: str = "postgres", password: str | None = None) -> str:
        auth = user + (f":{password}" if password else "")
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def new_database(self, owner: str = "postgres", init: bool = True, dim: int = 384) -> str:
        import psycopg

        name = f"rag_tcp_{next(_counter)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {owner}")
        if init:
            with psycopg.connect(self.url_for(name), autocommit=True) as conn:
                migrate_all(conn, dim)
        return self.url_for(name)

    def close(self) -> None:
        try:
            self.stop()
        except Exception:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def tcp_server():
    server = TcpServer()
    yield server
    server.close()
