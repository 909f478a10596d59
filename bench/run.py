"""``python -m bench`` / ``python bench/run.py``: where indexing, retrieval, answering and
memory go, side by side with the bare model and LlamaIndex, plus a 100,000-chunk scale test.

Every speed claim is a ratio against a baseline measured in the same run: the machines are
shared and noisy. Writes bench/results/<stamp>.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag.config import PROJECT_ROOT, Settings  # noqa: E402

from bench import common  # noqa: E402
from bench.report import markdown  # noqa: E402

_HALF_A = Path("shared") / "benchmarks" / "squad-dev-half-a" / "corpus.jsonl"
# ../shared next to the project; a clone made elsewhere (as .ci/run allows) finds /work/shared
DEFAULT_CORPUS = next((p for p in (PROJECT_ROOT.parent / _HALF_A, Path("/work") / _HALF_A) if p.exists()),
                      PROJECT_ROOT.parent / _HALF_A)
RESULTS = PROJECT_ROOT / "bench" / "results"
SECTIONS = ("indexing", "retrieval", "answering", "memory", "scale")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="JSON Lines corpus {id, title, text}")
    p.add_argument("--questions", type=Path, help="battery with gold ids (default: questions.jsonl next to "
                                                    "the corpus)")
    p.add_argument("--quick", action="store_true", help="small corpus slice and samples: CI smoke test, < 2 min")
    p.add_argument("--docs", type=int, help="index only the first N documents of the corpus")
    p.add_argument("--repeat", type=int, help="indexing runs per contender (default 2, quick 1)")
    p.add_argument("--questions-sample", type=int, help="retrieval questions (default 300, quick 10)")
    p.add_argument("--answers", type=int, help="questions answered by the LLM (default 20, quick 1)")
    p.add_argument("--scale", type=int, help="synthetic chunks for the scale test (default 100000, quick 3000)")
    p.add_argument("--skip", nargs="*", default=[], choices=SECTIONS, help="sections to leave out")
    p.add_argument("--no-llamaindex", action="store_true", help="leave LlamaIndex out")
    p.add_argument("--out", type=Path, help="JSON output (default bench/results/<stamp>.json)")
    args = p.parse_args(argv)
    q = args.quick
    args.docs = args.docs or (20 if q else None)
    args.repeat = args.repeat or (1 if q else 2)
    args.questions_sample = args.questions_sample or (10 if q else 300)
    args.answers = args.answers if args.answers is not None else (1 if q else 20)
    args.scale = args.scale or (3_000 if q else 100_000)
    args.questions = args.questions or args.corpus.parent / "questions.jsonl"
    return args


def machine() -> dict:
    import torch

    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "memory_gb": mem, "python": platform.python_version(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "load_average_start": os.getloadavg()}


def main(argv=None) -> int:
    args = parse_args(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    if not args.corpus.exists():
        log(f"error: corpus {args.corpus} not found (give one with --corpus)")
        return 2
    started = time.perf_counter()
    settings = Settings.from_env()
    results: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S %z"), "machine": machine(),
                     "corpus": str(args.corpus), "quick": args.quick,
                     "settings": {"embed_batch_size": settings.embed_batch_size,
                                  "embed_threads": settings.embed_threads,
                                  "embed_max_seq_length": settings.embed_max_seq_length,
                                  "embed_quantize": getattr(settings, "embed_quantize", False)}}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        work = Path(tmp)
        corpus = common.read_jsonl(args.corpus)
        if args.docs:
            corpus = corpus[:args.docs]
        corpus_path = work / "input.jsonl"
        common.write_jsonl(corpus_path, corpus)
        from bench import indexing

        log(f"indexing {len(corpus)} documents ({args.repeat} run(s) each)")
        idx = indexing.run(corpus_path, work / "idx", settings, args.repeat, log,
                           llamaindex=not args.no_llamaindex)
        results["indexing"] = idx["result"]
        data, embedder, s = idx["data"], idx["embedder"], idx["settings"]
        doc_ids = {c.doc_id for c in data.chunks}
        questions = common.sample_questions(args.questions, args.questions_sample, doc_ids) \
            if args.questions.exists() else []
        if "retrieval" not in args.skip and questions:
            from bench import retrieval

            log(f"retrieval: {len(questions)} questions")
            results["retrieval"] = retrieval.run(questions, data, embedder, s, idx["llamaindex_index"])
        idx["llamaindex_index"] = None
        if "answering" not in args.skip and questions and args.answers:
            from bench import answering

            log(f"answering: {args.answers} questions with the embedded model")
            try:
                results["answering"] = answering.run(questions[:args.answers], s, embedder, log)
            except Exception as exc:  # a missing model or server must not lose the other figures
                results["answering"] = {"error": f"{exc.__class__.__name__}: {exc}"}
        if "memory" not in args.skip:
            from bench import memory

            log("memory: python -m rag index, and the engine with the embedded model")
            results["memory"] = {"rag_index": memory.rag_index(corpus_path, work / "mem-index"),
                                 "app": memory.app(work / "mem-index", questions[0]["question"] if questions
                                                   else "What is this about?")}
        if "scale" not in args.skip:
            from bench import scale
            from rag.index.indexing import embed_text

            qtexts = [q["question"] for q in questions] or ["what"]
            qvecs = embedder.embed_batch(qtexts)
            log(f"scale: {args.scale} synthetic chunks")
            results["scale"] = scale.run(args.scale, data.vectors, [embed_text(c) for c in data.chunks],
                                         qtexts, qvecs, work, s, log, embedder=embedder)
    results["machine"]["load_average_end"] = os.getloadavg()
    results["total_s"] = round(time.perf_counter() - started, 1)
    out = args.out or RESULTS / (time.strftime("%Y%m%d-%H%M%S") + (".quick" if args.quick else "") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(markdown(results))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
