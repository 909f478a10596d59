"""A span as the passage writes it: copied back from the sentence (its case and punctuation),
without a bracket or quote it opens and doesn't close, and not cut inside a name. Every short
answer goes through these, so what is shown is text of the cited passage."""

from __future__ import annotations

import re


def balanced(span: str) -> str:
    """``span`` without a bracket or quote it opens and doesn't close (or the reverse)."""
    for a, b in ("()", "[]", "“”"):
        if span.count(a) != span.count(b):
            cut = span.rfind(a) if span.count(a) > span.count(b) else span.find(b)
            span = (span[:cut] if span.count(a) > span.count(b) else span[cut + 1:]).strip(" .,;:")
    if span.count('"') % 2:
        span = span.replace('"', "").strip(" .,;:")
    return span


def copied(span: str, sentence: str) -> str | None:
    """``span`` as the sentence writes it (case and punctuation of the passage, a currency sign
    before it and a % after it), or None."""
    m = re.search(r"[$€£]?" + r"\W+".join(re.escape(w) for w in re.findall(r"\w+", span)) + r"%?", sentence, re.I)
    return m.group(0) if m else None


def whole_name(toks: list[re.Match], a: int, b: int) -> tuple[int, int]:
    """The run widened so it doesn't split a name ("United" of "United States" when "states" is
    a question word): over capitalised words either side of a capitalised edge."""
    def cap(i: int) -> bool:
        return toks[i].group(0)[:1].isupper()

    while b < len(toks) and cap(b - 1) and cap(b):
        b += 1
    while a > 1 and cap(a) and cap(a - 1):
        a -= 1
    return a, b
