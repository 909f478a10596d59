"""A span as the passage writes it: copied back from the sentence (its case and punctuation),
and without a bracket or quote it opens and doesn't close. Every short answer goes through
these, so what is shown is text of the cited passage."""

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
    """``span`` as the sentence writes it (case and punctuation of the passage), or None."""
    m = re.search(r"\W+".join(re.escape(w) for w in re.findall(r"\w+", span)), sentence, re.I)
    return m.group(0) if m else None
