"""Scoring: retrieval ranks, SQuAD normalisation, answer match, F1, percentiles."""

from __future__ import annotations

import pytest

from rag.evaluate import metrics
@pytest.mark.parametrize("raw, expected", [
    ("The Eiffel Tower", "eiffel tower"),
    ("an apple, a pear; the plum!", "apple pear plum"),
    ("  Multiple\t\nspaces  ", "multiple spaces"),
    ("THEATRE theme", "theatre theme"),  # articles only as whole words
    ("U.S.A.", "usa"),
    ("", ""),
    ("the a an", ""),
])
def test_normalize(raw, expected):
    assert metrics.normalize(raw) == expected


def test_answer_match():
    assert metrics.answer_match("It was the Denver Broncos [1].", ["Denver Broncos"]) == 1.0
    assert metrics.answer_match("denver broncos!", ["The Denver Broncos"]) == 1.0
    assert metrics.answer_match("Broncos", ["Denver Broncos"]) == 0.0
    assert metrics.answer_match("Denverite", ["Denver"]) == 0.0  # whole words only
    assert metrics.answer_match("anything", []) == 0.0
    assert metrics.answer_match("anything", ["", "the"]) == 0.0  # empty references never match


def test_f1():
    assert metrics.f1("the Denver Broncos", "Denver Broncos") == 1.0
    assert metrics.f1("Denver", "Denver Broncos") == pytest.approx(2 / 3)
    assert metrics.f1("cat", "dog") == 0.0
    assert metrics.f1("", "") == 1.0
    assert metrics.f1("", "dog") == 0.0 and metrics.f1("dog", "") == 0.0
    assert metrics.f1("x y y", "y y z") == pytest.approx(2 / 3)  # counts, not sets
    assert metrics.f1("a b b", "b b c") == pytest.approx(0.8)  # "a" is an article
    assert metrics.best_f1("Denver", ["Broncos", "Denver"]) == 1.0
    assert metrics.best_f1("Denver", []) == 0.0


def test_ranks_hits_and_mrr():
    retrieved = ["a", "b", "c", "b"]
    assert metrics.first_gold_rank(retrieved, ["b"]) == 2
    assert metrics.first_gold_rank(retrieved, ["c", "b"]) == 2
    assert metrics.first_gold_rank(retrieved, ["z"]) is None
    assert metrics.first_gold_rank([], ["a"]) is None
    assert (metrics.hit_at(2, 1), metrics.hit_at(2, 2), metrics.hit_at(None, 5)) == (0.0, 1.0, 0.0)
    assert metrics.reciprocal_rank(1) == 1.0 and metrics.reciprocal_rank(4) == 0.25
    assert metrics.reciprocal_rank(11, cutoff=10) == 0.0 and metrics.reciprocal_rank(None) == 0.0


def test_percentile_and_mean():
    assert metrics.percentile([], 50) is None
    assert metrics.percentile([7], 95) == 7
    assert metrics.percentile([4, 1, 3, 2], 50) == 2.5
    assert metrics.percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert metrics.mean([]) is None and metrics.mean([1, 2]) == 1.5


def test_the_answers_own_cut_mark_does_not_hide_a_word():
    from rag.evaluate.metrics import answer_match

    assert answer_match("x [1]. …Muslim state that reached the Arabian… [1].", ["Muslim"]) == 1.0
    assert answer_match("x [1]. …Muslim state that reached the Arabian… [1].", ["Arabian"]) == 1.0
