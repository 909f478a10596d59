"""Retrieval: hybrid, dense and BM25 modes with the fake embedder; the real model on a small corpus.

Each test that takes ``retriever`` (or ``backend``) runs on both stores: the file index and a
real PostgreSQL (tests/pg_fixtures.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.testing import HashEmbedder
from rag.errors import InputError
from rag.index.indexing import index_paths
from rag.retrieve import Retriever
from conftest import write_corpus

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def retriever(docs_dir, store_settings):
    embedder = HashEmbedder()
    data, _ = index_paths([docs_dir], store_settings, embedder, log=lambda m: None)
    return Retriever(data, embedder, store_settings)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_each_mode_finds_the_right_document(retriever, mode):
    passages = retriever.search("Colosseum amphitheatre Rome", k=3, mode=mode)
    assert passages[0].chunk.doc_id == "rome.txt"
    assert [p.rank for p in passages] == list(range(1, len(passages) + 1))
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    for p in passages:
        assert set(p.scores) == {"dense", "bm25", "fused"} and p.scores["fused"] == p.score


def test_scores_are_what_each_mode_says(retriever):
    q = "capital of Germany"
    qvec = retriever.embedder.embed_query(q)
    for p in retriever.search(q, k=5, mode="dense"):
        chunks, vectors = retriever.data.document_chunks(p.chunk.doc_id)
        row = [c.chunk_id for c in chunks].index(p.chunk.chunk_id)
        assert p.score == pytest.approx(float(np.asarray(vectors[row]) @ qvec), abs=1e-5)
    bm25 = retriever.search(q, k=5, mode="bm25")
    assert bm25[0].chunk.doc_id == "berlin.md" and all(p.score == p.scores["bm25"] > 0 for p in bm25)
    hybrid = retriever.search(q, k=5, mode="hybrid")
    best = max(p.scores["bm25"] for p in hybrid)
    for p in hybrid:
        assert p.score == pytest.approx(0.65 * p.scores["dense"] + 0.35 * p.scores["bm25"] / best, abs=1e-5)


def test_k_is_respected_and_defaults_to_settings(retriever):
    n = retriever.data.chunk_count
    assert len(retriever.search("capital", k=1)) == 1
    assert len(retriever.search("capital", k=2)) == 2
    assert len(retriever.search("capital", k=50)) == n
    assert len(retriever.search("capital")) == min(retriever.settings.k, n)


def test_bm25_mode_returns_nothing_for_unknown_words(retriever):
    assert retriever.search("zzzqqq xxyyzz", mode="bm25") == []
    assert len(retriever.search("zzzqqq xxyyzz", mode="dense", k=2)) == 2


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_an_input_error(retriever, query):
    with pytest.raises(InputError, match="empty"):
        retriever.search(query)


def test_unknown_mode_is_an_input_error(retriever):
    with pytest.raises(InputError, match="mode"):
        retriever.search("capital", mode="magic")


def test_rrf_fusion_is_selectable(retriever):
    passages = Retriever(retriever.data, retriever.embedder,
                         retriever.settings.replace(fusion="rrf")).search("Brandenburg Gate", k=3)
    assert passages[0].chunk.doc_id == "berlin.md" and passages[0].score < 1 / 60 * 1.01


REAL_CORPUS = {
    "volcanoes.txt": "Volcanoes form where magma from the Earth's mantle reaches the surface. "
                     "Mount Etna in Sicily is one of the most active volcanoes in Europe.\n\n"
                     "Lava flows can destroy roads and buildings, but volcanic soil is very fertile.",
    "bees.txt": "Honey bees live in colonies ruled by a single queen. Worker bees collect nectar "
                "and pollen from flowers and turn the nectar into honey.\n\n"
                "Bees communicate the direction of food with a waggle dance.",
    "trains.md": "# High-speed rail\n\nThe Shinkansen in Japan opened in 1964 and runs at up to 320 km/h. "
                 "France's TGV set a rail speed record of 574.8 km/h in 2007.",
    "bread.txt": "Sourdough bread rises thanks to wild yeast and lactic acid bacteria in a starter. "
                 "A long fermentation gives the crumb its sour taste.",
}


@pytest.mark.slow
def test_real_model_retrieves_the_right_passage(tmp_path, backend, request):
    from rag.index import build_embedder

    settings = Settings(index_dir=tmp_path / "idx", chunk_words=30)
    if backend == "postgres":
        from pg_fixtures import new_database

        settings = settings.replace(store_url=new_database(request.getfixturevalue("pg_server")))
    embedder = build_embedder(settings)
    data, _ = index_paths([write_corpus(tmp_path / "docs", REAL_CORPUS)], settings, embedder, log=lambda m: None)
    vectors = np.concatenate([data.document_chunks(d)[1] for d in data.documents])
    assert vectors.shape[1] == 384
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    retriever = Retriever(data, embedder, settings)
    cases = {
        "How do bees tell each other where food is?": "waggle dance",  # paraphrase: dense must carry it
        "Which insects make honey from flower nectar?": "nectar into honey",
        "What is the fastest speed a French train has reached?": "574.8",
        "Which European mountain erupts most often?": "Mount Etna",
        "Why does sourdough taste sour?": "sour taste",
    }
    for mode in ("hybrid", "dense"):
        for question, needle in cases.items():
            top = retriever.search(question, k=3, mode=mode)[0]
            assert needle in top.chunk.text, (mode, question, top.chunk.text)


@pytest.mark.slow
def test_seed_question_puts_the_trade_volume_passage_first(tmp_path):
    idx = str(tmp_path / "idx")
    run = dict(capture_output=True, text=True, cwd=ROOT, timeout=600)
    built = subprocess.run([sys.executable, "-m", "rag", "index", "seeds", "--index-dir", idx], **run)
    assert built.returncode == 0, built.stderr
    proc = subprocess.run([sys.executable, "-m", "rag", "search",
                           "How large is the trade volume between Iran and Iraq?", "--json", "--index-dir", idx], **run)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert "10 billion euros" in results[0]["text"]
