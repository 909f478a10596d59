"""Answering: question -> standalone query -> passages -> refusal check -> LLM -> verified Answer.

A small base model (the embedded gemma-3-270m) answers a SQuAD question on its own only
0.40 of the time, and makes things up when the passages lack the answer. So the answer is
a combination, and every part of it is checked against the passages:

* completion style (base model): the model writes a short answer from the top passages;
  it is kept only when a passage contains it (the verifier). The answer is then that short
  answer plus the best evidence sentence (question words and word pairs, passage score,
  cosine to the question, a number/date when one is asked for, and whether it contains the
  short answer; see :func:`ranked_sentences`), each with its ``[n]`` marker.
* chat style: the model writes sentences with ``[n]`` markers; markers for absent
  passages are removed, each sentence is checked against the passage it cites (or any
  passage, when it cites none); unsupported sentences are dropped, and if nothing is left
  the best evidence sentence is the answer.

Each step runs once, here, in order: clean (unless the edge already did), rewrite, retrieve,
decide answerability (:mod:`.refusal`'s off-topic floor on retrieval evidence, then
:mod:`.answerability`'s learned decision on the best evidence, then :mod:`.unknown_names`:
a name the documents never mention; all before any model call),
defuse the passages (:mod:`.injection`), generate, verify and compose (:mod:`.compose`).
A model that fails, or can't be built, becomes ``Answer.error`` with the passages kept.
"""

from __future__ import annotations

import time
from typing import Iterator, Sequence

from ..config import Settings
from ..errors import LLMError
from ..llm import LLM
from ..models import Answer, Passage
from ..retrieve import Searcher
from . import answerability, injection, partial, prompts
from .compose import citation, compose_chat, compose_completion
from ..tuning import AnswerOptions
from .question import CleanQuestion, clean_question
from .ranking import ranked_sentences
from .refusal import REFUSAL_TEXT, evidence, should_refuse
from .rewrite import standalone_question
from .unknown_names import refusal_note, unknown_names

FAILED_TEXT = "The language model could not answer ({error}). The retrieved passages are listed below."


def answer(question: str, *, history: Sequence[dict] = (), retriever: Searcher, llm: LLM,
           settings: Settings, k: int | None = None, mode: str | None = None) -> Answer:
    """The verified :class:`Answer` (the last item of :func:`stream_answer`)."""
    result = None
    for item in stream_answer(question, history=history, retriever=retriever, llm=llm,
                              settings=settings, k=k, mode=mode, _stream=False):
        if isinstance(item, Answer):
            result = item
    return result


def stream_answer(question: str, *, history: Sequence[dict] = (), retriever: Searcher, llm: LLM,
                  settings: Settings, k: int | None = None, mode: str | None = None,
                  _stream: bool = True) -> Iterator[str | Answer]:
    """Model text deltas as they come, then the final verified :class:`Answer` (composed as
    ``settings.answer`` says)."""
    options = settings.answer
    t0 = time.perf_counter()
    text = question if isinstance(question, CleanQuestion) else clean_question(question, settings)
    query = standalone_question(text, history)
    passages = retriever.search(query, k=k or settings.k, mode=mode)
    t1 = time.perf_counter()
    ans = Answer(question=text, text="", passages=passages,
                 standalone_question=query if query != text else None)
    ans.timings["retrieval"] = (t1 - t0) * 1000
    ans.evidence = evidence(query, passages, settings.refusal_dense_weight)
    defused = [injection.defuse(p) for p in passages]  # the documents' instructions stay out
    features, ranked, unknown = {}, [], []
    refuse = should_refuse(ans.evidence, settings.refusal_threshold)  # off topic: no need to ask
    if not refuse:
        ranked = ranked_sentences(query, defused, options, "", retriever.embedder)
        ans.answerability, features = answerability.score(query, defused, ranked, retriever.embedder)
        refuse = ans.answerability < settings.answerability_threshold
    if not refuse and settings.refuse_unknown_names:
        unknown = unknown_names(query, passages, retriever, retriever.embedder)
    if refuse or unknown:
        ans.refused, ans.text = True, REFUSAL_TEXT + (refusal_note(query, unknown) if unknown else "")
        said = None if unknown else partial.describe(REFUSAL_TEXT, features, ranked, defused)
        if said:  # what the documents hold instead, quoted and cited
            ans.text, n, span = said
            ans.citations = [citation(n, defused[n - 1], span, span.score)]
            injection.restore_text(ans.citations, passages)
        ans.timings.update(generation=0.0, total=(time.perf_counter() - t0) * 1000)
        yield ans
        return
    raw = ""
    try:
        if options.use_model:
            for delta in _generate(llm, query, defused, settings, options, _stream):
                raw += delta
                if _stream:
                    yield delta
    except LLMError as exc:
        ans.error = str(exc)
        ans.text = FAILED_TEXT.format(error=exc)
    t2 = time.perf_counter()
    if ans.error is None:
        reply = injection.drop_relayed(raw, injection.payload_words(passages, defused, query))
        compose = compose_chat if llm.style == "chat" and options.use_model else compose_completion
        compose(ans, query, reply, defused, options, retriever.embedder)
        injection.restore_text(ans.citations, passages)  # cards show the document as it is
    ans.timings.update(generation=(t2 - t1) * 1000, total=(time.perf_counter() - t0) * 1000)
    yield ans


def _generate(llm: LLM, query: str, passages: list[Passage], settings: Settings, options: AnswerOptions,
              stream: bool) -> Iterator[str]:
    if llm.style == "chat":
        messages = prompts.chat_messages(query, passages[:options.chat_passages])
        if stream:
            yield from llm.stream_chat(messages, max_tokens=settings.max_answer_tokens * 2)
        else:
            yield llm.chat(messages, max_tokens=settings.max_answer_tokens * 2)
        return
    prompt = prompts.completion_prompt(query, passages[:options.prompt_passages], max_words=options.prompt_words)
    tokens = min(options.short_tokens, settings.max_answer_tokens)
    if stream:
        yield from llm.stream(prompt, max_tokens=tokens, stop=prompts.COMPLETION_STOP)
    else:
        yield llm.complete(prompt, max_tokens=tokens, stop=prompts.COMPLETION_STOP)
