"""What a candidate short answer means next to the question, by MiniLM cosine.

"What *language* is used in Chinese secondary schools?" asks for a language: of the spans of
the evidence sentence, "English" is the one nearest to the word "language". So for a
what/which question the head noun after it ("language", "event", "type of *talent*") is
embedded alone and compared with each candidate span (``head_rel``: its cosine less the
candidates' mean; ``head_best``: whether it is the nearest), and every candidate is compared
with the whole question (``q_cos``). :mod:`.short_answer` adds these to its span features; the
span weights are learned with them (scripts/train_answerability.py: best-sentence short F1 on
the SQuAD 2.0 half's training articles, out of fold, 0.33 -> 0.36; validation articles 0.394
-> 0.411). Without an embedder they are 0 and the other features decide.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from ..text import stop_words

NAMES = ("head_rel", "head_best", "q_cos")
_HEAD = re.compile(r"\b(?:what|which)\s+(?:(?:kind|type|sort|form|part|piece|name|variety)s?\s+of\s+)?"
                   r"(?:the\s+)?([a-z][a-z-]+)", re.I)
_VERBS = frozenset("is was are were did does do has had".split())
HEAD_WORDS = 6
"""The head noun is looked for in the question's first words ("Along with sport and art, what
is ..." has none there)."""


def head_noun(question: str) -> str | None:
    """The noun a what/which question asks for ("What language ..." -> "language"), or None."""
    m = _HEAD.search(" ".join(question.split()[:HEAD_WORDS]))
    if not m:
        return None
    word = m.group(1).lower()
    return None if word in stop_words() or word in _VERBS else word


def features(question: str, spans: Sequence[str], embedder=None) -> list[dict[str, float]]:
    """One dict of :data:`NAMES` per span (all 0 without an embedder or spans)."""
    out = [dict.fromkeys(NAMES, 0.0) for _ in spans]
    if embedder is None or not spans:
        return out
    head = head_noun(question)
    vecs = np.asarray(embedder.embed_batch(list(spans) + ([head] if head else [])))
    span_vecs = vecs[:len(spans)]
    q_cos = span_vecs @ np.asarray(embedder.embed_query(question))
    if head:
        h_cos = span_vecs @ vecs[-1]
        best, mean = float(h_cos.max()), float(h_cos.mean())
    for i, f in enumerate(out):
        f["q_cos"] = float(q_cos[i])
        if head:
            f["head_rel"] = float(h_cos[i]) - mean
            f["head_best"] = float(float(h_cos[i]) == best)
    return out
