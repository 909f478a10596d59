"""Conversations that last: the records, the store protocol, and which store to build.

A conversation belongs to one owner (the logged-in user, or :data:`LOCAL_OWNER` when the app
runs without ``RAG_AUTH``) and holds its turns in order: each turn's question, the answer
as ``Answer.to_dict()`` (text, citations, the passages shown, refusal, error) and the user's
feedback on it. Every read and write names the owner; a conversation of another owner is
"not found", exactly like one that does not exist, so ids leak nothing.

A turn is stored when its question is asked (``answer`` and ``error`` both None: it is
pending) and finished with :meth:`ConversationStore.finish_turn` once the answer is in, so a
page reloaded mid-answer still finds it (:mod:`rag.serve.live`).

Two backends behind the one :class:`ConversationStore` protocol, chosen by
:data:`CONVERSATION_STORES` the way ``rag.index.STORES`` chooses the index's: SQLite
(:mod:`rag.serve.sqlite_store`, the default) and, when ``RAG_STORE_URL`` is set, PostgreSQL
(:mod:`rag.serve.postgres_store`, tables created by ``python -m rag store init|upgrade``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from ..config import Settings
from ..errors import InputError
from ..registry import Registry

LOCAL_OWNER = "local"
"""The owner of every conversation when the app has no login (one local user)."""
MAX_TITLE_CHARS = 120


class ConversationNotFoundError(InputError):
    """No conversation with that id belongs to this owner."""


@dataclass(frozen=True)
class Feedback:
    rating: int
    """+1 thumbs up, -1 thumbs down."""
    correction: str = ""
    """"The right answer is …", as the user typed it."""
    not_in_documents: bool = False
    """The user says the documents don't hold the answer (the bot should have refused)."""


@dataclass(frozen=True)
class StoredTurn:
    index: int
    question: str
    answer: dict | None
    error: str | None = None
    feedback: Feedback | None = None

    @property
    def pending(self) -> bool:
        """Asked, not answered yet (or the process answering it stopped)."""
        return self.answer is None and self.error is None


@dataclass(frozen=True)
class Conversation:
    id: str
    owner: str
    title: str
    settings: dict = field(default_factory=dict)
    turns: tuple[StoredTurn, ...] = ()
    created: float = 0.0
    updated: float = 0.0

    def history_before(self, index: int) -> list[dict]:
        """The ``{"role", "content"}`` messages of the answered turns before ``index``."""
        out: list[dict] = []
        for t in self.turns[:index]:
            if t.answer and not t.error and not t.answer.get("error"):
                out += [{"role": "user", "content": t.question},
                        {"role": "assistant", "content": t.answer.get("text") or ""}]
        return out


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str
    turns: int
    updated: float


@dataclass(frozen=True)
class RatedTurn:
    """A turn with feedback, with what the export needs around it."""

    conversation_id: str
    owner: str
    turn: StoredTurn
    history: tuple[dict, ...]


class ConversationStore(Protocol):
    def create(self, owner: str, settings: dict | None = None) -> str: ...
    def list(self, owner: str) -> list[ConversationSummary]: ...
    def get(self, owner: str, conversation_id: str) -> Conversation: ...
    def add_turn(self, owner: str, conversation_id: str, question: str, answer: dict | None,
                 error: str | None = None) -> int: ...
    def finish_turn(self, owner: str, conversation_id: str, index: int, answer: dict | None,
                    error: str | None = None) -> None: ...
    def rename(self, owner: str, conversation_id: str, title: str) -> None: ...
    def delete(self, owner: str, conversation_id: str) -> None: ...
    def update_settings(self, owner: str, conversation_id: str, settings: dict) -> None: ...
    def set_feedback(self, owner: str, conversation_id: str, index: int, feedback: Feedback) -> None: ...
    def clear_feedback(self, owner: str, conversation_id: str, index: int) -> None: ...
    def rated_turns(self) -> list[RatedTurn]: ...
    def close(self) -> None: ...


def clean_title(title: str) -> str:
    text = " ".join(str(title or "").split())
    if not text:
        raise InputError("a conversation's name can't be empty")
    return text[:MAX_TITLE_CHARS]


def default_title(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= 80 else text[:79].rstrip() + "…"


def _sqlite(settings, log=None) -> ConversationStore:
    from .sqlite_store import SQLiteConversationStore

    return SQLiteConversationStore(sqlite_path(settings))


def _postgres(settings, log=None) -> ConversationStore:
    from .postgres_store import PostgresConversationStore

    return PostgresConversationStore.for_settings(settings, log)


CONVERSATION_STORES: Registry = Registry("conversation store", "RAG_STORE_URL")
"""Conversation store backends: ``sqlite`` when no ``store_url`` is set, else the URL's scheme."""
CONVERSATION_STORES.register("sqlite", _sqlite)
CONVERSATION_STORES.register("postgresql", _postgres)
CONVERSATION_STORES.register("postgres", _postgres)


def build_store(settings: Settings, log=None) -> ConversationStore:
    """The conversation store ``settings`` select: the PostgreSQL database of ``store_url``
    (sharing the index store's pool), else SQLite at ``<data_dir>/conversations.sqlite3``."""
    url = getattr(settings, "store_url", None)
    return CONVERSATION_STORES.get(url.split("://", 1)[0] if url and "://" in url else "sqlite")(settings, log)


def sqlite_path(settings: Settings):
    return settings.data_dir / "conversations.sqlite3"


def summaries_as_choices(items: Sequence[ConversationSummary]) -> list[tuple[str, str]]:
    """(label, id) pairs for a list widget: the title and the number of turns."""
    return [(f"{s.title} ({s.turns})", s.id) for s in items]
