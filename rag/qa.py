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

Refusal comes first, from retrieval evidence (:mod:`rag.refusal`), before any model call.
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from dataclasses import dataclass, replace
from typing import Iterator, Sequence

from . import citations as cit
from . import answer_type, injection, prompts
from .config import Settings
from .errors import EmptyQuestionError, InputError, LLMError, QuestionTooLongError
from .models import Answer, Citation, Passage
from .refusal import REFUSAL_TEXT, evidence, should_refuse
from .rewrite import standalone_question


@dataclass(frozen=True)
class Options:
    """Answer composition knobs (the variants measured in the notes)."""

    prompt_passages: int = 1
    """Passages shown to the model. One: gemma-3-270m answers 0.42 of 40 SQuAD questions
    from the top passage, 0.12 when shown the top three (cut to 50 words each)."""
    prompt_words: int = 60
    chat_passages: int = 5
    """Passages shown to a chat model, which can use them all."""
    """Words kept per passage in the completion prompt (around the best sentences)."""
    evidence_passages: int = 3
    """Passages whose sentences compete to be the evidence sentence."""
    short_tokens: int = 24
    use_model: bool = True
    answer_bonus: float = 0.3
    """Added to a sentence's score when it contains the verified short answer. On 120 SQuAD
    questions: 0 -> 0.683 answer_match, 0.2/0.3 -> 0.725, 0.5 -> 0.708, 1.0 -> 0.692."""
    rank_weight: float = 0.3
    """Weight of the passage's fused retrieval score (relative to the best) in sentence choice."""
    min_sentence_words: int = 0
    """When the evidence sentence is shorter than this, the next sentence is added."""
    max_short_words: int = 12
    sentence_dense_weight: float = 0.75
    """Weight of the question-sentence cosine (MiniLM) in sentence choice. On 500 SQuAD
    questions (seed 0): 0 -> 0.710 answer_match, 0.5 -> 0.736, 0.75 -> 0.740."""
    local_idf: bool = True
    """Weight question words by how few candidate sentences contain them."""
    pair_weight: float = 0.5
    """Weight of the share of the question's adjacent word pairs the sentence repeats
    (:func:`rag.citations.word_pairs`)."""
    context_weight: float = 0.25
    """Question words found only in the previous sentence of the same passage count this much
    (relative to words in the sentence): the sentence goes on about what that one named."""
    type_bonus: float = 0.2
    """Added when a how-many/when question meets a sentence holding a number/date
    (:mod:`rag.answer_type`).

    Pairs, previous sentence and number/date, measured on two 500-question samples of
    squad-dev-half-a (seed 0 / seed 1; the same cached model replies for every variant),
    answer_match: none of them 0.738 / 0.694; pairs alone 0.740 / 0.704; previous sentence
    alone 0.742 / 0.700; number/date alone 0.744 / 0.694; all three 0.754 / 0.708 (words p50
    32, citations all valid, refusals unchanged). In a faster simulation of the composition
    every nearby setting (pairs 0.3-0.6, context 0.15-0.35, type 0.1-0.3) beat none-of-them on
    both samples (0.738-0.750 / 0.700-0.708 against 0.732 / 0.692); a who/where bonus (for a
    capitalised word) changed nothing.
    """
    budget_words: int = 35
    """When > 0, the next best evidence sentence is added if the answer stays within this
    many words."""


DEFAULT = Options()
FAILED_TEXT = "The language model could not answer ({error}). The retrieved passages are listed below."
QUESTION_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
"""Control characters, bidi overrides (text that displays other than it reads), BOMs and
lone surrogates: stripped from questions; tabs and newlines count as spaces."""


# ---------------------------------------------------------------------------- input
def clean_question(question, settings: Settings) -> str:
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
    return text


# ---------------------------------------------------------------------------- public API
def answer(question: str, *, history: Sequence[dict] = (), retriever, llm, settings: Settings,
           k: int | None = None, mode: str | None = None) -> Answer:
    return answer_with(question, history=history, retriever=retriever, llm=llm, settings=settings,
                       k=k, mode=mode)


def answer_with(question: str, *, history: Sequence[dict] = (), retriever, llm, settings: Settings,
                k: int | None = None, mode: str | None = None, options: Options = DEFAULT) -> Answer:
    """:func:`answer` with explicit composition options (for measuring variants)."""
    result = None
    for item in stream_answer(question, history=history, retriever=retriever, llm=llm,
                              settings=settings, k=k, mode=mode, options=options, _stream=False):
        if isinstance(item, Answer):
            result = item
    return result


def stream_answer(question: str, *, history: Sequence[dict] = (), retriever, llm,
                  settings: Settings, k: int | None = None, mode: str | None = None,
                  options: Options = DEFAULT, _stream: bool = True) -> Iterator[str | Answer]:
    """Model text deltas as they come, then the final verified :class:`Answer`."""
    t0 = time.perf_counter()
    text = clean_question(question, settings)
    query = standalone_question(text, history)
    passages = retriever.search(query, k=k or settings.k, mode=mode)
    t1 = time.perf_counter()
    ans = Answer(question=text, text="", passages=passages,
                 standalone_question=query if query != text else None)
    ans.timings["retrieval"] = (t1 - t0) * 1000
    ans.evidence = evidence(query, passages)
    if should_refuse(ans.evidence, settings.refusal_threshold):
        ans.refused, ans.text = True, REFUSAL_TEXT
        ans.timings.update(generation=0.0, total=(time.perf_counter() - t0) * 1000)
        yield ans
        return
    raw = ""
    try:
        if options.use_model:
            shown = [injection.defuse(p) for p in passages]  # the documents' instructions stay out
            for delta in _generate(llm, query, shown, settings, options, _stream):
                raw += delta
                if _stream:
                    yield delta
    except LLMError as exc:
        ans.error = str(exc)
        ans.text = FAILED_TEXT.format(error=exc)
    t2 = time.perf_counter()
    if ans.error is None:
        embedder = getattr(retriever, "embedder", None)
        with injection.set_aside(ans, raw, query) as raw:  # instructions in passages are never facts
            if getattr(llm, "style", "completion") == "chat" and options.use_model:
                compose_chat(ans, query, raw, options, embedder)
            else:
                compose_completion(ans, query, raw, options, embedder)
    ans.timings.update(generation=(t2 - t1) * 1000, total=(time.perf_counter() - t0) * 1000)
    yield ans


def _generate(llm, query: str, passages: list[Passage], settings: Settings, options: Options,
              stream: bool) -> Iterator[str]:
    if getattr(llm, "style", "completion") == "chat":
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


# ---------------------------------------------------------------------------- composition
def clean_short_answer(raw: str, max_words: int) -> str:
    text = cit.strip_markers(raw.split("\n")[0]).strip().strip("\"'“”").strip()
    text = re.sub(r"^(answer|a)\s*:\s*", "", text, flags=re.I).rstrip(" .;,:")
    return text if 0 < len(text.split()) <= max_words else ""


def verified_in(short: str, passages: Sequence[Passage]) -> int | None:
    """1-based number of the first passage that contains ``short``, or None."""
    if not short or not cit.content_words(short) and not cit.numbers(short):
        return None
    for i, p in enumerate(passages, start=1):
        if cit.contains_answer(p.chunk.text, short):
            return i
    return None


def ranked_sentences(query: str, passages: Sequence[Passage], options: Options,
                     short: str = "", embedder=None) -> list[tuple[int, cit.SentenceSpan]]:
    """(passage number, sentence) pairs of the top passages, best evidence first: question
    word overlap (local IDF; words only in the previous sentence count ``context_weight``),
    the share of the question's word pairs repeated, the passage's retrieval score, the
    sentence's cosine similarity to the question (when an embedder is given), a bonus when
    the question asks for a number or date and the sentence holds one, and a bonus for
    containing the verified short answer."""
    q = set(cit.content_words(query))
    top = passages[:options.evidence_passages]
    if not top:
        return []
    best_fused = max(p.score for p in top) or 1.0
    cands = []  # (passage number, passage, sentence, its words, the previous sentence's words)
    for n, p in enumerate(top, start=1):
        prev: set[str] = set()
        for s in cit.sentences(p.chunk):
            words = set(cit.content_words(s.text))
            cands.append((n, p, s, words, prev))
            prev = words
    # local IDF: a question word found in few candidate sentences says more than one in all
    weight = {w: (math.log(1 + len(cands) / (1 + sum(w in c[3] for c in cands)))
                  if options.local_idf else 1.0) for w in q}
    total = sum(weight.values()) or 1.0
    pairs = cit.word_pairs(query) if options.pair_weight else set()
    kind = answer_type.expected(query) if options.type_bonus else None
    cosines = [0.0] * len(cands)
    if embedder is not None and options.sentence_dense_weight:
        vectors = embedder.embed_batch([c[2].text for c in cands])
        cosines = (vectors @ embedder.embed_query(query)).tolist()
    out = []
    for (n, p, s, words, prev), cos in zip(cands, cosines):
        prior = options.rank_weight * (p.score / best_fused)
        lexical = (sum(weight[w] for w in q & words)
                   + options.context_weight * sum(weight[w] for w in (q & prev) - words)) / total
        score = lexical + prior + options.sentence_dense_weight * cos
        if pairs:
            score += options.pair_weight * len(pairs & cit.word_pairs(s.text)) / len(pairs)
        if kind and answer_type.can_hold(kind, s.text):
            score += options.type_bonus
        if short and cit.contains_answer(s.text, short):
            score += options.answer_bonus
        out.append((n, replace(s, score=score)))
    out.sort(key=lambda x: (-x[1].score, x[0], x[1].start))
    return out


def _extend(passage: Passage, span: cit.SentenceSpan, min_words: int) -> cit.SentenceSpan:
    if len(span.text.split()) >= min_words:
        return span
    sents = cit.sentences(passage.chunk)
    for i, s in enumerate(sents):
        if s.start == span.start and i + 1 < len(sents):
            nxt = sents[i + 1]
            c = passage.chunk
            return cit.SentenceSpan(c.text[s.start - c.start:nxt.end - c.start], s.start, nxt.end, span.score)
    return span


def _citation(n: int, passage: Passage, span: cit.SentenceSpan, score: float = 1.0) -> Citation:
    c = passage.chunk
    return Citation(n=n, chunk_id=c.chunk_id, doc_id=c.doc_id, source=c.source, title=c.title,
                    page=c.page, start=c.start, end=c.end, text=c.text, sentence=span.text,
                    sentence_start=span.start, sentence_end=span.end, supported=True,
                    score=round(float(score), 4))


def _cited(sentence: str, n: int) -> str:
    """``sentence`` with ``[n]`` placed before its final punctuation. Marker-like text the
    document itself carries (a forged ``[7]``) is removed: only our markers link."""
    body = " ".join(cit.strip_markers(sentence).split())
    end = body[-1] if body and body[-1] in ".!?" else "."
    return f"{body.rstrip('.!? ')} [{n}]{end}"


def compose_completion(ans: Answer, query: str, raw: str, options: Options, embedder=None) -> None:
    """Best evidence sentence(s), each cited; the model's short answer leads only when it is
    verified (a passage contains it) and the chosen evidence sentence contains it too."""
    passages = ans.passages
    short = clean_short_answer(raw, options.max_short_words)
    if verified_in(short, passages[:max(options.prompt_passages, options.evidence_passages)]) is None:
        short = ""
    ranked = ranked_sentences(query, passages, options, short, embedder)
    if not ranked:
        ans.refused, ans.text = True, REFUSAL_TEXT
        return
    n, span = ranked[0]
    span = _extend(passages[n - 1], span, options.min_sentence_words)
    chosen = [(n, span)]
    if options.budget_words:
        used = len(span.text.split()) + len(short.split())
        for n2, s2 in ranked[1:]:
            if s2.start < span.end and span.start < s2.end and passages[n2 - 1].chunk.doc_id == \
                    passages[n - 1].chunk.doc_id:
                continue  # the same (or overlapping) sentence from an overlapping chunk
            if used + len(s2.text.split()) <= options.budget_words:
                chosen.append((n2, s2))
            break
    parts, cites = [], {}
    holder = next((m for m, s in chosen if short and cit.contains_answer(s.text, short)), None)
    if holder is not None and len(short.split()) < len(chosen[0][1].text.split()) - 2:
        parts.append(_cited(short, holder))
    for m, s in chosen:
        parts.append(_cited(s.text, m))
        cites.setdefault(m, _citation(m, passages[m - 1], s, s.score))
    ans.text = " ".join(parts)
    ans.citations = [cites[k] for k in sorted(cites)]


def compose_chat(ans: Answer, query: str, raw: str, options: Options, embedder=None) -> None:
    """Keep the model's supported sentences (with valid markers); else the evidence sentence."""
    passages = ans.passages
    given = passages[:options.chat_passages]
    texts = [p.chunk.text for p in given]
    if "couldn't find" in raw.lower() or "could not find" in raw.lower():
        ans.refused, ans.text = True, REFUSAL_TEXT
        return
    kept, cites = [], {}
    for claim, nums in cit.split_claims(cit.clean_markers(raw, len(given))):
        if not claim.strip():
            continue
        ok = [n for n in nums if cit.is_supported(claim, texts[n - 1])]
        if not ok:  # cited nothing, or the wrong passage: look for one that supports it
            ok = [i for i, t in enumerate(texts, start=1) if cit.is_supported(claim, t)][:1]
        if not ok:
            continue
        body = " ".join(claim.split())
        end = body[-1] if body and body[-1] in ".!?" else "."
        kept.append(body.rstrip(".!? ") + " " + "".join(f"[{n}]" for n in ok) + end)
        for n in ok:
            if n not in cites:
                span = cit.supporting_span(given[n - 1].chunk, claim)
                cites[n] = _citation(n, given[n - 1], span, span.score)
    if not kept:
        compose_completion(ans, query, "", options, embedder)
        return
    ans.text = " ".join(kept)
    ans.citations = [cites[k] for k in sorted(cites)]
