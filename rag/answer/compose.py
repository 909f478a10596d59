"""Composing the answer: the short answer (:mod:`.short_answer`) and the best evidence
sentences, each cited, within the word budget (:mod:`.budget`) (completion style), or the chat
model's supported sentences, led by its checked short answer (chat style)."""

from __future__ import annotations

import re
from typing import Sequence

from ..index import Embedder
from ..models import Answer, Citation, Passage
from . import budget, short_answer
from . import citations as cit
from ..tuning import AnswerOptions
from .prompts import says_not_found
from .ranking import extend_sentence, ranked_sentences
from .refusal import REFUSAL_TEXT


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


def verified_short(short: str, query: str, passages: Sequence[Passage]) -> str:
    """The model's short answer when a passage holds it and it says more than the question
    (not an echo), else "". A model often answers in a sentence that first restates the
    question ("The --check option of asn1Parser checks the syntax only"), which no passage
    holds: then the longest tail a passage does hold is the answer ("checks the syntax only"),
    provided what it drops is the restatement (the question's words, or words such as "the"),
    and without the question's words it ends with."""
    def ok(text: str) -> bool:
        return verified_in(text, passages) is not None and short_answer.useful(text, query) \
            and short_answer.fits_type(text, query)

    if not short or ok(short):
        return short
    asked = set(cit.content_words(query))
    toks = short.split()
    for i in range(1, len(toks)):
        head, tail = " ".join(toks[:i]), " ".join(toks[i:])
        if not set(cit.content_words(head)) <= asked or cit.numbers(head):
            break  # the head says something of its own: not a restatement
        if set(cit.content_words(head)) and ok(tail):
            return _without_restated_end(tail.split(), asked, ok)
    return ""


def _without_restated_end(toks: list[str], asked: set[str], ok) -> str:
    """The tail without the question's words it ends with ("harms the security and stability
    of the region" for "... does to the region?"), as long as what is left still holds."""
    best = " ".join(toks)
    for j in range(len(toks) - 1, 0, -1):
        end = " ".join(toks[j:])
        if not set(cit.content_words(end)) <= asked or cit.numbers(end):
            break
        if ok(" ".join(toks[:j])):
            best = " ".join(toks[:j])
    return best


def citation(n: int, passage: Passage, span: cit.SentenceSpan, score: float = 1.0) -> Citation:
    c = passage.chunk
    return Citation(n=n, chunk_id=c.chunk_id, doc_id=c.doc_id, source=c.source, title=c.title,
                    page=c.page_at(span.start), start=c.start, end=c.end, text=c.text, sentence=span.text,
                    sentence_start=span.start, sentence_end=span.end, supported=True,
                    score=round(float(score), 4))


def compose_completion(ans: Answer, query: str, raw: str, passages: Sequence[Passage], options: AnswerOptions,
                       embedder: Embedder | None = None) -> None:
    """The short answer, then the best evidence sentence(s), each cited. The model's short
    answer is the short answer when it is verified (a passage contains it, it is not an echo
    of the question) and a chosen sentence holds it; else a span of the best sentence."""
    short = verified_short(clean_short_answer(raw, 3 * options.max_short_words), query,
                           passages[:max(options.prompt_passages, options.evidence_passages)])
    if len(short.split()) > options.max_short_words:
        short = ""
    ranked = ranked_sentences(query, passages, options, short, embedder)
    if not ranked:
        ans.refused, ans.text = True, REFUSAL_TEXT
        return
    n, span = ranked[0]
    span = extend_sentence(passages[n - 1], span, options.min_sentence_words)
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
    held = next(((m, s) for m, s in chosen if short and cit.contains_answer(s.text, short)), None)
    if held is not None:  # the model's verified answer, as the passage writes it
        holder, short = held[0], short_answer.copied(short, held[1].text) or short
        short = short_answer.tidy(short, query, held[1].text)
        likely = short_answer.ranked(query, span.text, embedder) \
            if budget.cut_needed(short, span.text, options.max_words) else ()  # only where a cut is placed
    else:
        likely = short_answer.ranked(query, span.text, embedder)  # where in the sentence the answer may be
        holder, short = n, short_answer.extract(query, span.text, embedder, likely) or ""
        short = short_answer.tidy(short, query, span.text) if short else ""
    ans.short_answer = short or None
    ans.text = budget.compose(short, holder, [(m, s.text) for m, s in chosen], options.max_words,
                              options.budget_words, options.cut_words, likely)
    cites = {}
    for m, s in chosen:
        if f"[{m}]" in ans.text:
            cites.setdefault(m, citation(m, passages[m - 1], s, s.score))
    ans.citations = [cites[k] for k in sorted(cites)]


def compose_chat(ans: Answer, query: str, raw: str, passages: Sequence[Passage], options: AnswerOptions,
                 embedder: Embedder | None = None) -> None:
    """Keep the model's supported sentences (with valid markers); else the evidence sentence."""
    given = passages[:options.chat_passages]
    texts = [p.chunk.text for p in given]
    if says_not_found(raw):
        ans.refused, ans.text = True, REFUSAL_TEXT
        return
    kept, cites = [], {}
    for claim, nums in cit.split_claims(cit.clean_markers(raw, len(given))):
        if not claim.strip():
            continue
        ok = [n for n in nums if cit.is_supported(claim, texts[n - 1], options.support_threshold)]
        if not ok:  # cited nothing, or the wrong passage: look for one that supports it
            ok = [i for i, t in enumerate(texts, start=1)
              if cit.is_supported(claim, t, options.support_threshold)][:1]
        if not ok:
            continue
        body = " ".join(claim.split())
        end = body[-1] if body and body[-1] in ".!?" else "."
        cited = body.rstrip(".!? ") + " " + "".join(f"[{n}]" for n in ok) + end
        if budget.count(" ".join(kept + [cited])) > options.max_words:  # the 35-word budget
            if kept:
                break
            cited, ok = budget.cited(budget.window(body, options.cut_words - 1), ok[0]), ok[:1]
        kept.append(cited)
        if ans.short_answer is None:  # the model's lead, when it is a span of its passage
            span = short_answer.copied(body.rstrip(".!? "), texts[ok[0] - 1])
            ans.short_answer = span if span and len(span.split()) <= short_answer.MAX_WORDS else \
                short_answer.extract(query, cit.supporting_span(given[ok[0] - 1].chunk, claim).text, embedder)
        for n in ok:
            if n not in cites:
                span = cit.supporting_span(given[n - 1].chunk, claim)
                cites[n] = citation(n, given[n - 1], span, span.score)
    if not kept:
        compose_completion(ans, query, "", passages, options, embedder)
        return
    ans.text = " ".join(kept)
    ans.citations = [cites[k] for k in sorted(cites)]
