"""The short answer's meaning features: the noun a what/which question asks for, each span's
nearness to it and to the question, and the span they make the scorer pick."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer import short_answer, span_meaning


class KindEmbedder:
    """A word (or span) in KINDS points along its kind's axis; anything else along its own."""

    KINDS = {"language": "language", "english": "language", "event": "event", "surfclassic": "event"}

    def __init__(self):
        self.axes = {}

    def _vec(self, text):
        v = np.zeros(32, dtype=np.float32)
        for w in text.lower().split():
            v[self.axes.setdefault(self.KINDS.get(w, w), len(self.axes) % 32)] += 1.0
        return v / (np.linalg.norm(v) or 1.0)

    def embed_batch(self, texts):
        return np.stack([self._vec(t) for t in texts])

    def embed_query(self, text):
        return self._vec(text)


@pytest.mark.parametrize("question, head", [
    ("What language is used in Chinese secondary schools?", "language"),
    ("Which type of talent scholarship is there besides sport?", "talent"),
    ("What kind of rail system is Metro Trains?", "rail"),
    ("What is the land area of Jacksonville?", None),        # "what is": no head noun
    ("Who won the championship in 2000?", None),
    ("Along with sport and art, what is a type of talent scholarship?", None),  # too far in
])
def test_the_head_noun_of_a_what_or_which_question(question, head):
    assert span_meaning.head_noun(question) == head


def test_the_span_nearest_the_head_noun_is_marked_and_without_an_embedder_all_is_zero():
    spans = ["required to change", "English", "Chinese secondary schools"]
    f = span_meaning.features("What language is used in the schools?", spans, KindEmbedder())
    assert [x["head_best"] for x in f] == [0.0, 1.0, 0.0]
    assert f[1]["head_rel"] > 0 > f[0]["head_rel"]
    assert all(-1.0 <= x["q_cos"] <= 1.0 for x in f)
    assert span_meaning.features("What language is used?", spans) == [dict.fromkeys(span_meaning.NAMES, 0.0)] * 3


def test_the_shipped_span_weights_cover_the_meaning_features_and_favour_the_asked_kind():
    weights = short_answer._weights()
    assert set(span_meaning.NAMES) <= set(weights)
    assert weights["head_rel"] > 0 and weights["head_best"] > 0


def test_with_meaning_the_asked_kind_wins_over_a_name_nearby():
    sentence = "Chinese secondary schools, reformed by Minister Tan Sri Khir, teach in English."
    question = "What language is used in Chinese secondary schools?"
    assert short_answer.extract(question, sentence) == "reformed by Minister Tan Sri Khir"
    assert short_answer.extract(question, sentence, KindEmbedder()) == "teach in English"
