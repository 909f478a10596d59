"""The one rule for cleaning a question, shared by CLI, API and UI."""

from __future__ import annotations

import re
import unicodedata

from ..config import Settings
from ..errors import EmptyQuestionError, InputError, QuestionTooLongError

QUESTION_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
"""Control characters, bidi overrides (text that displays other than it reads), BOMs and
lone surrogates: stripped from questions; tabs and newlines count as spaces."""



class CleanQuestion(str):
    """A question that has been through :func:`clean_question`: the answer path does not clean
    it a second time."""


def clean_question(question, settings: Settings) -> CleanQuestion:
    """The question NFC-normalised, without control characters, whitespace runs folded to one
    space: the one rule for CLI, API and UI. InputError for non-text, EmptyQuestionError,
    QuestionTooLongError (both InputErrors)."""
    if not isinstance(question, str):
        raise InputError("the question must be text")
    text = unicodedata.normalize("NFC", question)
    text = QUESTION_CONTROL.sub("", text.replace("\t", " "))
    text = " ".join(text.split())
    if not text:
        raise EmptyQuestionError("the question is empty")
    if len(text) > settings.max_question_chars:
        raise QuestionTooLongError(f"the question is {len(text)} characters long; the limit is "
                                   f"{settings.max_question_chars} (RAG_MAX_QUESTION_CHARS)",
                                   len(text), settings.max_question_chars)
    return CleanQuestion(text)
