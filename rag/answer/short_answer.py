"""The short answer: a span of at most ten words copied from the evidence sentence.

What answers a question is what the sentence says besides the question's own words. So the
sentence is cut into runs of words the question doesn't contain (broken at commas,
semicolons, brackets and a few joining words), and the run is chosen by

* the answer type (:mod:`rag.answer_type`): a number for "how many", a date for "when";
  a name (capitalised words) for "who" and "where";
* closeness to the question's words in the sentence (the answer sits next to what is asked);
* length: one to four words read as an answer, long runs as a clause;
* what it means next to the question (:mod:`.span_meaning`). The model's verified short
answer wins when the chosen sentence holds it. Every span returned is copied from the sentence.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

from . import answer_type, span_meaning
from . import citations as cit
from .span_edges import EDGE, edge as _edge, trim_number as _trim_number
from .span_text import balanced, copied, whole_name  # noqa: F401  (re-exported)

MAX_WORDS = 10
_TOKEN = re.compile(r"[A-Za-z0-9$€£%][\w$€£%'’.,-]*[\w%$€£]|[A-Za-z0-9$€£%]|[,;:()\"“”–—]")
_BREAK = frozenset(",;:()\"“”–—")
_JOIN = frozenset("but which who that while whereas because although when where".split())
"""Words a span breaks at ("and"/"or" join lists, which answers often are: "energy and water")."""
_WHO = re.compile(r"^\s*(who|whom|whose)\b|\b(what|which) (person|man|woman|group|company|team|president|"
                  r"leader|head|king|queen|minister|author|writer|scientist|player|official|ruler)\b", re.I)
_WHERE = re.compile(r"^\s*where\b|\bwhat (city|country|place|state|region|town)\b|\bin what\b", re.I)


def _tokens(text: str) -> list[re.Match]:
    return list(_TOKEN.finditer(text))


def _runs(sentence: str, query: str) -> list[tuple[int, int, float]]:
    """(first token, last token + 1, distance to the nearest question word) runs."""
    q = set(cit.content_words(query)) | {w.lower() for w in cit.words(query)}
    toks = _tokens(sentence)
    stems = [cit.content_words(t.group(0)) for t in toks]
    is_q = [bool(s and s[0] in q) or t.group(0).lower() in q and t.group(0).lower() not in EDGE
            for t, s in zip(toks, stems)]
    q_pos = [i for i, f in enumerate(is_q) if f]
    runs, start = [], None
    for i, t in enumerate(toks + [None]):
        stop = t is None or is_q[i] or t.group(0) in _BREAK or t.group(0).lower() in _JOIN
        if stop and start is not None:
            a, b = start, i
            while a < b and _edge(toks[a].group(0)):
                a += 1
            while b > a and _edge(toks[b - 1].group(0)):
                b -= 1
            if a < b:
                dist = min((min(abs(p - a), abs(p - (b - 1))) for p in q_pos), default=len(toks))
                runs.append((a, b, float(dist)))
            start = None
        elif not stop and start is None:
            start = i
    return runs


_PERCENT_Q = re.compile(r"\bpercent(age)?\b|\bproportion\b", re.I)


def _typed(kind: str | None, query: str, text: str) -> float:
    if kind == answer_type.NUMBER and _PERCENT_Q.search(query) and answer_type.can_hold(kind, text, query):
        return 2.0 if "%" in text or "percent" in text.lower() else 0.0  # a count is no share
    if kind in (answer_type.NUMBER, answer_type.DATE):
        return 2.0 if answer_type.can_hold(kind, text, query) else -1.0
    if _WHO.search(query) or _WHERE.search(query):
        return 1.0 if re.search(r"\b[A-Z][a-z]", text) else -0.5
    return 0.0


def _cut(words: list[str]) -> list[str]:
    """At most ``MAX_WORDS`` words; a run cut short doesn't end on a word that leads into the cut
    one ("the interests of the region's" for "... of the region's people")."""
    if len(words) <= MAX_WORDS:
        return words
    words = words[:MAX_WORDS]
    while len(words) > 1 and (_edge(words[-1]) or words[-1].lower().endswith(("'s", "’s", "s'"))
                              or words[-1] in _BREAK):
        words = words[:-1]
    return words


SPAN_FEATURES = ("typed", "dist", "words", "long", "digit", "capital", "capital_share", "after",
                 "first", "last", "who_capital", "where_capital", "what_capital", "which_capital",
                 "what_digit", "density", "single_lower") + span_meaning.NAMES
SPAN_MODEL = Path(__file__).resolve().parent / "data" / "short_answer.json"


def candidates(query: str, sentence: str, embedder=None) -> list[tuple[list[str], dict[str, float]]]:
    """Every candidate span of ``sentence`` (as its words) with its features (``embedder``: MiniLM)."""
    toks = _tokens(sentence)
    kind = answer_type.expected(query)
    runs = _runs(sentence, query)
    q = set(cit.content_words(query))
    first_q = next((i for i, t in enumerate(toks) if set(cit.content_words(t.group(0))) & q), len(toks))
    wh = query.strip().lower().split()[0] if query.strip() else ""
    out = []
    for i, (a, b, dist) in enumerate(runs):
        a, b = whole_name(toks, a, b)
        words = [t.group(0) for t in toks[a:b]]
        text = " ".join(words)
        if not cit.content_words(text) and not cit.numbers(text):
            continue
        words = _cut(_trim_number(kind, words))
        caps = sum(1 for w in words if w[:1].isupper())
        digit = float(any(c.isdigit() for c in text))
        cap = float(caps > 0)
        out.append((words, {
            "typed": _typed(kind, query, " ".join(words)), "dist": min(dist, 6.0), "words": float(len(words)),
            "long": float(max(0, len(words) - 4)), "digit": digit, "capital": cap,
            "capital_share": caps / len(words), "after": float(a > first_q), "first": float(i == 0),
            "last": float(i == len(runs) - 1), "who_capital": cap * (wh in ("who", "whom", "whose")),
            "where_capital": cap * (wh == "where"), "what_capital": cap * (wh == "what"),
            "which_capital": cap * (wh == "which"), "what_digit": digit * (wh in ("what", "which")),
            "density": len(cit.content_words(" ".join(words))) / len(words),
            "single_lower": float(len(words) == 1 and words[0].islower())}))
    meanings = span_meaning.features(query, [" ".join(w) for w, _ in out], embedder)
    for (_, feats), meaning in zip(out, meanings):
        feats.update(meaning)
    return out


@lru_cache(maxsize=1)
def _weights() -> dict[str, float] | None:
    try:
        return json.loads(SPAN_MODEL.read_text(encoding="utf-8"))["weights"]
    except (OSError, ValueError, KeyError):
        return None


def span_score(feats: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """The learned linear score (scripts/train_answerability.py), or a hand rule without it."""
    weights = weights if weights is not None else _weights()
    if weights:
        return sum(weights.get(n, 0.0) * v for n, v in feats.items())
    return feats["typed"] - 0.35 * feats["dist"] - 0.15 * feats["long"]


def ranked(query: str, sentence: str, embedder=None) -> list[tuple[str, float]]:
    """The candidate spans of ``sentence`` as it writes them, best first, each with its share of
    the answer's probability (a softmax of the span scores over the sentence's candidates):
    where else in the sentence the answer may be, when the best span is wrong."""
    cands = candidates(query, sentence, embedder)
    if not cands:
        return []
    scores = [span_score(feats) for _, feats in cands]
    top = max(scores)
    odds = [math.exp(s - top) for s in scores]
    total = sum(odds)
    out = [(balanced((copied(" ".join(words), sentence) or " ".join(words)).strip(" .,;:")), o / total)
           for (words, _), o in zip(cands, odds)]
    return sorted(out, key=lambda x: -x[1])


def extract(query: str, sentence: str, embedder=None, spans: list[tuple[str, float]] | None = None) -> str | None:
    """The best answer span of ``sentence`` for ``query`` (≤ ``MAX_WORDS`` words), or None. For
    a how-many, what-year or who question, the best of the kind it asks for (:func:`fits_type`),
    or None: "harms the security" is no answer to "How many troops ...?", whatever else the
    sentence says. ``spans``: :func:`ranked` of the
    same sentence, when the caller has it already."""
    spans = ranked(query, sentence, embedder) if spans is None else spans
    strict = _STRICT.search(" ".join(query.split()[:HEAD_WORDS])) or _WHO.search(query)
    span = next((s for s, _ in spans if s and (not strict or fits_type(s, query))), "")
    return span if span and len(span.split()) <= MAX_WORDS else None


_STRICT = re.compile(r"\bhow many\b|\b(what|which) year\b", re.I)
"""Questions whose kind a span must have (:func:`extract`): a count, a year. Other "when" and
"how long" answers are often no date or number ("After liberation", "less than a year": on
500 SQuAD 1.1 questions, holding those to their kind lost short F1 0.5096 -> 0.5033)."""


_NAMING = re.compile(r"^(?:.*?\b)?(?:known as|called|named|nicknamed|referred to as|termed)\s+(?=\S)", re.I)
_POSSESSIVE = re.compile(r"(?<=\w)['’]s$")


def tidy(span: str, query: str, sentence: str) -> str:
    """The answer in ``span`` without what only leads up to it: the words before "known as" /
    "called" ("collectively known as the Koori" -> "the Koori"), the words around a number or
    date a how-many/when question asks for ("Omeo on 13 June 1965" -> "13 June 1965"), a
    possessive ending ("2008's") and a bracket it doesn't close; as ``sentence`` writes it."""
    text = balanced(span)
    named = _NAMING.sub("", text)
    if named != text and cit.content_words(named) and not set(cit.content_words(named)) <= set(cit.content_words(query)):
        text = named
    kind = answer_type.expected(" ".join(query.split()[:HEAD_WORDS]))
    toks = text.split()
    if kind is not None and len(toks) > 3:
        text = " ".join(_trim_number(kind, toks))
    text = _POSSESSIVE.sub("", text).strip(" .,;:")
    return balanced(copied(text, sentence) or text) if text else span


def useful(model_short: str, query: str) -> bool:
    """Does the model's short answer say something the question doesn't (not just echo it)?"""
    words = set(cit.content_words(model_short)) | cit.numbers(model_short)
    return bool(words - set(cit.content_words(query)))


HEAD_WORDS = 6
"""Words at the start of a question where its asked kind is read (:func:`fits_type`)."""


def fits_type(model_short: str, query: str) -> bool:
    """Is the model's short answer of the kind the question asks for? A number for "how many",
    a date for "when" (:mod:`rag.answer.answer_type`), and for "who" something besides
    numbers ("August 1999" is no answer to "Who hosted ...?"). The kind is read from the
    question's first words: "when" later on starts a clause ("What did he advise when unable
    to ...?")."""
    kind = answer_type.expected(" ".join(query.split()[:HEAD_WORDS]))
    if kind is not None:
        return answer_type.can_hold(kind, model_short, query)
    if _WHO.search(query):
        return not answer_type.can_hold(answer_type.DATE, model_short) and \
            any(re.search("[a-z]", w) and w not in answer_type.CALENDAR for w in cit.words(model_short) if not _edge(w))
    return True


def choose(query: str, sentence: str, model_short: str = "", embedder=None) -> str | None:
    """The model's verified short answer when ``sentence`` holds it, else :func:`extract`."""
    if model_short and len(model_short.split()) <= MAX_WORDS and useful(model_short, query) \
            and fits_type(model_short, query) and cit.contains_answer(sentence, model_short):
        return copied(model_short, sentence) or model_short
    return extract(query, sentence, embedder)
