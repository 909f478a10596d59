"""Retraining from the script reproduces the committed model (slow: indexes the SQuAD 2.0
half and computes every question's features, ~5 min on 2 cores)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import train_answerability  # noqa: E402

from rag.answer.answerability import MODEL_PATH  # noqa: E402


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.skipif(not (train_answerability.DEFAULT_SQUAD2 / "questions.jsonl").exists(),
                    reason="the public SQuAD 2.0 half is not on this machine")
def test_retraining_reproduces_the_committed_validation_figures(tmp_path):
    out = tmp_path / "answerability.json"
    train_answerability.main(["--work", str(tmp_path / "work"), "--out", str(out)])
    fresh, committed = json.loads(out.read_text()), json.loads(MODEL_PATH.read_text())
    assert fresh["features"] == committed["features"] and fresh["split"] == committed["split"]
    for key in ("refusal_accuracy", "false_refusal"):
        assert abs(fresh["validation"][key] - committed["validation"][key]) <= 0.02, key
    assert abs(fresh["threshold"] - committed["threshold"]) <= 0.03
    spans = json.loads((tmp_path / "short_answer.json").read_text())
    shipped = json.loads((MODEL_PATH.parent / "short_answer.json").read_text())
    assert abs(spans["validation_short_f1_best_sentence"] - shipped["validation_short_f1_best_sentence"]) <= 0.02


def test_the_split_is_by_article_and_stable():
    assert train_answerability.is_validation("Normans") == train_answerability.is_validation("Normans")
    rows = [{"title": t} for t in ("Normans", "Warsaw", "Victoria_(Australia)", "Oxygen", "Amazon_rainforest")]
    assert {train_answerability.is_validation(r["title"]) for r in rows} == {True, False}
