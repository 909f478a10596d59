"""Answers that finish on the server whatever the page does.

:meth:`LiveTurns.start` stores the question as a pending turn of the conversation (creating
the conversation for a first question) before anything is answered, then answers it in a
thread of its own and stores the answer when it is done. The page only follows
(:meth:`LiveTurn.follow`); a page that reloads, or closes, stops following, not answering.
A page reloaded mid-answer finds the pending turn in the store, and the keeper hands it the
same live turn to follow to its end (:meth:`rag.serve.keeper.Keeper.session_for`).

At most ``concurrency`` answers run at once (the embedded model's cores); more wait their turn.
"""

from __future__ import annotations

import threading
from typing import Iterator

from ..errors import RagError
from .chat import ChatSession, Turn, ask, check_question

FOLLOW_POLL_SECONDS = 15.0
"""A follower with nothing new wakes this often (it still yields only on a change)."""


class LiveTurn:
    """One answer being written: its session's turn object, shared by every follower."""

    def __init__(self, owner: str, conversation_id: str | None, index: int, turn: Turn):
        self.owner, self.conversation_id, self.index, self.turn = owner, conversation_id, index, turn
        self.events: list[str] = []
        self.finished = False
        self.unsaved: str | None = None
        """Why the turn could not be stored (the store is down), or None."""
        self._changed = threading.Condition()

    def push(self, event: str) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def finish(self) -> None:
        with self._changed:
            self.finished = True
            self._changed.notify_all()

    def follow(self, since: int = 0) -> Iterator[str]:
        """The events after the first ``since`` as they come (several deltas that came at once
        as one), until the answer is finished and stored."""
        seen = since
        while True:
            with self._changed:
                self._changed.wait_for(lambda: len(self.events) > seen or self.finished, FOLLOW_POLL_SECONDS)
                new, finished = self.events[seen:], self.finished
                seen = len(self.events)
            if new:
                yield "error" if "error" in new else new[-1]
            if finished:
                return


class LiveTurns:
    def __init__(self, engine, keeper, concurrency: int = 2, log=None):
        self.engine, self.keeper, self.log = engine, keeper, log
        self._slots = threading.BoundedSemaphore(concurrency)

    def start(self, owner: str, session: ChatSession, question: str) -> LiveTurn:
        """Store ``question`` as a pending turn of ``session``'s conversation and start
        answering it. InputError for a bad question (nothing is stored then). When the store
        fails, the question is still answered, and ``unsaved`` says why it isn't kept."""
        q = check_question(question, self.engine.settings)
        unsaved, index = None, len(session.turns)
        try:
            self.keeper.save(owner, session)  # finished turns not stored yet go first, in order
            if session.conversation_id is None:
                session.conversation_id = self.keeper.store.create(owner, self.keeper.settings_of(session))
            index = self.keeper.store.add_turn(owner, session.conversation_id, str(q), None, None)
        except RagError as exc:
            unsaved = str(exc)
        events = ask(self.engine, session, q)
        next(events)  # "started": the turn is in the session now
        live = LiveTurn(owner, session.conversation_id, index, session.turns[-1])
        live.unsaved = unsaved
        if unsaved is None:
            session.saved = len(session.turns)
            self.keeper.running[(live.conversation_id, index)] = live
        live.push("started")
        threading.Thread(target=self._run, args=(live, events), daemon=True,
                         name=f"answer {live.conversation_id}:{index}").start()
        return live

    def _run(self, live: LiveTurn, events) -> None:
        try:
            with self._slots:
                for event in events:
                    live.push(event)
        except Exception as exc:  # never leave a turn pending because of a bug: say what happened
            live.turn.error, live.turn.done = f"the answer failed: {type(exc).__name__}: {exc}", True
            live.push("error")
        finally:
            if live.unsaved is None:
                try:
                    self.keeper.store.finish_turn(live.owner, live.conversation_id, live.index, live.turn.answer,
                                                  live.turn.error)
                except RagError as exc:
                    live.unsaved = str(exc)
                    if self.log is not None:
                        self.log(f"warning: an answer could not be saved: {exc}")
            self.keeper.running.pop((live.conversation_id, live.index), None)
            live.finish()
