"""A chat session kept in a conversation store: restore on page load, save each finished
turn, open, rename, delete, rate, export. Plain Python (the UI wires it to gradio).

The owner is the logged-in user's name, or :data:`LOCAL_OWNER` without a login; every store
call names it, so one user can't see, open, rate or delete another's conversations.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from pathlib import Path

from .chat import ChatSession, Turn
from .live import LiveTurn
from ..config import Settings
from ..errors import InputError
from .conversations import (LOCAL_OWNER, Conversation, ConversationNotFoundError, ConversationStore,
                            Feedback, summaries_as_choices)
from .markdown_export import conversation_markdown


def owner_of(username: str | None) -> str:
    return f"user:{username}" if username else LOCAL_OWNER


INTERRUPTED = ("this answer was not finished when the page loaded: the app answering it stopped, or another "
               "instance is still writing it (reload to check again)")


class Keeper:
    def __init__(self, store: ConversationStore, settings: Settings):
        self.store, self.settings = store, settings
        self._exports = Path(tempfile.mkdtemp(prefix="rag-export-"))
        self.running: dict[tuple[str | None, int], LiveTurn] = {}
        """Answers being written in this process (rag.serve.live), by (conversation, turn)."""

    def browser_secret(self) -> str:
        """The key the page's stored conversation id is encrypted with, kept in the data
        folder so a restart still brings each browser's conversation back."""
        path = self.settings.data_dir / "browser-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(24))
        return path.read_text().strip()

    # ------------------------------------------------------------------ sessions
    def session_for(self, owner: str, conversation_id: str | None) -> ChatSession:
        """The stored conversation as a chat session, or a new session when it is gone
        (deleted, someone else's, never saved)."""
        if conversation_id:
            try:
                return self._session(self.store.get(owner, conversation_id))
            except ConversationNotFoundError:
                pass
        return ChatSession.new(self.settings)

    def _session(self, conv: Conversation) -> ChatSession:
        session = ChatSession.new(self.settings)
        session.k = int(conv.settings.get("k", session.k))
        session.mode = conv.settings.get("mode", session.mode)
        for t in conv.turns:
            live = self.running.get((conv.id, t.index)) if t.pending else None
            if live is not None:  # being answered here: the live turn itself, to follow to its end
                session.turns.append(live.turn)
            else:
                session.turns.append(Turn(question=t.question, text=(t.answer or {}).get("text") or "",
                                          answer=t.answer, error=INTERRUPTED if t.pending else t.error, done=True))
            if t.feedback is not None:
                session.ratings[t.index] = t.feedback.rating
        session.conversation_id, session.saved = conv.id, len(conv.turns)
        answered = [i for i, t in enumerate(session.turns) if t.answer is not None]
        session.selected = answered[-1] if answered else None
        return session

    def following(self, session: ChatSession) -> list[LiveTurn]:
        """The answers of ``session`` still being written in this process."""
        return [live for i, t in enumerate(session.turns)
                if not t.done and (live := self.running.get((session.conversation_id, i))) is not None]

    def save(self, owner: str, session: ChatSession) -> None:
        """Store the finished turns not stored yet (a new conversation for the first one)."""
        pending = [t for t in session.turns[session.saved:] if t.done]
        if not pending:
            return
        if session.conversation_id is None:
            session.conversation_id = self.store.create(owner, self.settings_of(session))
        for turn in pending:
            self.store.add_turn(owner, session.conversation_id, turn.question, turn.answer, turn.error)
            session.saved += 1

    def save_settings(self, owner: str, session: ChatSession) -> None:
        if session.conversation_id:
            self.store.update_settings(owner, session.conversation_id, self.settings_of(session))

    @staticmethod
    def settings_of(session: ChatSession) -> dict:
        return {"k": session.k, "mode": session.mode}

    # ------------------------------------------------------------------ the list
    def choices(self, owner: str) -> list[tuple[str, str]]:
        return summaries_as_choices(self.store.list(owner))

    def title(self, owner: str, session: ChatSession) -> str:
        if not session.conversation_id:
            return ""
        return next((c.title for c in self.store.list(owner) if c.id == session.conversation_id), "")

    def rename(self, owner: str, session: ChatSession, title: str) -> None:
        if not session.conversation_id:
            raise InputError("ask a question first: there is no saved conversation to rename")
        self.store.rename(owner, session.conversation_id, title)

    def delete(self, owner: str, session: ChatSession) -> ChatSession:
        if session.conversation_id:
            self.store.delete(owner, session.conversation_id)
        return ChatSession.new(self.settings)

    # ------------------------------------------------------------------ feedback, export
    def rate(self, owner: str, session: ChatSession, turn: int, rating: int, correction: str = "",
             not_in_documents: bool = False) -> None:
        self.save(owner, session)
        if session.conversation_id is None or not 0 <= turn < session.saved:
            raise InputError("that answer isn't saved yet; rate it once it has finished")
        if session.turns[turn].answer is None:
            raise InputError("only answers can be rated")
        self.store.set_feedback(owner, session.conversation_id, turn,
                                Feedback(rating, " ".join(correction.split()), bool(not_in_documents)))
        session.ratings[turn] = rating

    def unrate(self, owner: str, session: ChatSession, turn: int) -> None:
        """Take a thumb back: the stored rating goes too, so a reload shows none."""
        if session.conversation_id is not None and 0 <= turn < session.saved:
            self.store.clear_feedback(owner, session.conversation_id, turn)
        session.ratings.pop(turn, None)

    def export(self, owner: str, session: ChatSession) -> Path:
        """The conversation as a Markdown file (for download)."""
        if not session.conversation_id:
            raise InputError("ask a question first: there is nothing to export")
        conv = self.store.get(owner, session.conversation_id)
        name = re.sub(r"[^A-Za-z0-9]+", "-", conv.title)[:50].strip("-") or "conversation"
        path = self._exports / conv.id / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(conversation_markdown(conv), encoding="utf-8")
        return path
