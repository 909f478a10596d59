"""The answerability decision: each feature pinned on known pairs, the shipped model's
learned directions, its file, and (slow) the decision on the seed document with MiniLM."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.answer import ranked_sentences
from rag.tuning import AnswerOptions

DEFAULT = AnswerOptions()
from rag.answer import answerability
from rag.answer import features as answer_features
from rag.answer.answerability import MODEL_PATH, Model
from rag.config import Settings
from rag.errors import RagError
from rag.models import Chunk, Passage


class WordEmbedder:
    """Single words to fixed vectors: near-synonyms share a direction, the rest are orthogonal."""

    SAME = {"commerce": "trade", "neighbours": "neighboring"}

    def __init__(self):
        self.dim, self.axes = 64, {}

    def _axis(self, word):
        word = self.SAME.get(word.lower(), word.lower())
        return self.axes.setdefault(word, len(self.axes) % self.dim)

    def embed_batch(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.split():
                out[i, self._axis(w)] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def embed_query(self, text):
        return self.embed_batch([text])[0]


def feats(question, text, embedder=None, title="Doc"):
    chunk = Chunk("c", "d", text, 0, len(text), "d.txt", title)
    passages = [Passage(rank=1, score=0.8, chunk=chunk, scores={"dense": 0.6, "fused": 0.8})]
    ranked = ranked_sentences(question, passages, DEFAULT, "", embedder)
    return answer_features.features(question, passages, ranked, embedder)


def test_a_swapped_year_is_a_missing_number():
    text = "The treaty was signed in 1648. It ended the war."
    assert feats("What was signed in 1648?", text)["numbers_missing"] == 0
    assert feats("What was signed in 1649?", text)["numbers_missing"] == 1


def test_a_negation_the_sentence_does_not_state():
    assert feats("Which country did not sign the treaty?", "France signed the treaty in 1648.")["negation_missing"] == 1
    assert feats("Which country did not sign the treaty?", "Spain did not sign the treaty.")["negation_missing"] == 0
    assert feats("Which country signed the treaty?", "France signed the treaty in 1648.")["negation_q"] == 0


def test_an_antonym_born_against_died():
    died = "Calvin died in Geneva in 1564. He wrote the Institutes."
    assert feats("When was Calvin born?", died)["opposite"] == 1
    assert feats("When did Calvin die?", died)["opposite"] == 0
    assert feats("When was Calvin born?", "Calvin was born in 1509. He died in 1564.")["opposite"] == 0
    began = "The crisis began in October 1973. By the end of the embargo, prices had risen."
    assert feats("When did the crisis begin?", began)["opposite"] == 0  # began is begin
    assert feats("When did the crisis begin?", "By the end of 1974 the crisis was over.")["opposite"] == 1


def test_a_comparative_and_its_superlative_are_one_side():
    # "most isolated ... less vulnerable" states the asked side ("least vulnerable")
    stated = "The disease bypassed some areas, and the most isolated areas were less vulnerable to contagion."
    assert feats("Which areas were least vulnerable to disease?", stated)["opposite"] == 0
    assert feats("Which areas were least vulnerable?", "The most isolated areas suffered most.")["opposite"] == 1


def test_a_quantity_and_a_status_turned_around_are_opposites():
    most = "Most ministers are drawn from amongst the elected members."
    assert feats("Very few ministers are drawn from amongst whom?", most)["opposite"] == 1
    assert feats("Most ministers are drawn from amongst whom?", most)["opposite"] == 0
    mandatory = "Mandatory committees are set down under the standing orders."
    assert feats("Optional committees are set down under what?", mandatory)["opposite"] == 1


def test_a_number_the_evidence_window_lacks_though_the_passage_has_it():
    text = ("Scheele found the gas in 1771 and Priestley in 1774. It was a lively time. Other work "
            "followed. The name oxygen was coined in 1777 by Antoine Lavoisier.")
    f = feats("Who coined the name oxygen in 1774?", text)
    assert f["numbers_missing"] == 0 and f["numbers_missing_window"] == 1
    assert feats("Who coined the name oxygen in 1777?", text)["numbers_missing_window"] == 0
    twice = "This building was vacated twice to allow for the meeting of the Assembly."
    assert feats("Which building was vacated three times for the Assembly?", twice)["numbers_missing_window"] == 1
    assert feats("Which building was vacated two times for the Assembly?", twice)["numbers_missing_window"] == 0


def test_an_ordinal_swapped_for_another():
    text = "Seats are allocated by the number of votes received in the second vote using the d'Hondt method."
    assert feats("The first vote uses what method?", text)["ordinal_swap"] == 1
    assert feats("The second vote uses what method?", text)["ordinal_swap"] == 0
    assert feats("What method is used?", text)["ordinal_swap"] == 0


def test_a_negating_prefix_is_an_opposite():
    text = "Reserved matters are subjects outside the competence of the Parliament."
    assert feats("Unreserved matters are subjects outside what?", text)["prefix_opposite"] == 1
    assert feats("Reserved matters are subjects outside what?", text)["prefix_opposite"] == 0
    assert feats("What is outside the competence?", "Unreserved matters are not.")["prefix_opposite"] == 0


def test_a_name_whose_words_were_swapped_is_a_missing_phrase():
    text = "Oxygen was first liquefied by German engineer Carl von Linde and British engineer William Hampson."
    assert feats("What did Carl von Linde and William Hampson liquefy?", text)["name_phrases_missing"] == 0
    assert feats("What did Carl von Hampson and William Linde liquefy?", text)["name_phrases_missing"] == 2
    west = "North of Greater Los Angeles are the Santa Barbara and Bakersfield areas."
    assert feats("What areas are north of Greater Santa Barbara?", west)["name_phrases_missing"] == 1
    assert feats("What areas lie north of Greater London?", west)["name_phrases_missing"] == 0  # a plain missing name


def test_a_paraphrase_passes_and_a_swapped_name_does_not():
    text = "Iran and Iraq share trade worth 10 billion euros a year, the two neighboring countries said."
    e = WordEmbedder()
    para = feats("How much commerce do the neighbours do?", text, e)
    assert para["miss_window"] > 0 and para["miss_soft"] == 0 and para["worst_word"] == pytest.approx(1.0)
    swap = feats("How much trade do Iran and Turkey do?", text, e)
    assert swap["miss_soft"] > 0 and swap["names_missing"] == 1 and swap["worst_word"] < 0.6


def test_a_name_counts_in_its_derived_form_but_not_inside_another_name():
    text = "The Iranian president met the Iraqi prime minister to discuss trade."
    assert feats("How much trade do Iran and Iraq do?", text)["names_missing"] == 0
    assert feats("How much trade do Iran and Oman do?", text)["names_missing"] == 1
    assert feats("Who did Ira meet?", text)["names_missing"] == 1  # a short stem is matched whole


def test_the_answer_type_asked_and_held():
    f = feats("How many ships sank?", "Many ships sank in the storm.")
    assert f["type_asked"] == 1 and f["type_sentence"] == 0
    assert feats("How many ships sank?", "Twelve ships sank in the storm.")["type_sentence"] == 1


def test_no_passages_gives_zero_features():
    f = answer_features.features("Who won?", [], [], None)
    assert set(f) == set(answer_features.NAMES) and f["cover_sent"] == 0 and f["evidence"] == 0


def test_the_shipped_model_learned_the_signs_that_make_sense():
    model = answerability.default_model()
    base = {n: m for n, m in zip(model.features, model.mean)}
    p = model.probability(base)
    for name in ("negation_missing", "numbers_missing", "opposite", "names_missing"):
        assert model.probability({**base, name: 1.0}) < p, name
    assert model.probability({**base, "cover_sent": 1.0}) > p
    assert model.probability({**base, "sent_cos": 0.9}) > p


def test_the_model_file_is_small_loads_offline_and_sets_the_default_threshold():
    raw = json.loads(MODEL_PATH.read_text())
    assert MODEL_PATH.stat().st_size < 100_000 and raw["features"] == list(answer_features.NAMES)
    assert Settings().answerability_threshold == raw["threshold"] == answerability.default_model().threshold
    assert 0 < raw["validation"]["refusal_accuracy"] <= 1 and raw["split"]["validation_articles"] > 0


def test_a_broken_model_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "m.json"
    bad.write_text('{"features": ["x"]')
    with pytest.raises(RagError, match="cannot load the answerability model .*train_answerability"):
        answerability.load(bad)


def test_probability_is_a_logistic_of_the_standardised_features():
    m = Model(("a", "b"), (1.0, 0.0), (2.0, 1.0), (1.0, -1.0), 0.5, 0.3)
    z = 0.5 + (3.0 - 1.0) / 2.0 - 1.0 * 2.0
    assert m.probability({"a": 3.0, "b": 2.0}) == pytest.approx(1 / (1 + np.exp(-z)))
    assert m.contributions({"a": 3.0, "b": 2.0}) == {"a": 1.0, "b": -2.0}


@pytest.mark.slow
def test_seed_document_paraphrase_answered_and_near_miss_refused(tmp_path):
    """With the real MiniLM and the shipped model, on the seed document."""
    from rag.engine import Engine
    from rag.testing import FakeLLM
    from conftest import SEED

    settings = Settings(index_dir=tmp_path / "index")
    engine = Engine(settings, inputs=[SEED.parent], llm=FakeLLM(default="10 billion euros"), log=lambda m: None)
    engine.load()
    ans = engine.answer("How much commerce do the two neighbours do each year?")
    assert not ans.refused and ans.answerability >= settings.answerability_threshold
    assert "10 billion euros" in ans.text
    for question in ("How large was trade between Iran and Iraq in 2015?",
                     "What gas export agreement did Iran and Iraq sign at the conference?"):
        ans = engine.answer(question)
        assert ans.refused and ans.answerability < settings.answerability_threshold, question


def test_a_refusal_for_a_reversed_relation_quotes_what_the_documents_hold():
    from rag.answer import partial
    from rag.answer.refusal import REFUSAL_TEXT

    text = "Calvin died in Geneva in 1564. He wrote the Institutes."
    chunk = Chunk("c", "d", text, 0, len(text), "d.txt", "Calvin")
    passages = [Passage(rank=1, score=0.8, chunk=chunk, scores={"dense": 0.6})]
    ranked = ranked_sentences("When was Calvin born?", passages, DEFAULT, "", None)
    f = answer_features.features("When was Calvin born?", passages, ranked, None)
    said, n, span = partial.describe(REFUSAL_TEXT, f, ranked, passages)
    assert said == REFUSAL_TEXT + " What they do say: Calvin died in Geneva in 1564 [1]."
    assert span.text == "Calvin died in Geneva in 1564." and n == 1
    plain = answer_features.features("Who wrote the Institutes?", passages, ranked, None)
    assert partial.describe(REFUSAL_TEXT, plain, ranked, passages) is None
