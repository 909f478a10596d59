"""Word-level text helpers shared by every stage that compares words: tokens, stop words,
Snowball stems, word pairs and numbers."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z0-9]+(?:[.,'][A-Za-z0-9]+)*")
_NUMBER = re.compile(r"^\d[\d.,]*$")

@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    extra = {"also", "would", "could", "one", "many", "much", "may", "might", "us", "however",
             "said", "says", "did", "does", "done", "what", "which", "who", "whom", "whose",
             "when", "where", "why", "how", "name", "called", "according", "documents",
             "passage", "passages", "answer", "question"}
    return frozenset(STOPWORDS_EN) | extra


@lru_cache(maxsize=1)
def stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-case word tokens; numbers keep their inner separators (``10,000``, ``3.5``)."""
    return [w.lower().replace(",", "") if _NUMBER.match(w) else w.lower()
            for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """Stemmed content words of ``text`` in order (stop words dropped, duplicates kept)."""
    toks = [w for w in words(text) if w not in stop_words() and (len(w) > 1 or w.isdigit())]
    return stemmer().stemWords(toks)


def word_pairs(text: str) -> set[tuple[str, str]]:
    """Adjacent word pairs of ``text``, stemmed, except pairs of two stop words: a sentence
    that repeats a question's pairs ("oil crisis", "price of") says what the question says."""
    toks = words(text)
    stems = stemmer().stemWords(toks)
    stop = stop_words()
    return {(a, b) for a, b, x, y in zip(stems, stems[1:], toks, toks[1:])
            if not (x in stop and y in stop)}


def numbers(text: str) -> set[str]:
    """Number tokens of ``text``; a possessive one counts as its number ("2008's" as 2008)."""
    return {w for w in (v[:-2] if v.endswith("'s") else v for v in words(text.replace("’", "'")))
            if _NUMBER.match(w)}


# ---------------------------------------------------------------------------- markers


CURRENCY_SIGNS = {"$": "dollar", "€": "euro", "£": "pound", "¥": "yen"}
"""Currency signs and the word each stands for: the one list both the support check
(:func:`rag.answer.citations.currencies`) and the asked-kind check (:mod:`rag.answer.answer_type`)
read."""
