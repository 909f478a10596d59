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

    from rag.index.postgres import schema

    name = f"rag_test_{next(_counter)}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    url = server.get_uri(name)
    if init:
        with psycopg.connect(url, autocommit=True) as conn:
            schema.migrate(conn, dim)
    return url


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
