"""Citation markers and grounding checks.

* :func:`parse_markers` reads ``[n]`` markers (``[1][2]``, ``[12]``, ``[ 3 ]``, ``[1, 2]``) and
  keeps only those that point at a passage that was really given.
* :func:`support` measures how much of a claim a passage backs: the share of the claim's
  content words (stemmed, stop words dropped) found in the passage; every number in the
  claim must be there too.
* :func:`best_sentence` picks the passage sentence that best supports a claim or answers a
  question, with its offsets in the document (``rag.ingest.chunking.split_sentences``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..ingest import split_sentences
from ..models import Chunk
from ..tuning import AnswerOptions
from ..text import CURRENCY_SIGNS, content_words, numbers, stop_words, word_pairs, words  # noqa: F401  (re-exported)

MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*\]")
"""One bracket holding one or more passage numbers."""
_AFTER_MARKER = re.compile(r"(?<=\d\]\.)\s+")
SUPPORT_THRESHOLD = AnswerOptions.support_threshold
"""The default share of a claim's content words a passage must hold (Settings.answer)."""


def parse_markers(text: str, n_passages: int) -> list[int]:
    """Passage numbers cited in ``text``, in order of first appearance, valid ones only."""
    seen: list[int] = []
    for m in MARKER.finditer(text):
        for part in m.group(1).split(","):
            n = int(part)
            if 1 <= n <= n_passages and n not in seen:
                seen.append(n)
    return seen


def clean_markers(text: str, n_passages: int) -> str:
    """``text`` with markers normalised to ``[n]`` and those for absent passages removed."""
    def fix(m: re.Match) -> str:
        valid = [int(p) for p in m.group(1).split(",") if 1 <= int(p) <= n_passages]
        return "".join(f"[{n}]" for n in dict.fromkeys(valid))

    out = MARKER.sub(fix, text)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", out)).strip()


def strip_markers(text: str) -> str:
    text = re.sub(r"\s{2,}", " ", MARKER.sub("", text))
    return re.sub(r"\s+([.,;:!?])", r"\1", text).strip()


def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """Split an answer into sentences, each with the markers attached to it.

    Markers right after a sentence's end punctuation (``... 1973. [2]``) belong to it, and a
    marker closed by a full stop (``... [1]. described in ...``) ends a claim even when the
    next one starts in lowercase (a quoted line of a PDF's code block).
    """
    claims: list[tuple[str, list[int]]] = []
    for sent in (piece for a, b in split_sentences(text) for piece in _AFTER_MARKER.split(text[a:b])):
        lead = re.match(r"^(\s*\[[\d\s,]+\])+", sent)
        if lead and claims:  # "... end. [2] Next" : leading markers belong to the previous one
            prev = [int(p) for m in MARKER.finditer(lead.group(0)) for p in m.group(1).split(",")]
            claims[-1][1].extend(n for n in prev if n not in claims[-1][1])
            sent = sent[lead.end():]
            if not sent.strip():
                continue
        nums = [int(p) for m in MARKER.finditer(sent) for p in m.group(1).split(",")]
        body = strip_markers(sent)
        if not body.strip(" .,;:!?\"'") and claims and nums:  # a lone marker sentence
            claims[-1][1].extend(n for n in nums if n not in claims[-1][1])
            continue
        claims.append((body, list(dict.fromkeys(nums))))
    return claims


# ---------------------------------------------------------------------------- support
def currencies(text: str) -> set[str]:
    """Currencies ``text`` names, by symbol or word ("$10" and "10 dollars" both: dollar)."""
    found = {name for sym, name in CURRENCY_SIGNS.items() if sym in text}
    stems = set(content_words(text))
    return found | {name for name in CURRENCY_SIGNS.values() if name in stems}


def support(claim: str, passage: str) -> float:
    """Share of the claim's content words found in the passage; 0 if a number or a currency
    is missing ("$10 billion" is not supported by "10 billion euros")."""
    claim_words = set(content_words(claim))
    if numbers(claim) - numbers(passage) or currencies(claim) - currencies(passage):
        return 0.0
    if not claim_words:
        return 1.0
    have = set(content_words(passage))
    return len(claim_words & have) / len(claim_words)


def is_supported(claim: str, passage: str, threshold: float = SUPPORT_THRESHOLD) -> bool:
    return support(claim, passage) >= threshold


def contains_answer(passage: str, answer: str) -> bool:
    """Does the passage contain the (short) answer, ignoring case and punctuation (but not
    currency: "$10 billion" is not in "10 billion euros")?"""
    if currencies(answer) - currencies(passage):
        return False
    a = " ".join(words(answer))
    return bool(a) and f" {a} " in f" {' '.join(words(passage))} "


# ---------------------------------------------------------------------------- sentences
@dataclass(frozen=True)
class SentenceSpan:
    text: str
    start: int
    """Offsets in the document (the chunk's frame plus the chunk's start)."""
    end: int
    score: float = 0.0


def sentences(chunk: Chunk) -> list[SentenceSpan]:
    return [SentenceSpan(chunk.text[a:b], chunk.start + a, chunk.start + b)
            for a, b in split_sentences(chunk.text)]


def overlap(query_words: Iterable[str], text: str) -> float:
    """Share of the (distinct) query content words present in ``text``."""
    q = set(query_words)
    if not q:
        return 0.0
    return len(q & set(content_words(text))) / len(q)


def best_sentence(chunk: Chunk, claim: str, *, answer: str | None = None) -> SentenceSpan | None:
    """The sentence of ``chunk`` that best supports ``claim`` (a question or an answer
    sentence): highest content-word overlap, and, when ``answer`` is given, one that
    contains it wins."""
    q = content_words(claim)
    best: SentenceSpan | None = None
    for s in sentences(chunk):
        score = overlap(q, s.text) + (1.0 if answer and contains_answer(s.text, answer) else 0.0)
        if best is None or score > best.score:
            best = SentenceSpan(s.text, s.start, s.end, score)
    return best


def supporting_span(chunk: Chunk, claim: str) -> SentenceSpan | None:
    """The sentence (or pair of adjacent sentences) of ``chunk`` that supports ``claim``."""
    sents = sentences(chunk)
    cands = list(sents) + [SentenceSpan(chunk.text[a.start - chunk.start:b.end - chunk.start],
                                        a.start, b.end) for a, b in zip(sents, sents[1:])]
    best: SentenceSpan | None = None
    for s in cands:
        score = support(claim, s.text) - 0.001 * len(s.text.split())
        if best is None or score > best.score:
            best = SentenceSpan(s.text, s.start, s.end, score)
    return best


def valid_citations(text: str, passages: Sequence[str]) -> bool:
    """Every marker points at a given passage and every cited sentence is supported there."""
    for m in MARKER.finditer(text):
        if any(not 1 <= int(p) <= len(passages) for p in m.group(1).split(",")):
            return False
    for claim, nums in split_claims(text):
        for n in nums:
            if not is_supported(claim, passages[n - 1]):
                return False
    return True
