"""BM25 over chunks (bm25s), with English stop words and Snowball stemming."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import numpy as np

_TOKEN = re.compile(r"(?u)\b\w\w+\b|\b\d\b")
_MISSING = object()
_CACHE_MAX = 200_000
"""Words whose stem (or stop-word verdict) a tokenizer remembers: ~30 MB at most (500,000
random words measured 77 MB); squad-dev-half-a has 15,286 distinct words. PyStemmer's
own cache holds 10,000 words, fewer than a corpus's vocabulary, so it kept missing."""


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


class Tokenizer:
    """Lower-case word tokens, stop words dropped, stemmed. Same for chunks and queries."""

    def __init__(self):
        self._stem = _stemmer().stemWord
        self._stop = _stopwords()
        self._cache: dict[str, str | None] = {}  # word -> stem, None for a stop word

    def __call__(self, text: str) -> list[str]:
        # Each distinct word is stemmed once: on 100,000 chunks this made BM25's build 2.6x
        # faster (stemming every occurrence was 2/3 of it).
        cache = self._cache
        out = []
        for word in _TOKEN.findall(text.lower()):
            stem = cache.get(word, _MISSING)
            if stem is _MISSING:
                if len(cache) >= _CACHE_MAX:
                    cache.clear()
                stem = cache[word] = None if word in self._stop else self._stem(word)
            if stem is not None:
                out.append(stem)
        return out


class BM25Index:
    def __init__(self, model, tokenizer: Tokenizer | None = None):
        self._model = model
        self.tokenizer = tokenizer or Tokenizer()

    @classmethod
    def build(cls, texts: Sequence[str]) -> "BM25Index":
        import bm25s

        tokenizer = Tokenizer()
        tokens = [tokenizer(t) or ["\x00empty"] for t in texts]
        model = bm25s.BM25(k1=1.2, b=0.75)
        if texts:
            model.index(tokens, show_progress=False)
        return cls(model, tokenizer)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros when no query term is known)."""
        terms = [t for t in self.tokenizer(query) if t in self._model.vocab_dict]
        if not terms:
            return np.zeros(self.size, dtype=np.float32)
        return self._model.get_scores(terms)

    @property
    def size(self) -> int:
        return int(self._model.scores["num_docs"]) if getattr(self._model, "scores", None) else 0

    def save(self, directory: Path) -> None:
        self._model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> "BM25Index":
        import bm25s

        return cls(bm25s.BM25.load(str(directory), mmap=False, load_corpus=False))


def describe() -> str:
    return json.dumps({"library": "bm25s", "k1": 1.2, "b": 0.75, "stemmer": "snowball-english",
                       "stopwords": "bm25s-en"})
