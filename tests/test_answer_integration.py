"""The real thing: MiniLM embeddings and the embedded llama.cpp server through the openai client."""

from __future__ import annotations

import pytest

from rag.answer.citations import valid_citations
from rag.config import Settings
from rag.engine import Engine

from conftest import SEED

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def engine(seed_docs):
    settings = Settings.from_env({}, seeds_dir=seed_docs, index_dir=seed_docs.parent / "index")
    eng = Engine(settings, inputs=[seed_docs], log=lambda m: None)
    eng.load()
    return eng


def test_answers_a_seed_question_with_a_valid_citation(engine):
    ans = engine.answer("How much trade do Iran and Iraq do in a year?")
    assert ans.error is None and not ans.refused, ans.text
    assert "10 billion euros" in ans.text
    assert ans.citations and valid_citations(ans.text, [p.chunk.text for p in ans.passages])
    doc = SEED.read_text()
    for c in ans.citations:
        assert doc[c.sentence_start:c.sentence_end] == c.sentence
    assert engine.llm.description.startswith("embedded")


def test_follow_up_with_history(engine):
    history = [{"role": "user", "content": "Who visited Tehran?"},
               {"role": "assistant", "content": "Abdul Latif Jamil Rashid [1]."}]
    ans = engine.answer("How long did his visit last?", history=history)
    assert not ans.refused and "one-day" in ans.text


def test_refuses_what_the_document_does_not_hold(engine):
    ans = engine.answer("Who won Super Bowl 50?")
    assert ans.refused and ans.citations == [] and ans.passages
