"""Answering: a cleaned question, rewritten when it follows up, answered from retrieved
passages by an LLM, with every sentence checked against the passage it cites.

The path, one module a step: :mod:`.question` (clean), :mod:`.rewrite` (standalone query),
:mod:`.refusal` (off topic?), :mod:`.answerability` over :mod:`.features` (does the evidence
answer it?), :mod:`.unknown_names` (does it name what the documents never do?), :mod:`.partial`
(what a refusal may say), :mod:`.injection` (documents stay data),
:mod:`.prompts` (the model's input), :mod:`.compose` with :mod:`.ranking` and
:mod:`.citations`, :mod:`.short_answer` and :mod:`.budget` (verified, cited answer, short
answer first, within 35 words); :mod:`.pipeline` runs them in order."""

from . import answerability, budget, citations, features, short_answer
from .citations import valid_citations
from .injection import is_directive
from .pipeline import FAILED_TEXT, answer, stream_answer
from .question import CleanQuestion, clean_question
from .ranking import ranked_sentences
from .refusal import REFUSAL_TEXT
from .rewrite import standalone_question

__all__ = ["CleanQuestion", "FAILED_TEXT", "REFUSAL_TEXT", "answer", "answerability", "budget", "citations",
           "clean_question", "features", "is_directive", "ranked_sentences", "short_answer", "standalone_question",
           "stream_answer", "valid_citations"]
