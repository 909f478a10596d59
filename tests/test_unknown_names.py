"""Names the documents never mention: known pairs for each way a name counts as mentioned,
the whole-index lookup, the refusal's wording, and the pipeline refusing before the model."""

from __future__ import annotations

import numpy as np
import pytest

from rag import answer as qa
from rag.answer.refusal import REFUSAL_TEXT
from rag.answer.unknown_names import question_names, refusal_note, unknown_names
from rag.config import Settings
from rag.models import Chunk, Passage
from rag.testing import FakeLLM

TRADE = "Raisi said the trade volume between Iran and Iraq amounts to more than 10 billion euros."


def passage(text, title="Doc", rank=1):
    return Passage(rank=rank, score=0.8, chunk=Chunk(f"c{rank}", "d", text, 0, len(text), "d.txt", title),
                   scores={"dense": 0.6})


class Searcher:
    """The whole index as a list of texts; a BM25 lookup returns those sharing a word."""

    def __init__(self, *texts):
        self.texts, self.calls = texts, []

    def search(self, query, k=None, mode=None):
        self.calls.append((query, mode))
        hits = [t for t in self.texts if query.lower() in t.lower()]
        return [passage(t, rank=i) for i, t in enumerate(hits[:k], start=1)]


class NameEmbedder:
    """Each word its own direction, except the pairs in SAME, which share one."""

    SAME = {"baghdad": "iraqi"}

    def __init__(self):
        self.axes = {}

    def embed_batch(self, texts):
        out = np.zeros((len(texts), 32), dtype=np.float32)
        for i, t in enumerate(texts):
            word = self.SAME.get(t.lower(), t.lower())
            out[i, self.axes.setdefault(word, len(self.axes) % 32)] = 1.0
        return out


def test_the_question_s_names_skip_its_first_word_and_fold_accents():
    assert question_names("What did Raisi say about Saudi Arabia?") == ["Raisi", "Saudi", "Arabia"]
    assert question_names("Who moved his court to Kraków in 1596?") == ["Krakow"]
    assert question_names("Which ITU-T recommendation specifies ASN.1?") == ["ITU", "ASN.1"]  # one letter is no name
    assert question_names("What does the PDF say in its FAQ about Python?") == ["Python"]  # the documents themselves


def test_another_country_is_unknown_and_the_asked_ones_are_not():
    searcher = Searcher(TRADE)
    assert unknown_names("What is the trade volume between Iran and Turkey?", [passage(TRADE)], searcher) == ["Turkey"]
    assert ("Turkey", "bm25") in searcher.calls
    assert unknown_names("What is the trade volume between Iran and Iraq?", [passage(TRADE)], searcher) == []


@pytest.mark.parametrize("question, text", [
    ("What did the Iranian president say?", "Iran's president spoke."),          # derived form, reversed
    ("What did Iran's president say?", "The Iranian president spoke."),           # derived form
    ("Who went to Fort Dusquesne in 1755?", "Braddock marched on Fort Duquesne."),  # a misspelling
    ("Who moved his court to Krakow?", "The king moved his court from Kraków."),   # accents
    ("What campaign began after WWII?", "After World War II the regime began a campaign."),  # acronym
    ("What are the SP's standing orders?", "The Scottish Parliament has standing orders."),
    ("When did the U.S. join?", "The United States joined in 1917."),
])
def test_a_name_counts_in_its_other_spellings(question, text):
    assert unknown_names(question, [passage(text)], Searcher(text)) == []


def test_a_shorter_word_names_a_longer_one_only_through_a_demonym_ending():
    text = "The trade volume amounts to more than 10 billion euros."
    assert unknown_names("What did Raisi say about European countries?", [passage(text)], Searcher(text)) == \
        ["Raisi", "European"]


def test_an_acronym_must_match_its_numeral():
    text = "After World War II the regime began a campaign."
    assert unknown_names("What campaign began after WWI?", [passage(text)], Searcher(text)) == ["WWI"]


def test_a_near_synonym_among_the_passages_names_counts():
    text = "The Iraqi prime minister was the guest of Raisi in Tehran."
    question = "Which head of state from Baghdad was the guest in Tehran?"
    assert unknown_names(question, [passage(text)], Searcher(text), NameEmbedder()) == []
    assert unknown_names(question, [passage(text)], Searcher(text)) == ["Baghdad"]  # no embedder: no synonyms


def test_a_name_elsewhere_in_the_index_leaves_the_decision_to_the_model():
    """The retrieval missed the passage that names it; that is not evidence it is absent."""
    other = "Turkey and Iran signed a gas agreement."
    assert unknown_names("What is the trade between Iran and Turkey?", [passage(TRADE)], Searcher(TRADE, other)) == []


def test_the_refusal_names_what_the_documents_lack_as_the_question_wrote_it():
    assert refusal_note("What did Raisi say about Saudi Arabia?", ["Saudi", "Arabia"]) == \
        " They don't mention Saudi Arabia."
    assert refusal_note("What is Turkey's trade with Iran and China?", ["Turkey's", "China"]) == \
        " They don't mention Turkey or China."
    assert refusal_note("Who won Super Bowl 50?", ["Super", "Bowl"]) == " They don't mention Super Bowl."


@pytest.fixture()
def engine_env(tmp_path):
    from rag.index.indexing import index_paths
    from rag.retrieve import Retriever
    from rag.testing import HashEmbedder

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "trade.txt").write_text(TRADE + " Both countries seek to step it up.\n")
    settings = Settings(index_dir=tmp_path / "index", k=3, refusal_threshold=0.0, answerability_threshold=0.0)
    embedder = HashEmbedder()
    data, _ = index_paths([docs], settings, embedder, log=lambda m: None)
    return settings, Retriever(data, embedder, settings)


def test_the_pipeline_refuses_an_unknown_name_before_asking_the_model(engine_env):
    settings, retriever = engine_env
    llm = FakeLLM(default=" 10 billion euros")
    ans = qa.answer("What is the annual trade volume between Iran and Turkey?", retriever=retriever,
                    llm=llm, settings=settings)
    assert ans.refused and ans.text == REFUSAL_TEXT + " They don't mention Turkey."
    assert not llm.calls and not ans.citations
    ans = qa.answer("What is the annual trade volume between Iran and Iraq?", retriever=retriever,
                    llm=llm, settings=settings)
    assert not ans.refused and "10 billion euros" in ans.text


def test_the_rule_is_a_setting(engine_env):
    settings, retriever = engine_env
    ans = qa.answer("What is the annual trade volume between Iran and Turkey?", retriever=retriever,
                    llm=FakeLLM(default=" 10 billion euros"), settings=settings.replace(refuse_unknown_names=False))
    assert not ans.refused
    assert Settings.from_env({"RAG_REFUSE_UNKNOWN_NAMES": "0"}).refuse_unknown_names is False


def test_a_failed_index_lookup_refuses_nothing():
    from rag.errors import InputError

    class Broken(Searcher):
        def search(self, query, k=None, mode=None):
            raise InputError("retrieval mode must be one of hybrid, dense")

    assert unknown_names("What is the trade between Iran and Turkey?", [passage(TRADE)], Broken()) == []
