"""Answering: a cleaned question, rewritten when it follows up, answered from retrieved
passages by an LLM, with every sentence checked against the passage it cites.

The path, one module a step: :mod:`.question` (clean), :mod:`.rewrite` (standalone query),
:mod:`.refusal` (answerable from the evidence?), :mod:`.injection` (documents stay data),
:mod:`.prompts` (the model's input), :mod:`.compose` with :mod:`.ranking` and
:mod:`.citations` (verified, cited answer); :mod:`.pipeline` runs them in order."""

from . import citations
from .citations import valid_citations
from .injection import is_directive
from .pipeline import FAILED_TEXT, answer, stream_answer
from .question import CleanQuestion, clean_question
from .refusal import REFUSAL_TEXT
from .rewrite import standalone_question

__all__ = ["CleanQuestion", "FAILED_TEXT", "REFUSAL_TEXT", "answer", "citations",
           "clean_question", "is_directive", "standalone_question", "stream_answer", "valid_citations"]
