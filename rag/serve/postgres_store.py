"""The PostgreSQL conversation store (``RAG_STORE_URL``): conversations next to the index.

Three tables, ``rag_conversations`` (owner, title, settings), ``rag_turns`` (question, the
answer as JSON with its citations and passages, error) and ``rag_feedback`` (one rating per
turn), versioned in ``rag_conversation_schema`` and created, like the index's tables, only by
``python -m rag store init|upgrade`` (:data:`SCHEMA`); an app never migrates on its own.

Connections come from the index store's pool (``rag.index.PostgresStore``: one pool per
database and process, failures explained in one line without the password). A turn's number
is taken under a row lock on its conversation (``SELECT ... FOR UPDATE``), in the transaction
that inserts it, so concurrent writers from any number of replicas queue instead of losing or
overwriting a turn.
"""

from __future__ import annotations

import time
import uuid

from ..errors import StoreUnavailableError
from ..index import PostgresStore, SchemaChain
from .conversations import (Conversation, ConversationNotFoundError, ConversationSummary, Feedback,
                            RatedTurn, StoredTurn, clean_title, default_title)

SCHEMA = SchemaChain("conversations", "rag_conversation_schema", {1: [
    """CREATE TABLE rag_conversations (
         id text PRIMARY KEY, owner text NOT NULL, title text NOT NULL DEFAULT '',
         settings jsonb NOT NULL DEFAULT '{}', created float8 NOT NULL, updated float8 NOT NULL)""",
    "CREATE INDEX rag_conversations_by_owner ON rag_conversations (owner, updated)",
    """CREATE TABLE rag_turns (
         conversation_id text NOT NULL REFERENCES rag_conversations ON DELETE CASCADE,
         idx int NOT NULL, question text NOT NULL, answer jsonb, error text, created float8 NOT NULL,
         PRIMARY KEY (conversation_id, idx))""",
    """CREATE TABLE rag_feedback (
         conversation_id text NOT NULL, idx int NOT NULL, rating smallint NOT NULL CHECK (rating IN (1, -1)),
         correction text NOT NULL DEFAULT '', not_in_documents boolean NOT NULL DEFAULT false,
         created float8 NOT NULL, PRIMARY KEY (conversation_id, idx),
         FOREIGN KEY (conversation_id, idx) REFERENCES rag_turns ON DELETE CASCADE)""",
]})
"""The conversation tables' migrations (``rag store init|upgrade`` apply them)."""
WAIT_SECONDS = 30.0
"""How long a write waits for a free pooled connection (the pool has ``RAG_STORE_POOL``)."""


class PostgresConversationStore:
    def __init__(self, db: PostgresStore):
        self.db = db
        self.location = db.location

    @classmethod
    def for_settings(cls, settings, log=None) -> "PostgresConversationStore":
        """The store on ``settings.store_url``, refused (StoreSchemaError) when its tables are
        missing or old; a database that is down only gets a warning (each call retries it)."""
        store = cls(PostgresStore.for_settings(settings))
        try:
            with store._conn() as conn:
                SCHEMA.check(conn, store.location)
        except StoreUnavailableError as exc:
            if log is not None:
                log(f"warning: {exc}; conversations are saved once it is back")
        return store

    def _conn(self):
        return self.db.connection(wait=WAIT_SECONDS)

    def close(self) -> None:
        """Nothing of its own to close: the pool is the process's, shared with the index."""

    @staticmethod
    def _own(conn, owner: str, conversation_id: str, lock: bool = False) -> tuple:
        row = conn.execute("SELECT id, owner, title, settings, created, updated FROM rag_conversations "
                           "WHERE id = %s AND owner = %s" + (" FOR UPDATE" if lock else ""),
                           (str(conversation_id), owner)).fetchone()
        if row is None:
            raise ConversationNotFoundError(f"no conversation {conversation_id!r}")
        return row

    def create(self, owner: str, settings: dict | None = None) -> str:
        from psycopg.types.json import Jsonb

        cid, now = uuid.uuid4().hex, time.time()
        with self._conn() as conn:
            conn.execute("INSERT INTO rag_conversations (id, owner, title, settings, created, updated) "
                         "VALUES (%s, %s, '', %s, %s, %s)", (cid, owner, Jsonb(settings or {}), now, now))
        return cid

    def list(self, owner: str) -> list[ConversationSummary]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT c.id, c.title, c.updated, count(t.idx), "
                "(SELECT question FROM rag_turns WHERE conversation_id = c.id ORDER BY idx LIMIT 1) "
                "FROM rag_conversations c LEFT JOIN rag_turns t ON t.conversation_id = c.id "
                "WHERE c.owner = %s GROUP BY c.id ORDER BY c.updated DESC", (owner,)).fetchall()
        return [ConversationSummary(id=r[0], title=r[1] or default_title(r[4] or "(no questions yet)"),
                                    turns=r[3], updated=r[2]) for r in rows]

    def get(self, owner: str, conversation_id: str) -> Conversation:
        with self._conn() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one snapshot of it all
            cid, own, title, settings, created, updated = self._own(conn, owner, conversation_id)
            rows = conn.execute(
                "SELECT t.idx, t.question, t.answer, t.error, f.rating, f.correction, f.not_in_documents "
                "FROM rag_turns t LEFT JOIN rag_feedback f ON f.conversation_id = t.conversation_id "
                "AND f.idx = t.idx WHERE t.conversation_id = %s ORDER BY t.idx", (cid,)).fetchall()
        turns = tuple(StoredTurn(index=i, question=q, answer=a, error=e,
                                 feedback=Feedback(r, c or "", bool(n)) if r is not None else None)
                      for i, q, a, e, r, c, n in rows)
        return Conversation(id=cid, owner=own, title=title or (default_title(turns[0].question) if turns else ""),
                            settings=dict(settings or {}), turns=turns, created=created, updated=updated)

    def add_turn(self, owner: str, conversation_id: str, question: str, answer: dict | None,
                 error: str | None = None) -> int:
        from psycopg.types.json import Jsonb

        now = time.time()
        with self._conn() as conn, conn.transaction():
            self._own(conn, owner, conversation_id, lock=True)  # writers of this conversation queue here
            (idx,) = conn.execute("SELECT coalesce(max(idx), -1) + 1 FROM rag_turns WHERE conversation_id = %s",
                                  (conversation_id,)).fetchone()
            conn.execute("INSERT INTO rag_turns (conversation_id, idx, question, answer, error, created) "
                         "VALUES (%s, %s, %s, %s, %s, %s)",
                         (conversation_id, idx, question, Jsonb(answer) if answer is not None else None, error, now))
            conn.execute("UPDATE rag_conversations SET updated = %s WHERE id = %s", (now, conversation_id))
        return idx

    def finish_turn(self, owner: str, conversation_id: str, index: int, answer: dict | None,
                    error: str | None = None) -> None:
        from psycopg.types.json import Jsonb

        now = time.time()
        with self._conn() as conn, conn.transaction():
            self._own(conn, owner, conversation_id, lock=True)
            done = conn.execute("UPDATE rag_turns SET answer = %s, error = %s WHERE conversation_id = %s AND idx = %s",
                                (Jsonb(answer) if answer is not None else None, error, conversation_id,
                                 int(index))).rowcount
            if not done:
                raise ConversationNotFoundError(f"conversation {conversation_id!r} has no turn {index}")
            conn.execute("UPDATE rag_conversations SET updated = %s WHERE id = %s", (now, conversation_id))

    def _update(self, owner: str, conversation_id: str, sql: str, params: tuple) -> None:
        with self._conn() as conn, conn.transaction():
            self._own(conn, owner, conversation_id, lock=True)
            conn.execute(sql, params)

    def rename(self, owner: str, conversation_id: str, title: str) -> None:
        self._update(owner, conversation_id, "UPDATE rag_conversations SET title = %s WHERE id = %s",
                     (clean_title(title), conversation_id))

    def delete(self, owner: str, conversation_id: str) -> None:
        self._update(owner, conversation_id, "DELETE FROM rag_conversations WHERE id = %s", (conversation_id,))

    def update_settings(self, owner: str, conversation_id: str, settings: dict) -> None:
        from psycopg.types.json import Jsonb

        self._update(owner, conversation_id, "UPDATE rag_conversations SET settings = %s WHERE id = %s",
                     (Jsonb(settings), conversation_id))

    def set_feedback(self, owner: str, conversation_id: str, index: int, feedback: Feedback) -> None:
        if feedback.rating not in (1, -1):
            raise ValueError(f"a rating is +1 or -1, not {feedback.rating!r}")
        with self._conn() as conn, conn.transaction():
            self._own(conn, owner, conversation_id, lock=True)
            if conn.execute("SELECT 1 FROM rag_turns WHERE conversation_id = %s AND idx = %s",
                            (conversation_id, int(index))).fetchone() is None:
                raise ConversationNotFoundError(f"conversation {conversation_id!r} has no turn {index}")
            conn.execute("INSERT INTO rag_feedback (conversation_id, idx, rating, correction, not_in_documents, "
                         "created) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (conversation_id, idx) DO UPDATE "
                         "SET rating = excluded.rating, correction = excluded.correction, "
                         "not_in_documents = excluded.not_in_documents, created = excluded.created",
                         (conversation_id, int(index), feedback.rating, feedback.correction.strip(),
                          bool(feedback.not_in_documents), time.time()))

    def clear_feedback(self, owner: str, conversation_id: str, index: int) -> None:
        """The user took the vote back: the turn is unrated (and leaves the feedback battery)."""
        with self._conn() as conn, conn.transaction():
            self._own(conn, owner, conversation_id, lock=True)
            conn.execute("DELETE FROM rag_feedback WHERE conversation_id = %s AND idx = %s",
                         (conversation_id, int(index)))

    def rated_turns(self) -> list[RatedTurn]:
        with self._conn() as conn:
            rows = conn.execute("SELECT c.id, c.owner FROM rag_conversations c WHERE EXISTS "
                                "(SELECT 1 FROM rag_feedback f WHERE f.conversation_id = c.id) "
                                "ORDER BY c.created, c.id").fetchall()
        out: list[RatedTurn] = []
        for cid, owner in rows:
            conv = self.get(owner, cid)
            out += [RatedTurn(cid, owner, t, tuple(conv.history_before(t.index)))
                    for t in conv.turns if t.feedback is not None]
        return out
