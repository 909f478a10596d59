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


def can_hold(kind: str | None, text: str) -> bool:
    """Does ``text`` contain something of ``kind`` (a number, a date)?"""
    if kind == NUMBER:
        return bool(_DIGIT.search(text)) or any(part in _NUMBER_WORDS for w in _TOKEN.findall(text)
                                                for part in w.lower().split("-"))  # "one-day"
    if kind == DATE:
        return bool(_YEAR.search(text)) or any(w.lower() in CALENDAR for w in _TOKEN.findall(text))
    return False
