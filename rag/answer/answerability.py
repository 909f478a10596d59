"""The answerability decision: is the answer in the retrieved passages, or only the topic?

A logistic regression over :mod:`.features` (question-evidence alignment: the
question's rare words, names, numbers and near-synonyms in the best evidence sentence and
its neighbours, the asked relation, the answer type, retrieval scores), trained by
``scripts/train_answerability.py`` on the training articles of the public SQuAD 2.0 half and
shipped as ``rag/answer/data/answerability.json`` (a few kB of coefficients, loaded offline). The
model gives P(answerable); below ``Settings.answerability_threshold`` the bot refuses. The
decision is made before any model call and never from the model's own words.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from ..errors import RagError

MODEL_PATH = Path(__file__).resolve().parent / "data" / "answerability.json"


@dataclass(frozen=True)
class Model:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    """The threshold the training script chose (the default of the setting)."""

    def probability(self, values: Mapping[str, float]) -> float:
        """P(answerable) for one question's features (missing names count as 0)."""
        z = self.intercept + sum(c * (float(values.get(n, 0.0)) - m) / s
                                 for n, m, s, c in zip(self.features, self.mean, self.scale, self.coef))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def contributions(self, values: Mapping[str, float]) -> dict[str, float]:
        """Each feature's share of the log-odds (for reports and debugging)."""
        return {n: round(c * (float(values.get(n, 0.0)) - m) / s, 4)
                for n, m, s, c in zip(self.features, self.mean, self.scale, self.coef)}


def load(path: Path | str = MODEL_PATH) -> Model:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return Model(tuple(raw["features"]), tuple(raw["mean"]), tuple(raw["scale"]),
                     tuple(raw["coef"]), float(raw["intercept"]), float(raw["threshold"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RagError(f"cannot load the answerability model {path}: {exc}; "
                       "rebuild it with python scripts/train_answerability.py") from None


@lru_cache(maxsize=4)
def default_model(path: str = str(MODEL_PATH)) -> Model:
    return load(path)


def default_threshold() -> float:
    """The shipped model's threshold, or 0.5 when the file can't be read."""
    try:
        return default_model().threshold
    except RagError:
        return 0.5


def score(query: str, passages, ranked, embedder=None, model: Model | None = None) -> tuple[float, dict]:
    """(P(answerable), features) of ``query`` against its retrieved passages."""
    from .features import features

    values = features(query, passages, ranked, embedder)
    return (model or default_model()).probability(values), values
