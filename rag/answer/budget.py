"""The answer's shape and its word budget: short answer first, then its evidence, ≤ 35 words.

``compose`` writes "SHORT [n]. Evidence sentence [n]. Next sentence [m]." and guarantees
that the answer, counted the way ``rag eval`` counts it (markers removed, whitespace-split),
never exceeds ``max_words``: later sentences are left out when they don't fit, and a first
sentence too long for what's left is cut to a window of its words around the short answer,
placed to keep in sight the other places the answer may be (marked with "…", so the reader
sees the cut; the citation still shows the whole sentence).
A cut answer is cut to ``cut_words`` (28), not to the cap: a sentence that has to be cut is
cut to the words around the answer, and the cap is for whole sentences, which are kept
whole up to it. (Cutting to the cap made half of all SQuAD answers exactly 35 words long.)
"""

from __future__ import annotations

import re
from typing import Sequence

from . import citations as cit

MAX_WORDS = 35
"""Words an answer may have (the short answer, its evidence, the markers' full stops)."""
CUT_WORDS = 28
"""Words an answer has when its first sentence had to be cut."""
ELLIPSIS = "…"


def count(text: str) -> int:
    """Words as ``rag eval`` counts them (``answer_words``)."""
    return len(re.sub(r"\[\s*\d+\s*\]", " ", text).split())


def cited(sentence: str, n: int) -> str:
    """``sentence`` with ``[n]`` before its final punctuation. Marker-like text the document
    itself carries (a forged ``[7]``) is removed: only our markers link."""
    body = " ".join(cit.strip_markers(sentence).split())
    end = body[-1] if body and body[-1] in ".!?" else "."
    return f"{body.rstrip('.!? ')} [{n}]{end}"


def _strip(word: str) -> str:
    return word.lower().strip(".,;:!?\"'()“”")


def _find(words: list[str], span: str) -> tuple[int, int] | None:
    """Where ``span``'s words are among ``words`` (first and last + 1), or None."""
    target = [_strip(w) for w in span.split()]
    n = len(target)
    if not n:
        return None
    for i in range(len(words) - n + 1):
        if [_strip(w) for w in words[i:i + n]] == target:
            return i, i + n
    return None


def window(sentence: str, keep: int, around: str | None = None,
           likely: Sequence[tuple[str, float]] = ()) -> str:
    """At most ``keep`` words of ``sentence`` with "…" glued to the cut ends: centred on
    ``around`` when it is there; with ``likely`` ((span, probability) of the places the answer
    may be, :func:`rag.answer.short_answer.ranked`), the window that holds ``around`` and the
    most of that probability, so that when ``around`` is the wrong span, the right one is
    still more likely to be in sight (nearest the centred window among equals)."""
    words = sentence.split()
    if len(words) <= keep:
        return sentence
    keep = max(1, keep)
    start = 0
    at = _find(words, around) if around else None
    if at is not None:
        start = max(0, min(at[0] - (keep - (at[1] - at[0])) // 2, len(words) - keep))
    places = [(loc, p) for loc, p in ((_find(words, span), p) for span, p in likely) if loc is not None]
    if places:
        def mass(st: int) -> float:
            return sum(p for (a, b), p in places if st <= a and b <= st + keep)

        fits = [st for st in range(len(words) - keep + 1)
                if at is None or (st <= at[0] and at[1] <= st + keep)]
        if fits:
            centred = start
            start = max(fits, key=lambda st: (round(mass(st), 9), -abs(st - centred)))
    part = words[start:start + keep]
    if start > 0:
        part[0] = ELLIPSIS + part[0]
    if start + keep < len(words):
        part[-1] = part[-1].rstrip(".,;:!?") + ELLIPSIS
    return " ".join(part)


def leads(short: str | None, sentence: str) -> bool:
    """Does the short answer get its own lead (it is shorter than the sentence that holds it)?"""
    return bool(short) and count(short) < count(sentence) - 2


def cut_needed(short: str | None, first: str, max_words: int = MAX_WORDS) -> bool:
    """Will :func:`compose` cut ``first`` (its lead and the whole sentence exceed ``max_words``)?"""
    lead = count(cited(short, 0)) if leads(short, first) else 0
    return lead + count(cited(first, 0)) > max_words


def compose(short: str | None, holder: int, sentences: Sequence[tuple[int, str]],
            max_words: int = MAX_WORDS, extend_words: int | None = None, cut_words: int | None = None,
            likely: Sequence[tuple[str, float]] = ()) -> str:
    """The answer text: the short answer (cited to passage ``holder``) when it is shorter than
    its sentence, then ``sentences`` ((passage number, text), best first) while they fit.
    ``extend_words``: a further sentence is added only if the answer stays within it
    (default ``max_words``). ``cut_words``: the length of an answer whose first sentence
    does not fit whole (default :data:`CUT_WORDS`, never above ``max_words``). ``likely``:
    where in the first sentence the answer may be (:func:`window`), for placing a cut."""
    if not sentences:
        return cited(short, holder) if short else ""
    extend_words = max_words if extend_words is None else min(extend_words, max_words)
    cut_words = min(CUT_WORDS if cut_words is None else cut_words, max_words)
    parts = [cited(short, holder)] if leads(short, sentences[0][1]) else []
    used = sum(count(p) for p in parts)
    n, first = sentences[0]
    text = cited(first, n)
    if cut_needed(short, first, max_words):  # cut: to cut_words, around the short answer
        keep = max(cut_words, used + 2) - used - 1  # the marker's full stop counts as a word
        while True:
            text = cited(window(first, keep, short, likely), n)
            if used + count(text) <= max_words or keep <= 1:
                break
            keep -= 1
    if used + count(text) > max_words:  # not even one word of evidence fits beside the lead
        parts, used = [], 0
        text = cited(window(first, cut_words - 1, short), n)
    parts.append(text)
    used += count(text)
    for m, s in sentences[1:]:
        extra = cited(s, m)
        if used + count(extra) <= extend_words:
            parts.append(extra)
            used += count(extra)
        break
    return " ".join(parts)
