"""The off-topic floor: refusal from retrieval evidence, never from the model's own confidence.

evidence = 0.5 * (dense cosine of the best passage) + 0.5 * (largest share of the
question's content words found in one of the top passages). Below
``Settings.refusal_threshold`` the answer is "I couldn't find this in the documents."
without asking the answerability model. The floor sits just above the off-topic questions
of the tuning batteries (README "Answer quality"); whether on-topic evidence *answers* the
question is :mod:`.answerability`'s call. ``scripts/refusal_sweep.py`` sweeps it.
"""

from __future__ import annotations

from typing import Sequence

from .citations import content_words, overlap
from ..models import Passage

REFUSAL_TEXT = "I couldn't find this in the documents."
TOP = 3


def evidence(question: str, passages: Sequence[Passage], dense_weight: float = 0.5) -> float:
    if not passages:
        return 0.0
    top = passages[:TOP]
    cosine = max(p.scores.get("dense", 0.0) for p in top)
    q = content_words(question)
    cover = max(overlap(q, (p.chunk.title + " " + p.chunk.text)) for p in top) if q else 0.0
    return dense_weight * max(cosine, 0.0) + (1 - dense_weight) * cover


def should_refuse(score: float, threshold: float) -> bool:
    return score < threshold
