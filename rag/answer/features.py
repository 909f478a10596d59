"""Answerability features: does the best evidence say what the question asks?

Evidence of topic is not evidence of an answer. A near-miss question ("When was X *born*?"
against a sentence about his death, another country's trade, a year the passage doesn't
have) shares most of its words with the passage. What gives it away is the question word
the passage lacks, the asked relation the sentence reverses, the number or date it doesn't
hold. :func:`features` turns one question and its retrieved passages into a fixed vector of
such signals (names in :data:`NAMES`); :mod:`.answerability` weighs them.

Words are compared stemmed (``rag.text.content_words``). A question word absent from
the evidence window may still be there as a near-synonym ("commerce" for "trade"): each
such word is embedded alone with the index's MiniLM and matched by cosine against the
window's words (:data:`SYNONYM`), so paraphrases keep their score while swapped entities
(which have no near-synonym there) don't.
"""

from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np

from ..models import Passage
from ..text import stemmer, stop_words
from . import answer_type
from . import citations as cit
from .refusal import evidence

SYNONYM = 0.6
"""MiniLM cosine of two single words at or above which they count as near-synonyms
("commerce"/"trade" 0.62, "leader"/"president" 0.64, "born"/"died" 0.53, "Iran"/"Turkey" 0.49)."""
WINDOW = 1
"""Sentences either side of the best one that count as its context."""
NEGATION = frozenset("not never no none nor neither without cannot n't".split())
OPPOSITES = [("born", "die"), ("born", "death"), ("before", "after"), ("first", "last"),
             ("higher", "lower"), (("more", "most"), ("less", "least", "fewer", "fewest")), ("largest", "smallest"),
             ("increas", "decreas"), ("earliest", "latest"), ("maximum", "minimum"),
             (("begin", "began", "begun"), "end"), ("start", "end"), ("north", "south"), ("east", "west"),
             ("win", "lose"), ("won", "lost"), ("import", "export"), ("buy", "sell"),
             ("accept", "reject"), ("earli", "later"), ("major", "minor"), ("high", "low"),
             ("larg", "small"), ("long", "short"), ("rich", "poor"), ("strong", "weak"),
             ("open", "close"), ("ancient", "modern"), ("old", "new"), ("rise", "fall"),
             ("gain", "loss"), ("allow", "ban"), ("support", "oppos"), ("public", "privat"),
             ("male", "femal"), ("best", "worst"), ("success", "fail"), ("enter", "leav"),
             ("upper", "lower"), ("inner", "outer"), ("min", "max"), ("few", ("most", "mani")),
             ("minor", "main"), ("option", ("mandatori", "compulsori", "requir")),
             ("reject", ("enact", "adopt", "approv", "accept")), ("includ", "exclud"),
             ("insid", "outsid"), ("abov", "below"), ("urban", "rural"), ("victori", "defeat"),
             ("birth", "death"), ("past", "futur"), ("posit", "negat"), ("same", "differ"),
             ("domest", "foreign"), ("hot", "cold"), ("wet", "dri")]
PREFIX_NEGATIONS = ("un", "non")
"""A question word that is a sentence word with one of these in front ("Unreserved matters"
against "Reserved matters") asks the opposite of what the sentence says."""
NAME_PREFIX = 4
"""Shortest name stem that also counts when it starts a longer word of the passage."""
AUXILIARY = frozenset({"do"})
"""Not in the stop list of rag.text, but says nothing about the answer."""
_CAPITAL = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][a-zA-Z]+")
NAMES = ("dense_top", "fused_top", "evidence", "sent_cos", "cover_sent", "cover_window",
         "cover_passage", "miss_window", "miss_soft", "soft_cover", "worst_word", "rare_missing",
         "names_missing", "numbers_missing", "type_asked", "type_sentence", "type_window",
         "negation_q", "negation_missing", "opposite", "pairs_sentence", "q_words", "margin",
         "prefix_opposite", "name_phrases_missing", "numbers_missing_window", "ordinal_swap")
NUMBER_WORDS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine ten eleven "
                                                "twelve".split())} | {"once": "1", "twice": "2", "thrice": "3"}
ORDINALS = frozenset("first second third fourth fifth sixth seventh eighth ninth tenth last".split())
_NAME_PHRASE = re.compile(r"(?<![.?!] )(?<!^)\b[A-Z][\w'-]*(?:\s+(?:(?:von|van|de|of|the|la|le|du|der)\s+)?[A-Z][\w'-]*)+")


def _stems(text: str) -> set[str]:
    return set(cit.content_words(text)) - AUXILIARY


def _negated(text: str) -> bool:
    return any(w in NEGATION or w.endswith("n't") for w in cit.words(text.replace("’", "'")))


def _opposite(q: set[str], window: set[str]) -> float:
    """1 when the question asks one side of a relation and the evidence holds only the other.
    A side is a word stem or a family of them ("less"/"least": "least vulnerable" is asked,
    "less vulnerable" is stated, which is the same side)."""
    def has(words: set[str], side) -> bool:
        return any(w.startswith(x) for w in words for x in ((side,) if isinstance(side, str) else side))

    for a, b in OPPOSITES:
        for x, y in ((a, b), (b, a)):
            if has(q, x) and not has(window, x) and has(window, y):
                return 1.0
    return 0.0


def _counts(text: str) -> set[str]:
    """The numbers of ``text``, number words as digits ("three times", "twice": 3, 2)."""
    return cit.numbers(text) | {NUMBER_WORDS[w] for w in cit.words(text) if w in NUMBER_WORDS}


def _prefix_opposite(q: set[str], window: set[str]) -> float:
    """1 when a question word is a window word with a negating prefix, or the reverse, and the
    window lacks the question's own word."""
    for w in q - window:
        for pre in PREFIX_NEGATIONS:
            if w.startswith(pre) and len(w) - len(pre) >= 4 and w[len(pre):] in window:
                return 1.0
            if pre + w in window:
                return 1.0
    return 0.0


def _name_phrases_missing(query: str, passage_text: str) -> float:
    """Multi-word names of the question ("Greater Santa Barbara", "Carl von Hampson") the passage
    doesn't write as one phrase, though it has their words (all of a two-word name, all but one
    of a longer one): the words were swapped. A name it lacks outright is ``names_missing``."""
    flat = " ".join(cit.words(passage_text))
    have = set(cit.words(passage_text))
    missing = 0
    for m in _NAME_PHRASE.finditer(query):
        ws = cit.words(m.group(0))
        if len(ws) >= 2 and " ".join(ws) not in flat and sum(w not in have for w in ws) <= (len(ws) > 2):
            missing += 1
    return float(missing)


def _named(name: str, stems: set[str]) -> bool:
    """Whether the name's stem is in ``stems``, itself or as the start of a longer word: a
    demonym or derived form names the same thing ("Iran" in "Iranian", "Iraq" in "Iraqi",
    "Italy" in "Italian")."""
    return name in stems or (len(name) >= NAME_PREFIX and any(w.startswith(name) for w in stems))


def word_vectors(embedder, words: Sequence[str]) -> dict[str, np.ndarray]:
    words = list(dict.fromkeys(words))
    if not words or embedder is None:
        return {}
    return dict(zip(words, embedder.embed_batch(words)))


def _surface(text: str) -> dict[str, str]:
    """stem -> one surface form of it in ``text`` (for embedding single words)."""
    toks = [w for w in cit.words(text) if w not in stop_words() and w not in AUXILIARY
            and (len(w) > 1 or w.isdigit())]
    return dict(zip(stemmer().stemWords(toks), toks))


def features(query: str, passages: Sequence[Passage], ranked, embedder=None) -> dict[str, float]:
    """Feature name -> value for ``query`` against its passages. ``ranked`` is
    :func:`.ranking.ranked_sentences` (best evidence first); ``embedder`` (the index's, cached)
    gives the sentence cosine and the near-synonym matches (without one both stay 0)."""
    out = dict.fromkeys(NAMES, 0.0)
    q_surface = _surface(query)
    q = set(q_surface)
    out["q_words"] = float(len(q))
    out["evidence"] = evidence(query, passages)
    if passages:
        out["dense_top"] = max(p.scores.get("dense", 0.0) for p in passages[:3])
        out["fused_top"] = passages[0].score
    if not ranked or not q:
        return out
    n, best = ranked[0]
    passage = passages[n - 1]
    sents = cit.sentences(passage.chunk)
    i = next((j for j, s in enumerate(sents) if s.start == best.start), 0)
    window_text = " ".join(s.text for s in sents[max(0, i - WINDOW):i + WINDOW + 1])
    sent, window, whole = _stems(best.text), _stems(window_text), _stems(passage.chunk.title + " " + passage.chunk.text)
    # local IDF over every sentence of the retrieved passages: rare question words weigh more
    pool = [_stems(s.text) for p in passages for s in cit.sentences(p.chunk)]
    idf = {w: math.log(1 + len(pool) / (1 + sum(w in s for s in pool))) for w in q}
    total = sum(idf.values()) or 1.0

    def cover(words: set[str]) -> float:
        return sum(idf[w] for w in q & words) / total

    out["cover_sent"], out["cover_window"], out["cover_passage"] = cover(sent), cover(window), cover(whole)
    if embedder is not None:
        out["sent_cos"] = float(embedder.embed_batch([best.text])[0] @ embedder.embed_query(query))
    missing = q - window
    out["miss_window"] = sum(idf[w] for w in missing) / total
    out["rare_missing"] = max((idf[w] for w in missing), default=0.0) / max(idf.values())
    # near-synonyms for the missing words, from single-word MiniLM vectors
    w_surface = _surface(window_text)
    sims = {w: 1.0 for w in q & window}
    if missing and embedder is not None:
        vecs = word_vectors(embedder, [q_surface[w] for w in missing] + list(w_surface.values()))
        wmat = np.stack([vecs[s] for s in w_surface.values()]) if w_surface else None
        for w in missing:
            sims[w] = float((wmat @ vecs[q_surface[w]]).max()) if wmat is not None else 0.0
    for w in missing:
        sims.setdefault(w, 0.0)
    out["miss_soft"] = sum(idf[w] for w in missing if sims[w] < SYNONYM) / total
    out["soft_cover"] = sum(idf[w] * sims[w] for w in q) / total
    out["worst_word"] = min(sims.values())
    names = {cit.content_words(m)[0] for m in _CAPITAL.findall(query) if cit.content_words(m)}
    out["names_missing"] = float(sum(not _named(n, whole) for n in names))
    out["numbers_missing"] = float(len(cit.numbers(query) - cit.numbers(passage.chunk.title + " " + passage.chunk.text)))
    out["numbers_missing_window"] = float(len(_counts(query) - _counts(window_text)))
    q_ord, w_ord = ORDINALS & set(cit.words(query)), ORDINALS & set(cit.words(window_text))
    out["ordinal_swap"] = float(bool(q_ord - w_ord) and bool(w_ord - q_ord))
    kind = answer_type.expected(query)
    out["type_asked"] = float(kind is not None)
    out["type_sentence"] = float(kind is not None and answer_type.can_hold(kind, best.text))
    out["type_window"] = float(kind is not None and answer_type.can_hold(kind, window_text))
    out["negation_q"] = float(_negated(query))
    out["negation_missing"] = float(_negated(query) and not _negated(window_text))
    out["prefix_opposite"] = _prefix_opposite(q, window)
    out["name_phrases_missing"] = _name_phrases_missing(query, passage.chunk.title + " " + passage.chunk.text)
    out["opposite"] = _opposite(q, window)
    pairs = cit.word_pairs(query)
    out["pairs_sentence"] = len(pairs & cit.word_pairs(best.text)) / len(pairs) if pairs else 0.0
    out["margin"] = best.score - ranked[1][1].score if len(ranked) > 1 else 1.0
    return out
