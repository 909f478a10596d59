"""Train the answerability model (rag/answer/data/answerability.json) and the short-answer span
weights (short_answer.json beside it) from the public SQuAD 2.0 half.

    python scripts/train_answerability.py [--squad2 DIR] [--work DIR] [--out FILE]

1. Index the half's corpus (all of its paragraphs) into ``--work``/index, as ``rag eval
   --corpus`` would, and retrieve every question's top 5 passages there.
2. Compute each question's features (rag.answer.features), cached in ``--work``/features.jsonl.
3. Split by article title (ids of gold paragraphs are ``Title#n``): a title whose SHA-256
   starts with a byte below ``VAL_SHARE * 256`` is validation, the rest is training.
4. Fit a logistic regression on the training articles (label: answerable), pick the
   threshold on out-of-fold training predictions (5 folds grouped by article) where the
   bot's whole decision (the off-topic floor, the model, names the documents never mention)
   refuses ``TARGET_FALSE_REFUSAL`` of the answerable questions, and report the validation
   articles' refusal accuracy and false refusal at that threshold (the whole decision's, and
   the model's alone).

Deterministic: the same data gives the same weights (tests/test_answerability_train.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer import features as answer_features, ranked_sentences  # noqa: E402
from rag.answer.refusal import should_refuse  # noqa: E402
from rag.answer.unknown_names import unknown_names  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.evaluate import load_battery  # noqa: E402

VAL_SHARE = 0.3
TARGET_FALSE_REFUSAL = 0.05
C = 1.0
DEFAULT_SQUAD2 = next((p for p in (ROOT.parent / "shared/benchmarks/squad2-dev-half-a",
                                   Path("/work/shared/benchmarks/squad2-dev-half-a")) if p.exists()),
                      Path("/work/shared/benchmarks/squad2-dev-half-a"))


def title_of(question) -> str:
    return (question.gold[0] if question.gold else question.id).split("#")[0]


def is_validation(title: str) -> bool:
    return hashlib.sha256(title.encode("utf-8")).digest()[0] < int(VAL_SHARE * 256)


def compute_features(questions, index_dir: Path, corpus: Path, cache: Path) -> list[dict]:
    """One row per question: id, title, label, features (cached by question id)."""
    from rag.engine import Engine

    done, lines = {}, 0
    if cache.exists():
        for line in cache.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            done[row["id"]] = row
            lines += 1
    if lines > len(done):  # rows recomputed by an earlier run were appended: keep the last of each
        compact(cache, done.values())
    todo = [q for q in questions if q.id not in done or "unknown_names" not in done[q.id]]
    recomputed = any(q.id in done for q in todo)  # rows of an older cache, without a newer field
    if todo:
        settings = Settings.from_env(index_dir=index_dir, vector_cache_items=200_000)
        engine = Engine(settings, inputs=[corpus], log=lambda m: print(m, file=sys.stderr))
        engine.load()
        retriever = engine.retriever()
        embedder = engine.question_embedder
        embedder.passthrough = 10_000
        with cache.open("a", encoding="utf-8") as out:
            for i, q in enumerate(todo, start=1):
                passages = retriever.search(q.question, k=settings.k)
                ranked = ranked_sentences(q.question, passages, settings.answer, "", embedder)
                feats = answer_features.features(q.question, passages, ranked, embedder)
                row = {"id": q.id, "title": title_of(q), "label": int(not q.expect_refusal), "features": feats,
                       "sentence": ranked[0][1].text if ranked else "",
                       "unknown_names": len(unknown_names(q.question, passages, retriever, embedder))}
                done[q.id] = row
                out.write(json.dumps(row) + "\n")
                if i % 500 == 0:
                    print(f"features: {i}/{len(todo)}", file=sys.stderr)
        if recomputed:
            compact(cache, done.values())
    return [done[q.id] for q in questions]


def compact(cache: Path, rows) -> None:
    """Rewrite ``cache`` with ``rows`` (one per question), replacing it only once written."""
    tmp = cache.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    os.replace(tmp, cache)


def matrix(rows, names=answer_features.NAMES):
    return (np.array([[r["features"][n] for n in names] for r in rows], dtype=np.float64),
            np.array([r["label"] for r in rows]))


def rates(p, y, threshold: float, other=None) -> dict:
    """Refusal accuracy and false refusal when P(answerable) below ``threshold`` refuses, and
    so does ``other`` (the bot's other refusals, :func:`other_refusals`), when given."""
    refused = (p < threshold) | (other if other is not None else False)
    return {"refusal_accuracy": round(float(refused[y == 0].mean()), 4),
            "false_refusal": round(float(refused[y == 1].mean()), 4)}


def other_refusals(rows) -> np.ndarray:
    """The questions the bot refuses whatever the model says: the off-topic floor on retrieval
    evidence (Settings.refusal_threshold) and a name the documents never mention
    (rag.answer.unknown_names, on by default)."""
    floor = Settings().refusal_threshold
    return np.array([should_refuse(r["features"]["evidence"], floor) or r.get("unknown_names", 0) > 0
                     for r in rows])


def pipeline_threshold(oof, y, other, target: float) -> float:
    """The threshold at which the whole decision (``other`` or P(answerable) below it) refuses
    ``target`` of the answerable questions: the 5% budget is the bot's, not the model's alone."""
    answerable = np.sort(oof[(y == 1) & ~other])
    room = int(np.floor(target * int((y == 1).sum()) + 1e-9)) - int(((y == 1) & other).sum())
    if room <= 0:
        return float(answerable[0]) if len(answerable) else 0.0
    return float((answerable[room - 1] + answerable[min(room, len(answerable) - 1)]) / 2)


def curve(p, y, points: int = 41) -> list[dict]:
    """Refusal accuracy against false refusal as the threshold moves over [0, 1]."""
    return [{"threshold": round(t, 3), **rates(p, y, t)} for t in np.linspace(0, 1, points)]


def fit(X, y):
    from sklearn.linear_model import LogisticRegression

    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C, max_iter=2000).fit((X - mean) / scale, y)
    return mean, scale, model.coef_[0], float(model.intercept_[0])


def predict(params, X):
    mean, scale, coef, intercept = params
    return 1 / (1 + np.exp(-(((X - mean) / scale) @ coef + intercept)))


def train(rows) -> dict:
    from sklearn.model_selection import GroupKFold

    train_rows = [r for r in rows if not is_validation(r["title"])]
    val_rows = [r for r in rows if is_validation(r["title"])]
    X, y = matrix(train_rows)
    groups = [r["title"] for r in train_rows]
    oof = np.zeros(len(y))
    for a, b in GroupKFold(n_splits=5).split(X, y, groups):
        oof[b] = predict(fit(X[a], y[a]), X[b])
    other = other_refusals(train_rows)
    threshold = pipeline_threshold(oof, y, other, TARGET_FALSE_REFUSAL)
    params = fit(X, y)
    Xv, yv = matrix(val_rows)
    pv = predict(params, Xv)
    mean, scale, coef, intercept = params
    return {
        "model": "logistic regression over standardised features (scikit-learn, C=%g)" % C,
        "features": list(answer_features.NAMES),
        "mean": [round(float(v), 8) for v in mean], "scale": [round(float(v), 8) for v in scale],
        "coef": [round(float(v), 8) for v in coef], "intercept": round(intercept, 8),
        "threshold": round(threshold, 4),
        "threshold_rule": f"{TARGET_FALSE_REFUSAL:.0%} of answerable training questions refused by the "
                          "whole decision: the off-topic floor, this model (out-of-fold, 5 folds grouped "
                          "by article) and names the documents never mention",
        "split": {"rule": f"sha256(title)[0] < {int(VAL_SHARE * 256)}: validation",
                  "train_articles": len(set(groups)), "validation_articles": len({r["title"] for r in val_rows}),
                  "train_questions": len(train_rows), "validation_questions": len(val_rows)},
        "train_oof": rates(oof, y, threshold, other),
        "validation": rates(pv, yv, threshold, other_refusals(val_rows)),
        "model_only": {"train_oof": rates(oof, y, threshold), "validation": rates(pv, yv, threshold)},
        "validation_curve": curve(pv, yv),
    }


def train_spans(rows, questions, embedder=None) -> dict:
    """Weights of the short-answer span scorer (rag.answer.short_answer.span_score): a logistic
    regression on the candidate spans of the training articles' answerable questions'
    evidence sentences, label: SQuAD F1 against a reference >= 0.5. ``embedder`` (the index's
    MiniLM) gives the spans' meaning features (rag.answer.span_meaning)."""
    from sklearn.linear_model import LogisticRegression

    from rag.answer import short_answer
    from rag.evaluate import metrics

    by_id = {q.id: q for q in questions}
    X, y, groups, val = [], [], [], []
    for r in rows:
        q = by_id[r["id"]]
        if not r["label"] or not r.get("sentence"):
            continue
        cands = short_answer.candidates(q.question, r["sentence"], embedder)
        if is_validation(r["title"]):
            val.append((q, cands))
            continue
        for words, feats in cands:
            X.append([feats[n] for n in short_answer.SPAN_FEATURES])
            y.append(int(metrics.best_f1(" ".join(words), q.answers) >= 0.5))
    model = LogisticRegression(C=1.0, max_iter=2000).fit(np.array(X), np.array(y))
    weights = {n: round(float(c), 6) for n, c in zip(short_answer.SPAN_FEATURES, model.coef_[0])}
    f1s = [metrics.short_f1(" ".join(max(c, key=lambda x: short_answer.span_score(x[1], weights))[0]), q.answers)
           if c else 0.0 for q, c in val]
    return {"model": "logistic regression over span features (scikit-learn, C=1)", "weights": weights,
            "validation_short_f1_best_sentence": round(float(np.mean(f1s)), 4)}


def span_embedder():
    from rag.index import build_embedder

    return build_embedder(Settings())


def write_validation(battery_path: Path, out: Path) -> int:
    """Copy the questions of ``battery_path`` whose article is a validation article to ``out``
    (the battery the README's figures are measured on); returns how many."""
    lines = [line for line in battery_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    keep = [line for line in lines if is_validation(
        (json.loads(line).get("gold") or [json.loads(line)["id"]])[0].split("#")[0])]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(line + "\n" for line in keep), encoding="utf-8")
    return len(keep)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--squad2", type=Path, default=DEFAULT_SQUAD2)
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "answerability")
    ap.add_argument("--index-dir", type=Path, default=None, help="default: WORK/index")
    ap.add_argument("--out", type=Path, default=ROOT / "rag" / "answer" / "data" / "answerability.json")
    ap.add_argument("--validation-battery", nargs=2, type=Path, metavar=("BATTERY", "OUT"),
                    help="only write BATTERY's validation-article questions to OUT, and stop")
    args = ap.parse_args(argv)
    if args.validation_battery:
        n = write_validation(*args.validation_battery)
        print(f"{n} validation questions written to {args.validation_battery[1]}")
        return
    args.work.mkdir(parents=True, exist_ok=True)
    battery = load_battery([args.squad2 / "questions.jsonl"])
    rows = compute_features(battery.questions, args.index_dir or args.work / "index", args.squad2 / "corpus.jsonl",
                            args.work / "features.jsonl")
    model = train(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, indent=1) + "\n")
    spans = train_spans(rows, battery.questions, span_embedder())
    (args.out.parent / "short_answer.json").write_text(json.dumps(spans, indent=1) + "\n")
    print(json.dumps({"short_answer": spans["validation_short_f1_best_sentence"]}))
    print(json.dumps({k: model[k] for k in ("threshold", "split", "train_oof", "validation")}, indent=1))


if __name__ == "__main__":
    main()
