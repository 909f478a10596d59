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


def test_the_threshold_leaves_room_for_the_bots_other_refusals():
    """The 5% false-refusal budget is the whole decision's: questions the off-topic floor or an
    unknown name already refuse use it up before the model's threshold takes any."""
    import numpy as np

    p = np.array([0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.9, 0.9])
    y = np.array([1] * 10 + [0, 0])
    none = np.zeros(12, dtype=bool)
    t = train_answerability.pipeline_threshold(p, y, none, 0.2)  # 2 of 10 answerable may be refused
    assert 0.10 < t < 0.15 and train_answerability.rates(p, y, t)["false_refusal"] == 0.2
    other = none.copy()
    other[9] = True  # the floor refuses one answerable question the model scores 0.50
    t = train_answerability.pipeline_threshold(p, y, other, 0.2)
    assert 0.05 < t < 0.10 and train_answerability.rates(p, y, t, other)["false_refusal"] == 0.2
    other[8] = other[7] = True  # the others alone use the whole budget and more
    t = train_answerability.pipeline_threshold(p, y, other, 0.2)
    assert train_answerability.rates(p, y, t)["false_refusal"] == 0.0


def test_other_refusals_are_the_floor_and_unknown_names():
    rows = [{"features": {"evidence": 0.1}}, {"features": {"evidence": 0.6}, "unknown_names": 1},
            {"features": {"evidence": 0.6}, "unknown_names": 0}, {"features": {"evidence": 0.6}}]
    assert train_answerability.other_refusals(rows).tolist() == [True, True, False, False]


def test_the_feature_cache_keeps_one_row_per_question(tmp_path):
    """Rows recomputed for a newer field were appended after the old ones: the cache is
    rewritten with the last row of each question, and nothing is recomputed."""
    from types import SimpleNamespace

    cache = tmp_path / "features.jsonl"
    old = {"id": "q1", "title": "A", "label": 1, "features": {"evidence": 0.5}}
    rows = [old, {"id": "q2", "title": "A", "label": 0, "features": {"evidence": 0.4}, "unknown_names": 0},
            {**old, "unknown_names": 1}]
    cache.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    questions = [SimpleNamespace(id="q1"), SimpleNamespace(id="q2")]
    got = train_answerability.compute_features(questions, tmp_path / "index", tmp_path / "corpus.jsonl", cache)
    assert [r["unknown_names"] for r in got] == [1, 0]
    kept = [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in kept) == ["q1", "q2"] and kept == got
    assert not cache.with_suffix(".tmp").exists()
