"""A stored conversation as Markdown: each question, the answer with its ``[n]`` markers, and
under it every citation resolved to the quoted sentence and where it comes from."""

from __future__ import annotations

import time

from .conversations import Conversation


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in " ".join(text.split()).splitlines() or [""])


def _where(c: dict) -> str:
    bits = [f"*{c.get('title') or c.get('doc_id') or 'untitled'}*", f"`{c.get('source') or c.get('doc_id')}`"]
    if c.get("page"):
        bits.append(f"page {c['page']}")
    if c.get("sentence_end"):
        bits.append(f"characters {c.get('sentence_start')}-{c.get('sentence_end')}")
    return ", ".join(bits)


def turn_markdown(number: int, question: str, answer: dict | None, error: str | None) -> str:
    lines = [f"## {number}. {' '.join(question.split())}", ""]
    if error or answer is None:
        lines += [f"*Could not answer: {error or 'no answer'}*", ""]
        return "\n".join(lines)
    if answer.get("refused"):
        lines += ["**Not found in the documents.**", ""]
    elif answer.get("error"):
        lines += [f"*The language model failed: {answer['error']}*", ""]
    else:
        lines += [answer.get("text") or "", ""]
    for c in sorted(answer.get("citations") or [], key=lambda c: int(c["n"])):
        flag = "" if c.get("supported", True) else " (not confirmed by the passage)"
        lines += [f"[{c['n']}] {_where(c)}{flag}", "", _quote(c.get("sentence") or ""), ""]
    if not answer.get("citations") and answer.get("passages"):
        lines += ["Closest passages (not cited): " + "; ".join(
            f"`{p.get('source')}`" for p in answer["passages"][:3]), ""]
    return "\n".join(lines)


def conversation_markdown(conv: Conversation) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conv.created)) if conv.created else ""
    out = [f"# {conv.title or 'Conversation'}", "", f"*{len(conv.turns)} questions"
           + (f", started {when}" if when else "") + "*", ""]
    for i, t in enumerate(conv.turns, start=1):
        out.append(turn_markdown(i, t.question, t.answer, t.error))
    return "\n".join(out).rstrip() + "\n"
