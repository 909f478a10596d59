"""Follow-up questions made standalone before retrieval, by rule (no model needed).

"How long did his visit last?" after "Who visited Tehran?" (answered "Abdul Latif Jamil
Rashid ...") leans on the earlier turns. When a question has a pronoun or a demonstrative,
or is elliptic ("And the trade volume?", "What about Iraq?"), we append the key phrases of
the previous user question and of the previous answer's first sentence::

    How long did his visit last? (context: visited Tehran; Abdul Latif Jamil Rashid)

Retrieval (dense and BM25) then sees the referents. A self-contained question is left alone.
"""

from __future__ import annotations

import re
from typing import Sequence

from ..text import stop_words
from .citations import MARKER
from .refusal import REFUSAL_TEXT

_REFERRING = re.compile(
    r"\b(he|him|his|she|her|hers|it|its|they|them|their|theirs|this|that|these|those|there|"
    r"then|the same|the former|the latter|such)\b", re.I)
_ELLIPTIC = re.compile(r"^\s*(and|what about|how about|also|and what about|what of|same for)\b", re.I)
_CAPS = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:of|the|de|al|bin|and)?\s*[A-Z][\w'-]*)*")
_WORD = re.compile(r"[A-Za-z0-9][\w'-]*")
MAX_CONTEXT_WORDS = 12


def needs_context(question: str) -> bool:
    return bool(_REFERRING.search(question)) or bool(_ELLIPTIC.match(question)) \
        or len(_WORD.findall(question)) <= 3


def key_phrases(text: str, limit: int = MAX_CONTEXT_WORDS) -> list[str]:
    """Names (capitalised runs) first, then the remaining content words, in order."""
    text = MARKER.sub(" ", text)
    stop = stop_words() | {w for w in ("i", "couldn't", "find", "documents")}
    phrases: list[str] = []
    used: set[str] = set()
    for m in _CAPS.finditer(text):
        words = [w for w in m.group(0).split() if w.lower() not in stop]
        if words and m.start() > 0 or (words and len(words) > 1):
            phrase = " ".join(words)
            if phrase.lower() not in used:
                phrases.append(phrase)
                used.update(w.lower() for w in words)
    for w in _WORD.findall(text):
        lw = w.lower()
        if lw not in stop and lw not in used and len(lw) > 2:
            phrases.append(w)
            used.add(lw)
    out, n = [], 0
    for p in phrases:
        k = len(p.split())
        if n + k > limit:
            break
        out.append(p)
        n += k
    return out


def _first_sentence(text: str) -> str:
    text = MARKER.sub(" ", text).strip()
    m = re.search(r"[.!?](\s|$)", text)
    return text[:m.end()] if m else text


def standalone_question(question: str, history: Sequence[dict] = ()) -> str:
    """``question`` rewritten to stand alone given the earlier turns (or unchanged)."""
    question = question.strip()
    if not history or not needs_context(question):
        return question
    prev_user = next((t.get("content", "") for t in reversed(history) if t.get("role") == "user"), "")
    prev = next((t for t in reversed(history) if t.get("role") == "assistant"), {})
    prev_answer = prev.get("content", "")
    if prev.get("refused") or REFUSAL_TEXT in prev_answer:  # a refusal carries no context
        prev_answer = ""
    own = {w.lower() for w in _WORD.findall(question)}
    context = [p for p in key_phrases(prev_user) + key_phrases(_first_sentence(prev_answer), 8)
               if p.lower() not in own]
    context = list(dict.fromkeys(context))
    if not context:
        return question
    return f"{question} (context: {'; '.join(context)})"
