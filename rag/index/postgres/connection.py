"""Connecting to PostgreSQL: URLs shown without passwords, one pool, errors told apart.

``make_pool`` is the one place a psycopg 3 connection pool is created, so other stores
(the conversation store, say) can share a database through the same code. Every failure
to reach or use the database becomes a one-line ``RagError`` naming the database by its
safe URL (``postgresql://user@host/db``), never by the password.
"""

from __future__ import annotations

import atexit
import re
import threading
from urllib.parse import parse_qs, urlsplit

from ...errors import StoreAccessError, StoreUnavailableError

SCHEMES = ("postgresql://", "postgres://")
_POOLS: dict[tuple, object] = {}
_POOLS_LOCK = threading.Lock()


def is_postgres_url(value: str | None) -> bool:
    return bool(value) and str(value).startswith(SCHEMES)


def safe_url(url: str) -> str:
    """``postgresql://user@host/db``: no password, no query options (a socket dir shows as host)."""
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        user = parts.username or (query.get("user") or [""])[0]
        socket_dir = (query.get("host") or [""])[0]
        host = parts.hostname or ("localhost" if socket_dir.startswith("/") else socket_dir) or "localhost"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "postgresql://(unparsable URL)"
    db = parts.path.lstrip("/") or user or "postgres"
    where = f"?host={socket_dir}" if socket_dir.startswith("/") and not parts.hostname else ""
    return f"postgresql://{user + '@' if user else ''}{host}{port}/{db}{where}"


def _redact(text: str, url: str) -> str:
    """Remove the URL's password from a driver message, whatever else it says."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    text = " ".join(str(text).split())
    if password:
        text = text.replace(password, "***")
    return re.sub(r"(postgres(?:ql)?://[^:/@\s]*):[^@\s]*@", r"\1:***@", text)


def explain(exc: Exception, url: str, action: str = "connect to") -> Exception:
    """Turn a psycopg error into the project's one-line error, each cause with its own message."""
    import psycopg

    where = safe_url(url)
    detail = _redact(str(exc), url)
    low = detail.lower()
    state = getattr(exc, "sqlstate", None) or ""
    if "password authentication failed" in low or state == "28P01":
        return StoreAccessError(f"wrong password for {where}: the server refused the login "
                                f"(check the password in RAG_STORE_URL)")
    if state.startswith("28") or "no pg_hba.conf entry" in low or ("role" in low and "does not exist" in low):
        return StoreAccessError(f"{where} refused the login: {detail[:200]}")
    if state == "3D000" or ("database" in low and "does not exist" in low):
        return StoreAccessError(f"database of {where} does not exist; create it first (createdb)")
    if "extension" in low and ("vector" in low or "control file" in low):
        if state == "42501" or "permission denied" in low:
            return StoreAccessError(f"pgvector is not installed in {where} and this role may not install it: "
                                    f"ask a superuser to run CREATE EXTENSION vector; there")
        return StoreAccessError(f"the server behind {where} has no pgvector extension: install pgvector "
                                f"(https://github.com/pgvector/pgvector) on it")
    if (state == "42501" or "permission denied" in low) and "for schema" in low:
        return StoreAccessError(f"permission denied in {where}: {detail[:160]}; grant the role CREATE on the "
                                f"schema, or run python -m rag store init as the database owner")
    if state == "42501" or "permission denied" in low:
        return StoreAccessError(f"permission denied in {where}: {detail[:160]}; grant this role SELECT, INSERT, "
                                f"UPDATE and DELETE on the rag_ tables (and their sequences), or use the owner's role")
    if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)) or state.startswith(("08", "57")):
        reason = detail.split(":")[-1].strip()[:120] if detail else type(exc).__name__
        return StoreUnavailableError(f"the database {where} is unavailable ({reason}); "
                                     f"retry when it is back")
    return StoreUnavailableError(f"could not {action} {where}: {detail[:200]}")


def probe(url: str, timeout: float = 5.0) -> None:
    """Open and close one connection, raising the explained error when that fails."""
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=max(1, int(timeout)), autocommit=True).close()
    except psycopg.Error as exc:
        raise explain(exc, url) from None


def make_pool(url: str, *, max_size: int = 4, name: str = "rag", settings: dict | None = None,
              vectors: bool = False):
    """A psycopg 3 pool to ``url`` (TCP or socket URI), opened lazily so a database that is
    down at start-up does not stop the caller; broken connections are dropped when taken.
    ``settings`` are session settings (``SET name = value``) applied to each new connection;
    ``vectors`` registers pgvector's types (numpy arrays in and out) when the extension is there."""
    import logging

    from psycopg_pool import ConnectionPool

    # The pool logs each failed reconnection attempt; the store reports failures itself, once.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

    def configure(conn) -> None:
        for key, value in (settings or {}).items():
            conn.execute(f"SET {key} = {int(value) if isinstance(value, (int, float)) else repr(str(value))}")
        if vectors:
            from pgvector.psycopg import register_vector

            try:
                register_vector(conn)
            except Exception:  # no extension yet: the store's readiness check says what to run
                pass

    pool = ConnectionPool(url, min_size=1, max_size=max_size, open=False, name=name,
                          kwargs={"autocommit": True, "connect_timeout": 5,
                                  "application_name": f"{name}"},
                          configure=configure, check=ConnectionPool.check_connection,
                          timeout=4.0, reconnect_timeout=0)
    pool.open(wait=False)
    return pool


def shared_pool(url: str, *, max_size: int = 4, name: str = "rag", settings: dict | None = None,
                vectors: bool = False):
    """The process's one pool for (url, name): stores built more than once share it."""
    key = (url, name)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None or pool.closed:
            probe(url)  # the real reason now (down, wrong password...), not a pool timeout later
            pool = _POOLS[key] = make_pool(url, max_size=max_size, name=name, settings=settings, vectors=vectors)
        return pool


def close_pools() -> None:
    with _POOLS_LOCK:
        for pool in _POOLS.values():
            pool.close()
        _POOLS.clear()


atexit.register(close_pools)
