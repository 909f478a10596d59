"""Running a question battery through the same code the CLI and UI use, and scoring it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import metrics
from .battery import Battery, Question
from ..engine import AnswerEngine, SearchingEngine
from ..models import Answer
from ..retrieve import Retriever

Progress = Callable[[int, int, dict], None]


@dataclass
class EvalRun:
    report: dict
    results: list[dict]


def _references(q: Question) -> dict:
    """What the question is scored against, kept in each result for reports and comparisons."""
    refs = {"answers": list(q.answers), "gold": list(q.gold), "expect_refusal": q.expect_refusal}
    if q.pages:
        refs["page"] = list(q.pages)
    return refs


def retrieval_result(q: Question, retriever: Retriever, k: int, mode: str | None) -> dict:
    t0 = time.perf_counter()
    passages = retriever.search(q.question, k=max(k, 10), mode=mode)
    ms = (time.perf_counter() - t0) * 1000
    doc_ids = [p.chunk.doc_id for p in passages]
    result = {
        "id": q.id,
        "question": q.question,
        **_references(q),
        "retrieved": [{"chunk_id": p.chunk.chunk_id, "doc_id": p.chunk.doc_id, "score": round(p.score, 6)}
                      for p in passages],
        "timings": {"retrieval": round(ms, 2)},
    }
    if q.gold:
        rank = metrics.first_gold_rank(doc_ids, q.gold)
        result["metrics"] = {"gold_rank": rank, "hit@1": metrics.hit_at(rank, 1),
                             f"hit@{k}": metrics.hit_at(rank, k), "mrr@10": metrics.reciprocal_rank(rank, 10)}
    return result


def summarize_retrieval(results: list[dict], k: int) -> dict:
    scored = [r["metrics"] for r in results if "metrics" in r]
    latencies = [r["timings"]["retrieval"] for r in results]
    out: dict = {}
    if scored:
        for name in ("hit@1", "hit@5", f"hit@{k}", "mrr@10"):
            if name == "hit@5" and f"hit@{k}" != "hit@5":
                out[name] = round(metrics.mean([metrics.hit_at(m["gold_rank"], 5) for m in scored]), 4)
            else:
                out[name] = round(metrics.mean([m[name] for m in scored]), 4)
    out["latency_p50_ms"] = round(metrics.percentile(latencies, 50) or 0.0, 2)
    out["latency_p95_ms"] = round(metrics.percentile(latencies, 95) or 0.0, 2)
    return out


def run_retrieval(battery: Battery, retriever: Retriever, k: int = 5, mode: str | None = None,
                  progress: Progress | None = None) -> EvalRun:
    results = []
    hits = 0
    for i, q in enumerate(battery.questions, start=1):
        result = retrieval_result(q, retriever, k, mode)
        results.append(result)
        hits += result.get("metrics", {}).get(f"hit@{k}", 0)
        if progress:
            progress(i, len(battery.questions), {f"hit@{k}": hits / i})
    report = {"n": len(results), "n_scored": sum(1 for r in results if "metrics" in r),
              "metrics": summarize_retrieval(results, k),
              "config": {"k": k, "mode": mode or retriever.settings.mode, "retrieval_only": True},
              "battery": {"sha256": battery.sha256, "malformed_lines": len(battery.errors)}}
    return EvalRun(report, results)


# ---------------------------------------------------------------------------- answers
def score_answer(q: Question, ans: Answer) -> dict:
    """Per-question answer metrics: reusable by any runner (serial, workers, comparisons)."""
    from ..answer import valid_citations

    passages = [p.chunk.text for p in ans.passages]
    out: dict = {"refused": ans.refused, "words": len(metrics.strip_markers(ans.text).split()),
                 "citation_valid": None if ans.refused or ans.error else
                 float(bool(ans.citations) and valid_citations(ans.text, passages)),
                 "error": ans.error is not None}
    if q.expect_refusal:
        out["refusal_correct"] = float(ans.refused)
    elif q.answers:
        text = "" if ans.refused else ans.text
        out["answer_match"] = metrics.answer_match(text, q.answers)
        out["answer_f1"] = round(metrics.best_f1(text, q.answers), 4)
        short = None if ans.refused else ans.short_answer
        out["short_em"] = metrics.exact_match(short, q.answers)
        out["short_f1"] = round(metrics.short_f1(short, q.answers), 4)
    if q.gold:
        rank = metrics.first_gold_rank([p.chunk.doc_id for p in ans.passages], q.gold)
        out["gold_rank"] = rank
    if ans.citations and not ans.refused:
        out["sentence_whole"] = float(all(metrics.sentence_whole(c.sentence, c.text, c.sentence_end - c.start)
                                          for c in ans.citations))
        if q.pages and not q.expect_refusal:  # the page of the answer's first [n]
            lead = metrics.first_marker(ans.text)
            cited = next((c for c in ans.citations if c.n == lead), ans.citations[0])
            out["page_match"] = float(cited.page in q.pages)
    return out


def answer_result(q: Question, ans: Answer) -> dict:
    """One results.jsonl line for an answered question."""
    return {
        "id": q.id,
        "question": q.question,
        "standalone_question": ans.standalone_question,
        **_references(q),
        "answer": ans.text,
        "citations": [c.to_dict() for c in ans.citations],  # the fields of `rag ask --json`
        "refused": ans.refused,
        "error": ans.error,
        "short_answer": ans.short_answer,
        "evidence": round(float(ans.evidence), 4),
        "answerability": None if ans.answerability is None else round(float(ans.answerability), 4),
        "retrieved": [{"chunk_id": p.chunk.chunk_id, "doc_id": p.chunk.doc_id, "score": round(p.score, 6)}
                      for p in ans.passages],
        "metrics": score_answer(q, ans),
        "timings": {k: round(v, 1) for k, v in ans.timings.items()},
    }


def summarize_answers(results: list[dict]) -> dict:
    ms = [r["metrics"] for r in results]
    answerable = [m for m in ms if "answer_match" in m]
    unanswerable = [m for m in ms if "refusal_correct" in m]
    cited = [m["citation_valid"] for m in ms if m.get("citation_valid") is not None]
    words = [m["words"] for m in ms if not m["refused"] and not m["error"]]
    lat = [r["timings"].get("total", 0.0) for r in results]

    def avg(values):
        v = metrics.mean(values)
        return None if v is None else round(v, 4)

    return {
        "answer_match": avg([m["answer_match"] for m in answerable]),
        "answer_f1": avg([m["answer_f1"] for m in answerable]),
        "short_em": avg([m["short_em"] for m in answerable if "short_em" in m]),
        "short_f1": avg([m["short_f1"] for m in answerable if "short_f1" in m]),
        "answer_words_p50": metrics.percentile(words, 50),
        "answer_words_max": max(words, default=None),
        "citation_valid": avg(cited),
        "refusal_accuracy": avg([m["refusal_correct"] for m in unanswerable]),
        "page_match": avg([m["page_match"] for m in ms if "page_match" in m]),
        "sentence_whole": avg([m["sentence_whole"] for m in ms if "sentence_whole" in m]),
        "false_refusal": avg([float(m["refused"]) for m in answerable]),
        "llm_errors": sum(1 for m in ms if m["error"]),
        "latency_p50_ms": round(metrics.percentile(lat, 50) or 0.0, 1),
        "latency_p95_ms": round(metrics.percentile(lat, 95) or 0.0, 1),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
    }


DEPTH = 10
"""Retrieval depth for gold ranks (hit@k curve for k = 1..10, MRR@10) in answer runs."""


def answer_question(q: Question, engine: AnswerEngine, k: int = 5, mode: str | None = None) -> dict:
    """Answer one question through ``engine.answer`` (the CLI/UI code path) and score it.

    The answer sees ``k`` passages; when the gold document is not among them and the engine
    can search, the same query is retrieved ``DEPTH`` deep to place it (``gold_rank@10``)."""
    ans = engine.answer(q.question, history=list(q.history), k=k, mode=mode)
    result = answer_result(q, ans)
    if q.gold:
        m = result["metrics"]
        rank = m.get("gold_rank")
        m["hit@1"] = metrics.hit_at(rank, 1)
        m[f"hit@{k}"] = metrics.hit_at(rank, k)
        deep = rank
        searching = isinstance(engine, SearchingEngine)
        if rank is None and k < DEPTH and searching and ans.passages:
            passages = engine.search(ans.standalone_question or ans.question or q.question, k=DEPTH, mode=mode)
            deep = metrics.first_gold_rank([p.chunk.doc_id for p in passages], q.gold)
        if rank is not None or searching:
            m["gold_rank@10"] = deep
            m["mrr@10"] = metrics.reciprocal_rank(deep, DEPTH)
    return result


def run_answers(battery: Battery, engine: AnswerEngine, k: int = 5, mode: str | None = None,
                progress: Progress | None = None, workers: int = 1) -> EvalRun:
    """Answer every question through ``engine.answer`` and score it; ``workers`` threads
    share the engine (one index, one LLM server). Results keep battery order, so a run
    with a deterministic backend is the same whatever ``workers`` is."""
    from .parallel import map_ordered

    questions = battery.questions
    done = {"n": 0, "matched": 0.0, "answerable": 0, "hits": 0.0, "with_gold": 0}

    def on_result(_, result):
        m = result["metrics"]
        done["n"] += 1
        if "answer_match" in m:
            done["answerable"] += 1
            done["matched"] += m["answer_match"]
        if f"hit@{k}" in m:
            done["with_gold"] += 1
            done["hits"] += m[f"hit@{k}"]
        if progress:
            running = {}
            if done["with_gold"]:
                running[f"hit@{k}"] = done["hits"] / done["with_gold"]
            if done["answerable"]:
                running["answer_match"] = done["matched"] / done["answerable"]
            progress(done["n"], len(questions), running)

    results = map_ordered(lambda q: answer_question(q, engine, k, mode), questions, workers, on_result)
    summary = summarize_answers(results)
    scored = [r["metrics"] for r in results if "hit@1" in r["metrics"]]
    if scored:
        summary["hit@1"] = round(metrics.mean([m["hit@1"] for m in scored]), 4)
        summary[f"hit@{k}"] = round(metrics.mean([m[f"hit@{k}"] for m in scored]), 4)
        deep = [m["mrr@10"] for m in scored if "mrr@10" in m]
        if len(deep) == len(scored):
            summary["mrr@10"] = round(metrics.mean(deep), 4)
    report = {"n": len(results), "metrics": summary,
              "config": {"k": k, "mode": mode or engine.settings.mode, "retrieval_only": False,
                         "llm": engine.llm_description(),
                         "refusal_threshold": engine.settings.refusal_threshold,
                         "answerability_threshold": engine.settings.answerability_threshold,
                         "workers": workers},
              "battery": {"sha256": battery.sha256, "malformed_lines": len(battery.errors)}}
    return EvalRun(report, results)


def write_run(run: EvalRun, out_dir: Path) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(run.report, indent=2, ensure_ascii=False))
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as handle:
        for r in run.results:
            handle.write(json.dumps(r, ensure_ascii=False) + "\n")
