"""A span's edges: the words an answer doesn't start or end with ("the", "was", "their"), and
the numeric phrase of a long run that a how-many/when question asks for ("10 billion euros",
"October 1973", "five to ten years")."""

from __future__ import annotations

from ..text import stop_words
from . import answer_type

EDGE = frozenset("a an the of in on at to for by from with as is was are were be been its his her their this "
                 "these those it he she they also and or than that some all most many several each every "
                 "both such other another any".split())
RANGE = frozenset(("to", "and", "or", "-", "–"))
"""Words that join two numbers into one range."""


def edge(word: str) -> bool:
    """A word an answer doesn't start or end with (articles, pronouns, auxiliaries, ...)."""
    w = word.lower()
    return w in EDGE or (w in stop_words() and not w.isdigit())


def trim_number(kind: str | None, toks: list[str]) -> list[str]:
    """For a number/date question, the numeric phrase of a long run: the run of number
    tokens (the one with a digit, if any) and the unit word after it ("10 billion euros",
    "October 1973")."""
    if kind is None or len(toks) <= 3:
        return toks
    hits = [answer_type.can_hold(kind, t) for t in toks]
    clusters, i = [], 0
    while i < len(toks):
        if hits[i]:
            j = i
            while j + 1 < len(toks) and hits[j + 1]:
                j += 1
            clusters.append((i, j + 1))
            i = j + 1
        else:
            i += 1
    if not clusters:
        return toks
    for k in range(len(clusters) - 1, 0, -1):  # a range is one answer: "five to ten years", "1979 and 1984"
        (a0, b0), (a1, b1) = clusters[k - 1], clusters[k]
        if a1 == b0 + 1 and toks[b0].lower() in RANGE:
            clusters[k - 1:k + 1] = [(a0, b1)]
    a, b = next((c for c in clusters if any(ch.isdigit() for t in toks[c[0]:c[1]] for ch in t)), clusters[0])
    if b < len(toks) and toks[b][:1].isalpha() and not edge(toks[b]):
        b += 1  # the unit: euros, people, km
    if a > 0 and toks[a].lower() in answer_type.CALENDAR and toks[a - 1].isdigit() and len(toks[a - 1]) <= 2:
        a -= 1  # the day before its month: 13 June 1965
    return toks[a:b]
