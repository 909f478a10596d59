"""Choosing evidence sentences: every sentence of the top passages scored against the question."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple, Sequence

from ..index import Embedder
from ..ingest import is_heading as is_heading_text
from ..models import Passage
from . import answer_type
from . import citations as cit
from ..tuning import AnswerOptions


class Ranked(NamedTuple):
    """An evidence sentence and the number of the passage it is in (1-based)."""

    n: int
    span: cit.SentenceSpan


@dataclass(frozen=True)
class _Candidate:
    n: int
    passage: Passage
    span: cit.SentenceSpan
    words: frozenset[str]
    """Its content words."""
    previous: frozenset[str]
    """The content words of the sentence before it in the same passage."""
    heading: frozenset[str] = frozenset()
    """The content words of the heading of its section in the passage, if any."""
    heading_pairs: frozenset = frozenset()


def ranked_sentences(query: str, passages: Sequence[Passage], options: AnswerOptions,
                     short: str = "", embedder: Embedder | None = None) -> list[Ranked]:
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
    cands: list[_Candidate] = []
    for n, p in enumerate(top, start=1):
        prev: frozenset[str] = frozenset()
        heading, heading_pairs = frozenset(), frozenset()
        spans = cit.sentences(p.chunk)
        for i, s in enumerate(spans):
            words = frozenset(cit.content_words(s.text))
            if options.heading_weight and is_heading(p.chunk, spans, i):
                # it names what the sentences below are about; it answers nothing itself
                heading, heading_pairs, prev = words, frozenset(cit.word_pairs(s.text)), frozenset()
                continue
            cands.append(_Candidate(n, p, s, words, prev, heading, heading_pairs))
            prev = words
    if not cands:
        return []
    # local IDF: a question word found in few candidate sentences says more than one in all
    weight = {w: (math.log(1 + len(cands) / (1 + sum(w in c.words for c in cands)))
                  if options.local_idf else 1.0) for w in q}
    total = sum(weight.values()) or 1.0
    pairs = cit.word_pairs(query) if options.pair_weight else set()
    kind = answer_type.expected(query) if options.type_bonus else None
    cosines = [0.0] * len(cands)
    if embedder is not None and options.sentence_dense_weight:
        vectors = embedder.embed_batch([c.span.text for c in cands])
        cosines = (vectors @ embedder.embed_query(query)).tolist()
    out = []
    for c, cos in zip(cands, cosines):
        n, p, s, words, prev, heading = c.n, c.passage, c.span, c.words, c.previous, c.heading
        prior = options.rank_weight * (p.score / best_fused)
        lexical = (sum(weight[w] for w in q & words)
                   + options.heading_weight * sum(weight[w] for w in (q & heading) - words)
                   + options.context_weight * sum(weight[w] for w in (q & prev) - words - heading)) / total
        score = lexical + prior + options.sentence_dense_weight * cos
        if pairs:
            score += options.pair_weight * len(pairs & (cit.word_pairs(s.text) | c.heading_pairs)) / len(pairs)
        if kind and answer_type.can_hold(kind, s.text):
            score += options.type_bonus
        if short and cit.contains_answer(s.text, short):
            score += options.answer_bonus
        out.append(Ranked(n, replace(s, score=score)))
    out.sort(key=lambda r: (-r.span.score, r.n, r.span.start))
    return out


def is_heading(chunk, spans: Sequence[cit.SentenceSpan], i: int) -> bool:
    """Is sentence ``i`` of ``chunk`` a heading (:func:`rag.ingest.is_heading`) with text of
    its section after it in this chunk? Headings name what the sentences below them are
    about: as evidence they would be quoted in place of an answer."""
    span = spans[i]
    return i + 1 < len(spans) and is_heading_text(chunk.text, span.start - chunk.start, span.end - chunk.start)


def extend_sentence(passage: Passage, span: cit.SentenceSpan, min_words: int) -> cit.SentenceSpan:
    if len(span.text.split()) >= min_words:
        return span
    sents = cit.sentences(passage.chunk)
    for i, s in enumerate(sents):
        if s.start == span.start and i + 1 < len(sents):
            nxt = sents[i + 1]
            c = passage.chunk
            return cit.SentenceSpan(c.text[s.start - c.start:nxt.end - c.start], s.start, nxt.end, span.score)
    return span
