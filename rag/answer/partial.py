"""Honest partial answers: a refusal that says what the documents do hold.

When the answerability decision refuses because the best evidence states a *different*
relation than the one asked (born/died, before/after, first/last: feature ``opposite``),
the refusal quotes that sentence, cited,
so the reader sees what the documents give instead ("I couldn't find this in the
documents. What they do say: Calvin died in Geneva in 1564 [1]."). The quote is a sentence
of the passage it cites and must pass the same support check as any answer; otherwise, and
for every other refusal, the refusal is plain.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from ..models import Passage
from . import budget
from . import citations as cit

LEAD = " What they do say: "
TRIGGERS = ("opposite",)
"""Only the reversed relation: a missing number or name quoted the best sentence on the seed
battery, which was often about something else ("security coordination" for a 2015 trade
figure), and a quote that doesn't bear on the question is no help."""


def describe(refusal: str, features: Mapping[str, float], ranked: Sequence,
             passages: Sequence[Passage]) -> tuple[str, int, object] | None:
    """(text, passage number, sentence span) of a partial refusal, or None for a plain one."""
    if not ranked or not any(features.get(name, 0.0) > 0 for name in TRIGGERS):
        return None
    n, span = ranked[0]
    passage = passages[n - 1].chunk.text
    room = budget.MAX_WORDS - budget.count(refusal + LEAD) - 1
    quote = budget.cited(budget.window(span.text, room), n)
    if not cit.is_supported(cit.strip_markers(quote), passage):
        return None
    return refusal + LEAD + quote, n, span
