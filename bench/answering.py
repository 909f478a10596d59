"""Answering with the embedded model through Engine.stream: time to first token, total time
and tokens per second (one streamed text delta from llama.cpp is one token)."""

from __future__ import annotations

import time

from rag.engine import Engine
from rag.models import Answer

from .common import latency, pct


def run(questions: list[dict], settings, embedder, log) -> dict:
    engine = Engine(settings, embedder=embedder, log=lambda m: None)
    engine.load()
    t = time.perf_counter()
    _ = engine.llm  # the embedded server starts here, once
    first = _one(engine, questions[0]["question"])
    cold = {"llm_start_s": round(time.perf_counter() - t - first["total_ms"] / 1000, 2), **first}
    rows = [_one(engine, q["question"]) for q in questions]
    ttft = [r["ttft_ms"] for r in rows if r["ttft_ms"] is not None]
    tps = [r["tokens_per_s"] for r in rows if r["tokens_per_s"]]
    out = {"questions": len(rows), "llm": engine.llm_description(), "cold_first_question": cold,
           "ttft": latency(ttft), "total": latency([r["total_ms"] for r in rows]),
           "tokens_per_s": {"p50": pct(tps, 50), "p95": pct(tps, 95), "n": len(tps)},
           "refused": sum(r["refused"] for r in rows), "errors": sum(bool(r["error"]) for r in rows)}
    log(f"  answering: {len(rows)} questions, TTFT p50 {out['ttft']['p50_ms']} ms")
    return out


def _one(engine: Engine, question: str) -> dict:
    t0 = time.perf_counter()
    first = last = None
    tokens = 0
    answer = None
    for item in engine.stream(question):
        now = time.perf_counter()
        if isinstance(item, Answer):
            answer = item
        elif item:
            tokens += 1
            first = first or now
            last = now
    total = time.perf_counter() - t0
    gen = (last - first) if first and last and last > first else None
    return {"ttft_ms": round((first - t0) * 1000, 1) if first else None, "total_ms": round(total * 1000, 1),
            "tokens": tokens, "tokens_per_s": round((tokens - 1) / gen, 1) if gen and tokens > 1 else None,
            "refused": bool(answer and answer.refused), "error": answer.error if answer else "no answer"}
