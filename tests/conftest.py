"""Shared fixtures: a tiny corpus, Settings pointing at a temporary index, the hashing fake embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.embedding import HashEmbedder

CORPUS = {
    "paris.txt": "Paris is the capital of France. The Eiffel Tower stands in Paris.\n\n"
                 "France exports wine and cheese to many countries.",
    "berlin.md": "# Berlin\n\nBerlin is the capital of Germany. The Brandenburg Gate is in Berlin.",
    "rome.txt": "Rome is the capital of Italy. The Colosseum is an ancient amphitheatre in Rome.",
}


def write_corpus(folder: Path, files: dict[str, str] = CORPUS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def docs_dir(tmp_path) -> Path:
    return write_corpus(tmp_path / "docs")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(index_dir=tmp_path / "index", chunk_words=40)


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()
