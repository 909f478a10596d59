"""Measure answer-composition variants on a fixed random sample of a battery.

The model is called once per question and prompt setting (its replies are cached in
--cache), then every composition variant is scored on the same replies, so the variants
differ only in what they change. Latency is measured on the first (model) pass.

    python scripts/answer_variants.py /work/shared/benchmarks/squad-dev-half-a/questions.jsonl \
        --index-dir /tmp/idx-squad --n 500 --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import answer as qa
from rag.answer.compose import clean_short_answer  # noqa: E402
from rag.evaluate.battery import load_battery  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.tuning import AnswerOptions  # noqa: E402
from rag.engine import Engine  # noqa: E402
from rag.evaluate.runner import answer_result, summarize_answers  # noqa: E402
from rag.testing import FakeLLM  # noqa: E402

VARIANTS = {
    "extractive only (no model)": dict(use_model=False),
    "model short answer only": dict(),  # special-cased below
    "combined (default)": dict(),
    "combined, no answer bonus": dict(answer_bonus=0.0),
    "combined, rank_weight 0": dict(rank_weight=0.0),
    "combined, rank_weight 0.6": dict(rank_weight=0.6),
    "combined, 2nd sentence if <12 words": dict(min_sentence_words=12),
    "combined, evidence from top 2": dict(evidence_passages=2),
    "combined, answer bonus 0.3": dict(answer_bonus=0.3),
    "combined, answer bonus 0.3, budget 35": dict(answer_bonus=0.3, budget_words=35),
    "combined, answer bonus 0.3, budget 40": dict(answer_bonus=0.3, budget_words=40),
    "extractive, budget 35": dict(use_model=False, budget_words=35),
    "extractive, no budget": dict(use_model=False, budget_words=0),
    "extractive, budget 35, no local idf": dict(use_model=False, local_idf=False),
    "combined, no local idf": dict(local_idf=False),
    "extractive, budget 35, rank_weight 0": dict(use_model=False, rank_weight=0.0),
    "extractive, budget 35, rank_weight 0.6": dict(use_model=False, rank_weight=0.6),
    "extractive, budget 35, top 2": dict(use_model=False, evidence_passages=2),
    "extractive, budget 35, top 5": dict(use_model=False, evidence_passages=5),
    "extractive, budget 40": dict(use_model=False, budget_words=40),
    "combined, evidence from top 5": dict(evidence_passages=5),
    "combined, no word pairs": dict(pair_weight=0.0),
    "combined, no previous-sentence words": dict(context_weight=0.0),
    "combined, no number/date bonus": dict(type_bonus=0.0),
    "combined, none of pairs/previous/type": dict(pair_weight=0.0, context_weight=0.0, type_bonus=0.0),
}


class CachingRetriever:
    """Retrieval is deterministic: search once per query, reuse it for every variant."""

    def __init__(self, inner):
        self.inner, self.settings, self._cache = inner, inner.settings, {}
        self.embedder = inner.embedder  # the answer path scores sentences with it

    def search(self, query, k=None, mode=None):
        key = (query, k, mode)
        if key not in self._cache:
            self._cache[key] = self.inner.search(query, k=k, mode=mode)
        return self._cache[key]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("battery", type=Path)
    ap.add_argument("--index-dir", type=Path, required=True)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--prompt-passages", type=int, default=AnswerOptions().prompt_passages)
    ap.add_argument("--prompt-words", type=int, default=AnswerOptions().prompt_words)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--variants", default="")
    ap.add_argument("--no-model", action="store_true",
                    help="score only model-free variants, on every sampled question")
    ap.add_argument("--model-limit", type=int, default=None,
                    help="only call the model for the first N questions (the rest must be cached)")
    args = ap.parse_args()
    settings = Settings.from_env(index_dir=args.index_dir, k=args.k)
    engine = Engine(settings, log=lambda m: print(m, file=sys.stderr))
    engine.load()
    battery = load_battery([args.battery])
    qs = battery.questions
    sample = random.Random(args.seed).sample(qs, min(args.n, len(qs))) if args.n < len(qs) else qs
    base = replace(AnswerOptions(), prompt_passages=args.prompt_passages, prompt_words=args.prompt_words)
    cache: dict = json.loads(args.cache.read_text()) if args.cache and args.cache.exists() else {}
    retriever = CachingRetriever(engine.retriever())
    llm = engine.llm
    latencies = {}
    # pass 1: the real model, timed end to end (cached replies are reused on re-runs)
    t_start = time.perf_counter()
    for i, q in enumerate(sample):
        if args.model_limit is not None and i >= args.model_limit:
            break
        key = f"{q.id}|{base.prompt_passages}|{base.prompt_words}"
        if key in cache or args.no_model:
            continue
        raw = []

        class Recorder:
            style = llm.style
            description = llm.description

            def complete(self, prompt, **kw):
                raw.append(llm.complete(prompt, **kw))
                return raw[-1]

        ans = qa.answer(q.question, history=list(q.history), retriever=retriever, llm=Recorder(),
                             settings=settings.replace(answer=base))
        cache[key] = {"raw": raw[0] if raw else None, "total": ans.timings["total"],
                      "generation": ans.timings["generation"]}
        if (i + 1) % 50 == 0:
            print(f"{i + 1} questions, {time.perf_counter() - t_start:.0f} s", file=sys.stderr)
            if args.cache:
                args.cache.write_text(json.dumps(cache))
    if args.cache:
        args.cache.write_text(json.dumps(cache))
    keys = [f"{q.id}|{base.prompt_passages}|{base.prompt_words}" for q in sample]
    if args.no_model:
        cache.update({k: {"raw": "", "total": 0.0, "generation": 0.0} for k in keys if k not in cache})
    sample = [q for q, key in zip(sample, keys) if key in cache]
    keys = [key for key in keys if key in cache]
    print(f"{len(sample)} questions with model replies", file=sys.stderr)
    real_lat = {q.id: cache[k]["total"] for q, k in zip(sample, keys)}
    chosen = [v for v in VARIANTS if not args.variants or v in args.variants.split(";")]
    rows = {}
    for name in chosen:
        opts = replace(base, **VARIANTS[name])
        results = []
        for q, key in zip(sample, keys):
            reply = cache[key]["raw"] or ""
            fake = FakeLLM(default=reply)
            ans = qa.answer(q.question, history=list(q.history), retriever=retriever, llm=fake,
                                 settings=settings.replace(answer=opts))
            if name == "model short answer only" and not ans.refused:
                ans.text = clean_short_answer(reply, 100)
            if opts.use_model:
                ans.timings["total"] = real_lat[q.id]
            results.append(answer_result(q, ans))
        m = summarize_answers(results)
        rows[name] = m
        print(json.dumps({"variant": name, **{k: m[k] for k in (
            "answer_match", "answer_f1", "answer_words_p50", "citation_valid", "false_refusal",
            "latency_p50_ms", "latency_p95_ms")}}), flush=True)


if __name__ == "__main__":
    main()
