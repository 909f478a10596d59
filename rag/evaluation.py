"""Running a question battery through the same code the CLI and UI use, and scoring it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import metrics
from .battery import Battery, Question
from .retrieval import Retriever

Progress = Callable[[int, int, dict], None]


@dataclass
class EvalRun:
    report: dict
    results: list[dict]


def retrieval_result(q: Question, retriever: Retriever, k: int, mode: str | None) -> dict:
    t0 = time.perf_counter()
    passages = retriever.search(q.question, k=max(k, 10), mode=mode)
    ms = (time.perf_counter() - t0) * 1000
    doc_ids = [p.chunk.doc_id for p in passages]
    result = {
        "id": q.id,
        "question": q.question,
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


def write_run(run: EvalRun, out_dir: Path) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(run.report, indent=2, ensure_ascii=False))
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as handle:
        for r in run.results:
            handle.write(json.dumps(r, ensure_ascii=False) + "\n")
