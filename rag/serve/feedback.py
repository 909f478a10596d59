"""Feedback that becomes a test: rated answers exported as battery lines.

``python -m rag feedback export --out battery.jsonl`` writes one line per rated answer, in the
battery format ``rag eval`` reads (:mod:`rag.battery`):

* thumbs down with "the right answer is …": ``answers`` is the user's correction;
* thumbs down marked "not in the documents": ``expect_refusal: true``;
* thumbs up: the bot's outcome becomes the reference, ``expect_refusal`` for a refusal, else
  ``gold`` = the documents it cited (the user confirmed them);
* thumbs down without either: kept as an answerable question (``expect_refusal: false``).

Every line also carries the conversation's earlier turns as ``history`` and the ``sources``
that were shown with the rated answer, plus ``rating`` and the bot's answer, for whoever
reads the file; ``rag eval`` ignores those extra fields.
"""

from __future__ import annotations

import json
from pathlib import Path

from .conversations import ConversationStore, RatedTurn


def _sources(answer: dict) -> list[dict]:
    cited = answer.get("citations") or []
    if cited:
        return [{"n": c.get("n"), "doc_id": c.get("doc_id"), "source": c.get("source"), "title": c.get("title"),
                 "page": c.get("page"), "sentence": c.get("sentence")} for c in cited]
    return [{"rank": p.get("rank"), "doc_id": p.get("doc_id"), "source": p.get("source"),
             "title": p.get("title"), "page": p.get("page")} for p in answer.get("passages") or []]


def battery_line(item: RatedTurn) -> dict:
    turn, fb = item.turn, item.turn.feedback
    answer = turn.answer or {}
    line: dict = {"id": f"feedback-{item.conversation_id[:12]}-{turn.index}", "question": turn.question}
    if item.history:
        line["history"] = list(item.history)
    if fb.rating < 0 and fb.not_in_documents:
        line["expect_refusal"] = True
    elif fb.rating < 0 and fb.correction:
        line["answers"] = [fb.correction]
    elif fb.rating > 0 and answer.get("refused"):
        line["expect_refusal"] = True
    elif fb.rating > 0:
        gold = list(dict.fromkeys(c.get("doc_id") for c in answer.get("citations") or [] if c.get("doc_id")))
        if gold:
            line["gold"] = gold
        if fb.correction:
            line["answers"] = [fb.correction]
    else:
        line["expect_refusal"] = False
    line.update(rating="up" if fb.rating > 0 else "down", bot_answer=answer.get("text") or "",
                bot_refused=bool(answer.get("refused")), sources=_sources(answer))
    return line


def export_battery(store: ConversationStore, out: Path) -> int:
    """Write every rated answer as a battery line to ``out``; returns the number written."""
    lines = [battery_line(item) for item in store.rated_turns()]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    tmp.replace(out)
    return len(lines)
