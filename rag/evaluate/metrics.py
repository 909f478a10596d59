"""Scoring: retrieval hits, SQuAD answer normalisation, match and F1, percentiles."""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_MARKER = re.compile(r"\[\s*\d+\s*\]")
_PUNCT = set(string.punctuation) | {"…"}  # and the answer's own cut mark (rag.answer.budget)


def normalize(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def first_marker(text: str) -> int | None:
    """The number of the first ``[n]`` in ``text``."""
    m = _MARKER.search(text)
    return int(m.group().strip("[] ")) if m else None


def strip_markers(text: str) -> str:
    return _MARKER.sub(" ", text)


def answer_match(prediction: str, references: Sequence[str]) -> float:
    """1.0 when the normalised prediction contains a normalised reference answer."""
    pred = f" {normalize(strip_markers(prediction))} "
    for ref in references:
        ref_n = normalize(ref)
        if ref_n and f" {ref_n} " in pred:
            return 1.0
    return 0.0


_TERMINAL = re.compile(r"[.!?…:;][\"'”’)\]]*$")


def sentence_whole(sentence: str, passage: str, end: int) -> bool:
    """Does a cited sentence end where a sentence ends: with terminal punctuation, or at the
    end of a paragraph or block (a blank line, or the end of its passage), or as a whole line
    of a block (a code or table line) that the next line does not go on in lower case?
    ``end`` is the sentence's end offset within ``passage``."""
    if _TERMINAL.search(sentence.rstrip()):
        return True
    rest = passage[end:].lstrip(" \t")
    if not rest.strip() or rest.startswith("\n\n"):
        return True
    start = end - len(sentence)
    whole_line = start <= 0 or passage[:start].rstrip(" \t").endswith("\n") or not passage[:start].strip()
    return rest.startswith("\n") and whole_line and not rest.lstrip()[:1].islower()


def f1(prediction: str, reference: str) -> float:
    pred = normalize(strip_markers(prediction)).split()
    ref = normalize(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_f1(prediction: str, references: Sequence[str]) -> float:
    return max((f1(prediction, r) for r in references), default=0.0)


def exact_match(prediction: str | None, references: Sequence[str]) -> float:
    """SQuAD exact match: 1.0 when the normalised prediction equals a normalised reference
    (0.0 for no prediction)."""
    if not prediction:
        return 0.0
    pred = normalize(strip_markers(prediction))
    return float(any(pred == normalize(r) for r in references))


def short_f1(prediction: str | None, references: Sequence[str]) -> float:
    """SQuAD token F1 of a short answer against the best reference (0.0 for none)."""
    return best_f1(prediction, references) if prediction else 0.0


def first_gold_rank(retrieved_doc_ids: Sequence[str], gold: Iterable[str]) -> int | None:
    """1-based rank of the first retrieved chunk whose document is gold, or None."""
    gold = set(gold)
    for rank, doc_id in enumerate(retrieved_doc_ids, start=1):
        if doc_id in gold:
            return rank
    return None


def hit_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, cutoff: int = 10) -> float:
    return 1.0 / rank if rank is not None and rank <= cutoff else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
