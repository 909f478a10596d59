"""Choosing evidence sentences: every sentence of the top passages scored against the question."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Sequence

from ..models import Passage
from . import answer_type
from . import citations as cit
from ..tuning import AnswerOptions


def ranked_sentences(query: str, passages: Sequence[Passage], options: AnswerOptions,
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
