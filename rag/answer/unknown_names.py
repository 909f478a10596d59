"""Names the documents never mention: "What is the trade volume between Iran and *Turkey*?"

The learned answerability model (trained on SQuAD 2.0, whose unanswerable questions were
written from the passage's own words) gives a name the passages lack little weight. A user's
near-miss is different: it asks about another country, product or person, and the documents
simply don't have it. So after the model, a question is refused when one of its names

* is not in any retrieved passage (as itself or a derived form: "Iran" in "Iranian"), nor
  spelled nearly the same there (``SPELLING``: "Celeron" for "Céloron"), nor an acronym of
  words there ("WWII" for "World War II", "SP" for "Scottish Parliament");
* has no near-synonym among the passages' names (``NEAR_NAME``, MiniLM cosine of the single
  words: "Baghdad"/"Iraqi" 0.83 passes, "Turkey"/"Iran" 0.58 doesn't);
* and a BM25 search of the whole index for the name alone finds no passage that has it
  (the retrieval may have missed a passage that does: then the model's decision stands).

On the SQuAD 2.0 half's *training* articles it names 8 of 1,803 answerable questions (5 the
model had not refused) and 32 of 1,678 unanswerable ones (9): about neutral there, where the
near-misses reuse the passage's names. It is for the other kind: README "How refusal is decided"."""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..errors import RagError
from ..models import Passage
from ..text import content_words, words
from .features import NAME_PREFIX, _named

SPELLING = 0.8
"""difflib ratio at or above which a passage word is the name misspelt ("Dusquesne" 0.94)."""
NEAR_NAME = 0.75
"""MiniLM cosine at or above which a passage's name stands for the asked one."""
DEMONYM = frozenset("n an ian i ese ish ic men".split())
"""What may follow a place's name in the question's word when a shorter passage word names it
("Iran" names "Iranian"; "euro" does not name "European"). A longer one names it as in
:func:`.features._named` ("Iraqi" names "Iraq")."""
LOOKUPS = 3
"""Passages the whole-index BM25 search for a name looks at."""
_WORD = r"[A-Z][A-Za-z0-9]*(?:[.'][A-Za-z0-9]+)*"
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b" + _WORD)
_CAPITALISED = re.compile(r"\b" + _WORD)
_NAME_RUN = re.compile(_WORD + r"(?:\s+" + _WORD + ")*")
ABOUT_DOCUMENTS = frozenset("pdf html doc docx readme faq manual document chapter section table figure "
                            "appendix page file text".split())
"""Capitalised words that speak of the documents themselves ("What does the PDF say about ...?"),
not of something in them."""
_ROMAN = re.compile(r"^(?:I{1,3}|IV|VI{0,3}|IX|X)$")
_JOINERS = frozenset({"of", "the", "and", "for", "de", "du", "la", "von"})
_RUN = re.compile(r"[A-Z][A-Za-z0-9]*(?:\s+(?:(?:of|the|and|for|de|du|la|von)\s+)?[A-Z][A-Za-z0-9]*)+")


def ascii_fold(text: str) -> str:
    """``text`` without accents ("Kraków" -> "Krakow"), so spellings with and without match."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def question_names(question: str) -> list[str]:
    """Capitalised words of the question that are not its first word, as written (folded)."""
    found = [m for m in _NAME.findall(ascii_fold(question))
             if content_words(m) and m.lower().removesuffix("'s") not in ABOUT_DOCUMENTS]
    return list(dict.fromkeys(found))


def _acronyms(text: str) -> set[str]:
    """Initials of runs of capitalised words ("World War II" -> "wwii", "Scottish Parliament"
    -> "sp", "Bank of England" -> "be"), of every stretch of two or more of them; a Roman
    numeral at the end is kept whole."""
    out = set()
    for run in _RUN.findall(text):
        toks = [t for t in run.split() if t not in _JOINERS]
        for i in range(len(toks)):
            for j in range(i + 2, len(toks) + 1):
                span = toks[i:j]
                tail = span[-1] if _ROMAN.match(span[-1]) else ""
                out.add(("".join(w[0] for w in (span[:-1] if tail else span)) + tail).lower())
    return out


@lru_cache(maxsize=64)
def _vocabulary(texts: tuple[str, ...]) -> tuple[frozenset, frozenset, frozenset, tuple[str, ...]]:
    """(stems, words, acronyms, capitalised words in lower case) of ``texts``, accents folded."""
    folded = [ascii_fold(t) for t in texts]
    return (frozenset(s for t in folded for s in content_words(t)),
            frozenset(w for t in folded for w in words(t) if len(w) > 2),
            frozenset(a for t in folded for a in _acronyms(t)),
            tuple(dict.fromkeys(m.lower() for t in folded for m in _CAPITALISED.findall(t))))


def _mentions(name: str, texts: Sequence[str]) -> bool:
    """Whether ``texts`` name ``name``: its stem (or a derived form), a near spelling, or an
    acronym of their words."""
    stems, vocab, acronyms, _ = _vocabulary(tuple(texts))
    stem = content_words(name)[0]
    if _named(stem, stems) or any(len(s) >= NAME_PREFIX and stem.startswith(s) and stem[len(s):] in DEMONYM
                                  for s in stems):
        return True
    base = name.removesuffix("'s")
    lower = base.lower()
    if base.replace(".", "").isalnum() and base.isupper() and lower.replace(".", "") in acronyms:
        return True  # "WWII", "U.S."
    return any(difflib.SequenceMatcher(None, lower, w).ratio() >= SPELLING for w in vocab)


def _near_name(name: str, texts: Sequence[str], embedder) -> bool:
    names = list(_vocabulary(tuple(texts))[3])
    if embedder is None or not names:
        return False
    vecs = np.asarray(embedder.embed_batch(names + [name]))
    return float((vecs[:-1] @ vecs[-1]).max()) >= NEAR_NAME


def unknown_names(question: str, passages: Sequence[Passage], searcher=None, embedder=None) -> list[str]:
    """The question's names that neither the retrieved passages nor the index mention (in the
    question's order). ``searcher`` (a :class:`rag.retrieve.Searcher`) looks a name up in the
    whole index; without one only the passages are checked."""
    texts = [p.chunk.title + " " + p.chunk.text for p in passages]
    out = []
    for name in question_names(question):
        if _mentions(name, texts) or _near_name(name, texts, embedder):
            continue
        if searcher is not None:
            try:
                hits = searcher.search(name, k=LOOKUPS, mode="bm25")
            except RagError:  # a lookup that fails is no evidence of absence
                continue
            if hits and _mentions(name, [p.chunk.title + " " + p.chunk.text for p in hits]):
                continue
        out.append(name)
    return out


def refusal_note(question: str, names: Sequence[str]) -> str:
    """" They don't mention Saudi Arabia.": each run of capitalised words of the question that
    holds an unknown name, as the question wrote it."""
    runs = _NAME_RUN.findall(ascii_fold(question))
    shown = [r.removesuffix("'s") for r in dict.fromkeys(runs) if any(n in r.split() for n in names)]
    shown = shown or [n.removesuffix("'s") for n in names]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
    return f" They don't mention {listed}."
