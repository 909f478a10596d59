"""What kind of answer a question asks for, and whether a sentence can hold one.

Only the two kinds a sentence's surface shows reliably: a *number* ("how many", "how much",
"what percentage", ...) and a *date* ("when", "what year", ...). A sentence can hold a number
when it has a digit or a number word, a date when it has a year or a month name. Used as a
small bonus in evidence-sentence choice (:func:`rag.answer.ranking.ranked_sentences`); "who" and
"where" are left out: a capitalised word is in nearly every sentence, and on 1,000 SQuAD
questions a bonus for one changed nothing.
"""

from __future__ import annotations

import re

from ..text import CURRENCY_SIGNS

NUMBER, DATE = "number", "date"

_NUMBER_Q = re.compile(r"\bhow (many|much|long|old|far|large|big|tall|high|often)\b"
                       r"|\bwhat (percentage|percent|number|amount)\b", re.I)
_DATE_Q = re.compile(r"\b(when|what year|which year|what century|what date|what decade|what month|what day|which day)\b",
                     re.I)
_DIGIT = re.compile(r"\d")
_YEAR = re.compile(r"\b(1\d{3}|20\d{2})s?\b")
_TOKEN = re.compile(r"[A-Za-z0-9][\w'-]*")
CALENDAR = frozenset("january february march april may june july august september october "
                    "november december monday tuesday wednesday thursday friday saturday sunday".split())
"""Month and weekday names: a sentence with one can hold a date."""
_NUMBER_WORDS = frozenset("one two three four five six seven eight nine ten eleven twelve twenty "
                          "thirty forty fifty hundred thousand million billion dozen half".split())


def expected(question: str) -> str | None:
    """:data:`NUMBER`, :data:`DATE` or None (no kind this module can check)."""
    if _NUMBER_Q.search(question):
        return NUMBER
    if _DATE_Q.search(question):
        return DATE
    return None


_MEASURE_Q = re.compile(r"\bhow (long|old|far|large|big|tall|high|often)\b", re.I)


def can_hold(kind: str | None, text: str, question: str = "") -> bool:
    """Does ``text`` contain something of ``kind`` (a number, a date)?

    A number word inside a hyphenated word ("one-day", "two-year") counts as a number. Given
    the ``question``, only when it asks a measure ("How long was the trip?": "one-day") or
    names the word's other part ("How many days ...?"): "one-day" counts no agreements. And a
    sum of money counts things only for a question about money (:data:`_MONEY`)."""
    if kind == NUMBER:
        if question and _COUNT_Q.search(question) and not _MONEY_WORDS.search(question):
            text = _MONEY.sub(" ", text)  # "10 billion euros" counts no soldiers
        if _DIGIT.search(text):
            return True
        for w in _TOKEN.findall(text):
            parts = w.lower().split("-")
            if len(parts) == 1:
                if parts[0] in _NUMBER_WORDS:
                    return True
            elif any(part in _NUMBER_WORDS for part in parts) and _counts_compound(parts, question):
                return True
        return False
    if kind == DATE:
        return bool(_YEAR.search(text)) or any(w.lower() in CALENDAR for w in _TOKEN.findall(text))
    return False


_COUNT_Q = re.compile(r"\bhow many\b", re.I)
_SIGN = "[" + re.escape("".join(CURRENCY_SIGNS)) + "]"
_CURRENCY = "|".join(f"{w}s?" for w in CURRENCY_SIGNS.values()) + (
    r"|yuan|rupees?|francs?|marks?|rubles?|roubles?|pesos?|cents?|pence|dinars?|riyals?|rials?|lira"
    r"|shillings?|usd|eur|gbp")
_NUM = r"(?:\d[\d,.]*|" + "|".join(sorted(_NUMBER_WORDS)) + r"|trillion)"
_MONEY = re.compile(rf"{_SIGN}\s?\d[\d,.]*(?:\s+(?:thousand|million|billion|trillion))?"
                    rf"|\b{_NUM}(?:[\s-]+{_NUM})*\s+(?:{_CURRENCY})\b", re.I)
_MONEY_WORDS = re.compile(rf"\b(?:{_CURRENCY}|money|currency|cost|costs|price|worth|paid|pay|spent|spend|budget)\b"
                          rf"|{_SIGN}", re.I)
"""A sum of money answers a count only when the question counts money ("How many dollars ...?"):
"How many soldiers ...?" is not answered by "10 billion euros"."""


def _counts_compound(parts: list[str], question: str) -> bool:
    """Does a hyphenated word with a number word in it (``parts``) answer ``question``?"""
    if not question or _MEASURE_Q.search(question):
        return True
    asked = {w.lower().rstrip("s") for w in _TOKEN.findall(question)}
    return any(part.rstrip("s") in asked for part in parts if part not in _NUMBER_WORDS)
