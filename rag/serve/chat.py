"""A chat session: its turns, each answer's own sources, and the streaming of one turn.

The UI keeps one :class:`ChatSession` per browser session (in ``gr.State``); the shared
:class:`rag.engine.Engine` only answers. Nothing here imports gradio: :func:`ask` yields
plain updates that the UI turns into component values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ..config import Settings
from ..errors import EmptyQuestionError, InputError, QuestionTooLongError, RagError
from ..models import Answer
from . import presenting
from ..answer import CleanQuestion, clean_question


@dataclass
class Turn:
    question: str
    text: str = ""
    """What the assistant said (streamed text, then the verified answer's text)."""
    answer: dict | None = None
    """``Answer.to_dict()`` once finished."""
    error: str | None = None
    done: bool = False
    waiting: bool = False
    """The index was being updated when the question came; it waits for the new version."""


@dataclass
class ChatSession:
    turns: list[Turn] = field(default_factory=list)
    selected: int | None = None
    """The turn whose sources the panel shows."""
    k: int = 5
    mode: str = "hybrid"
    conversation_id: str | None = None
    """The stored conversation these turns belong to (rag.serve.keeper), once one exists."""
    saved: int = 0
    """How many of the turns are in the store already."""
    ratings: dict[int, int] = field(default_factory=dict)
    """The user's thumbs per turn (+1 up, -1 down), as stored."""

    @classmethod
    def new(cls, settings: Settings) -> "ChatSession":
        return cls(k=settings.k, mode=settings.mode)

    def history(self) -> list[dict]:
        """Earlier finished turns as ``{"role", "content"}`` messages for follow-up rewriting
        (an assistant message also says whether it was a refusal)."""
        out: list[dict] = []
        for t in self.turns:
            if t.done and t.answer and not t.error and not t.answer.get("error"):
                out.append({"role": "user", "content": t.question})
                out.append({"role": "assistant", "content": t.answer.get("text") or "",
                            "refused": bool(t.answer.get("refused"))})
        return out

    def messages(self) -> list[dict]:
        """Chatbot messages: user, then assistant, per turn (message index = 2 * turn + 1)."""
        out: list[dict] = []
        for i, t in enumerate(self.turns):
            out.append({"role": "user", "content": presenting.escape_markdown(t.question)})
            if t.error:
                content = presenting.render_error(t.error)
            elif t.answer is not None:
                content = presenting.render_answer(t.answer, i)
            else:
                content = (presenting.render_streaming(t.text) if t.text else
                           "*Waiting for the index update to finish…*" if t.waiting else
                           "*Searching the documents…*")
            out.append({"role": "assistant", "content": content})
        return out

    def feedback_values(self) -> list[str | None]:
        """The thumbs each answer shows ("Like", "Dislike" or None), one per assistant message."""
        return [{1: "Like", -1: "Dislike"}.get(self.ratings.get(i)) for i in range(len(self.turns))]

    def sources_html(self) -> str:
        turn = self.selected
        if turn is None or not (0 <= turn < len(self.turns)):
            return presenting.render_sources(None, None)
        return presenting.render_sources(self.turns[turn].answer, turn)

    def select_message(self, index: int) -> None:
        """Select the turn of chatbot message ``index`` (user or assistant message)."""
        turn = int(index) // 2
        if 0 <= turn < len(self.turns) and self.turns[turn].answer is not None:
            self.selected = turn

    def clear(self) -> None:
        """Empty the chat; the next question starts a new stored conversation."""
        self.turns.clear()
        self.selected = None
        self.conversation_id = None
        self.saved = 0
        self.ratings = {}


def check_question(question: str | None, settings: Settings) -> CleanQuestion:
    """:func:`rag.answer.clean_question` (the answer path's rule), with the UI's wording for an
    empty (or ``None``) and an over-long question."""
    try:
        return clean_question("" if question is None else question, settings)
    except EmptyQuestionError:
        raise InputError("Type a question first.") from None
    except QuestionTooLongError as exc:
        raise InputError(f"The question is {exc.length} characters long; the limit is "
                         f"{exc.limit}.") from None


def warm_up(engine) -> None:
    """Start the LLM and load both models' weights now, so the first question is as fast as
    the rest (a cold embedded model takes seconds to its first token). Failures are left for
    the first question to report."""
    try:
        engine.search("warm up", k=1)
    except RagError:  # a database that is down: the LLM still warms up
        pass
    try:
        llm = engine.llm
        if llm.style == "chat":
            llm.chat([{"role": "user", "content": "Say OK."}], max_tokens=1)
        else:
            llm.complete("Question: warm up?\nAnswer:", max_tokens=1)
    except RagError:
        pass


def ask(engine, session: ChatSession, question: str, history: list[dict] | None = None) -> Iterator[str]:
    """Answer ``question`` in ``session``, streaming; yields an event name after each change.

    Events: ``"started"``, ``"delta"`` (more text), ``"done"`` (the verified answer is in
    ``session.turns[-1].answer``), ``"error"`` (``session.turns[-1].error`` says why; a
    failing LLM still leaves the retrieved passages in the turn's answer).
    ``history`` replaces the session's own (the HTTP API passes the request's messages).
    Raises InputError for a bad question before any turn is added.
    """
    q = check_question(question, engine.settings)
    history = session.history() if history is None else history
    turn = Turn(question=q)
    turn.waiting = bool(getattr(engine, "indexing", False))
    session.turns.append(turn)
    yield "started"
    try:
        for item in engine.stream(q, history, k=session.k, mode=session.mode):
            if isinstance(item, Answer):
                turn.answer = item.to_dict()
                turn.text = item.text
            elif item:
                turn.text += item
                yield "delta"
    except RagError as exc:  # before an answer exists (index busy); the LLM's are in the Answer
        turn.error = str(exc)
        turn.done = True
        yield "error"
        return
    if turn.answer is None:
        turn.error = "the answer stream ended without a final answer"
        turn.done = True
        yield "error"
        return
    turn.done = True
    session.selected = len(session.turns) - 1
    yield "done"
