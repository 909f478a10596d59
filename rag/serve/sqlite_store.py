"""The SQLite conversation store (the default; ``<data_dir>/conversations.sqlite3``).

One connection per thread, WAL journal, and every write in ``BEGIN IMMEDIATE``: the turn
number is taken inside the same transaction that inserts the turn, so concurrent writers
(threads, or the CLI while the app runs) queue for the write lock instead of losing or
overwriting a turn; ``busy_timeout`` lets them wait for it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from .conversations import (Conversation, ConversationNotFoundError, ConversationSummary, Feedback,
                            RatedTurn, StoredTurn, clean_title, default_title)

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}', created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT, error TEXT, created REAL NOT NULL,
    PRIMARY KEY (conversation_id, idx));
CREATE TABLE IF NOT EXISTS feedback (
    conversation_id TEXT NOT NULL, idx INTEGER NOT NULL, rating INTEGER NOT NULL,
    correction TEXT NOT NULL DEFAULT '', not_in_documents INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL, PRIMARY KEY (conversation_id, idx),
    FOREIGN KEY (conversation_id, idx) REFERENCES turns (conversation_id, idx) ON DELETE CASCADE);
"""
BUSY_TIMEOUT_MS = 30_000


class SQLiteConversationStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._conn().executescript(SCHEMA)

    # ------------------------------------------------------------------ connections
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _write(self):
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # ------------------------------------------------------------------ conversations
    def _own(self, db, owner: str, conversation_id: str) -> sqlite3.Row | tuple:
        row = db.execute("SELECT id, owner, title, settings, created, updated FROM conversations "
                         "WHERE id = ? AND owner = ?", (str(conversation_id), owner)).fetchone()
        if row is None:
            raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
        return row

    def create(self, owner: str, settings: dict | None = None) -> str:
        cid, now = uuid.uuid4().hex, time.time()
        with self._write() as db:
            db.execute("INSERT INTO conversations (id, owner, title, settings, created, updated) "
                       "VALUES (?, ?, '', ?, ?, ?)", (cid, owner, json.dumps(settings or {}), now, now))
        return cid

    def list(self, owner: str) -> list[ConversationSummary]:
        rows = self._conn().execute(
            "SELECT c.id, c.title, c.updated, COUNT(t.idx), "
            "(SELECT question FROM turns WHERE conversation_id = c.id ORDER BY idx LIMIT 1) "
            "FROM conversations c LEFT JOIN turns t ON t.conversation_id = c.id "
            "WHERE c.owner = ? GROUP BY c.id ORDER BY c.updated DESC", (owner,)).fetchall()
        return [ConversationSummary(id=r[0], title=r[1] or default_title(r[4] or "(no questions yet)"),
                                    turns=r[3], updated=r[2]) for r in rows]

    def get(self, owner: str, conversation_id: str) -> Conversation:
        db = self._conn()
        db.execute("BEGIN")  # one consistent snapshot of the conversation and its turns
        try:
            cid, own, title, settings, created, updated = self._own(db, owner, conversation_id)
            rows = db.execute(
                "SELECT t.idx, t.question, t.answer, t.error, f.rating, f.correction, f.not_in_documents "
                "FROM turns t LEFT JOIN feedback f ON f.conversation_id = t.conversation_id AND f.idx = t.idx "
                "WHERE t.conversation_id = ? ORDER BY t.idx", (cid,)).fetchall()
        finally:
            db.execute("COMMIT")
        turns = tuple(_turn(r) for r in rows)
        return Conversation(id=cid, owner=own, title=title or (default_title(turns[0].question) if turns else ""),
                            settings=json.loads(settings), turns=turns, created=created, updated=updated)

    def add_turn(self, owner: str, conversation_id: str, question: str, answer: dict | None,
                 error: str | None = None) -> int:
        now = time.time()
        with self._write() as db:
            self._own(db, owner, conversation_id)
            (idx,) = db.execute("SELECT COALESCE(MAX(idx), -1) + 1 FROM turns WHERE conversation_id = ?",
                                (conversation_id,)).fetchone()
            db.execute("INSERT INTO turns (conversation_id, idx, question, answer, error, created) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (conversation_id, idx, question, json.dumps(answer) if answer is not None else None,
                        error, now))
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
        return idx

    def finish_turn(self, owner: str, conversation_id: str, index: int, answer: dict | None,
                    error: str | None = None) -> None:
        now = time.time()
        with self._write() as db:
            self._own(db, owner, conversation_id)
            done = db.execute("UPDATE turns SET answer = ?, error = ? WHERE conversation_id = ? AND idx = ?",
                              (json.dumps(answer) if answer is not None else None, error, conversation_id,
                               int(index))).rowcount
            if not done:
                raise ConversationNotFoundError(f"conversation {conversation_id!r} has no turn {index}")
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))

    def rename(self, owner: str, conversation_id: str, title: str) -> None:
        title = clean_title(title)
        with self._write() as db:
            self._own(db, owner, conversation_id)
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def delete(self, owner: str, conversation_id: str) -> None:
        with self._write() as db:
            self._own(db, owner, conversation_id)
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def update_settings(self, owner: str, conversation_id: str, settings: dict) -> None:
        with self._write() as db:
            self._own(db, owner, conversation_id)
            db.execute("UPDATE conversations SET settings = ? WHERE id = ?",
                       (json.dumps(settings), conversation_id))

    # ------------------------------------------------------------------ feedback
    def set_feedback(self, owner: str, conversation_id: str, index: int, feedback: Feedback) -> None:
        if feedback.rating not in (1, -1):
            raise ValueError(f"a rating is +1 or -1, not {feedback.rating!r}")
        with self._write() as db:
            self._own(db, owner, conversation_id)
            if db.execute("SELECT 1 FROM turns WHERE conversation_id = ? AND idx = ?",
                          (conversation_id, int(index))).fetchone() is None:
                raise ConversationNotFoundError(f"conversation {conversation_id!r} has no turn {index}")
            db.execute("INSERT INTO feedback (conversation_id, idx, rating, correction, not_in_documents, created) "
                       "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (conversation_id, idx) DO UPDATE SET "
                       "rating = excluded.rating, correction = excluded.correction, "
                       "not_in_documents = excluded.not_in_documents, created = excluded.created",
                       (conversation_id, int(index), feedback.rating, feedback.correction.strip(),
                        int(feedback.not_in_documents), time.time()))

    def clear_feedback(self, owner: str, conversation_id: str, index: int) -> None:
        """The user took the vote back: the turn is unrated (and leaves the feedback battery)."""
        with self._write() as db:
            self._own(db, owner, conversation_id)
            db.execute("DELETE FROM feedback WHERE conversation_id = ? AND idx = ?", (conversation_id, int(index)))

    def rated_turns(self) -> list[RatedTurn]:
        rows = self._conn().execute(
            "SELECT DISTINCT c.id, c.owner FROM conversations c JOIN feedback f ON f.conversation_id = c.id "
            "ORDER BY c.created").fetchall()
        out: list[RatedTurn] = []
        for cid, owner in rows:
            conv = self.get(owner, cid)
            for t in conv.turns:
                if t.feedback is not None:
                    out.append(RatedTurn(cid, owner, t, tuple(conv.history_before(t.index))))
        return out


def _turn(row) -> StoredTurn:
    idx, question, answer, error, rating, correction, not_in_docs = row
    fb = Feedback(rating, correction or "", bool(not_in_docs)) if rating is not None else None
    return StoredTurn(index=idx, question=question, answer=json.loads(answer) if answer else None,
                      error=error, feedback=fb)
