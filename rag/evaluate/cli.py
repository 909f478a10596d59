"""``python -m rag eval``: run a question battery end to end, and ``eval compare``.

One battery run: parse the battery files (malformed lines reported with file:line), pick
the questions (``--sample``/``--seed``/``--limit``), index ``--corpus`` into a run-local
index when given, answer through the Engine (``--workers`` threads) or a running app
(``--server``), score, write ``report.json``, ``results.jsonl`` and ``report.html`` into
``--out`` (default ``runs/<timestamp>/``), then apply the ``--fail-under`` gate (exit 3).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..config import MODES, PROJECT_ROOT, Settings
from ..errors import InputError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("battery", nargs="+", type=Path, help="battery files (.jsonl or .csv)")
    p.add_argument("--retrieval-only", action="store_true", help="score retrieval only, no answers")
    p.add_argument("--k", type=int, default=None, help="passages per question (default: RAG_K or 5)")
    p.add_argument("--mode", choices=MODES)
    p.add_argument("--corpus", nargs="+", type=Path, metavar="PATH",
                   help="index these documents first, into a run-local index (or --index-dir)")
    p.add_argument("--index-dir", type=Path)
    p.add_argument("--store-url", help="a PostgreSQL database instead of the index folder (RAG_STORE_URL)")
    p.add_argument("--server", metavar="URL", help="ask a running app through its /ask API instead")
    p.add_argument("--api", metavar="URL", help="ask an OpenAI-compatible endpoint (this app's /v1) instead, "
                                                "with each question's history (key: RAG_API_KEY)")
    p.add_argument("--workers", type=int, default=1, help="questions answered concurrently (threads)")
    p.add_argument("--sample", type=int, metavar="N", help="a fixed random sample of N questions")
    p.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N (selected) questions")
    p.add_argument("--out", type=Path, help="run directory (default runs/<timestamp>/)")
    p.add_argument("--strict", action="store_true", help="malformed battery lines are fatal")
    p.add_argument("--fail-under", action="append", default=[], metavar="METRIC=VALUE",
                   help="exit 3 when METRIC < VALUE (repeatable)")
    p.add_argument("--fail-over", action="append", default=[], metavar="METRIC=VALUE",
                   help="exit 3 when METRIC > VALUE, for lower-is-better metrics (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_a", type=Path, metavar="RUN_A")
    p.add_argument("run_b", type=Path, metavar="RUN_B")
    p.add_argument("--max-listed", type=int, default=50, help="flipped questions listed per direction")


# ------------------------------------------------------------------ provenance
def code_version() -> str:
    """``git describe`` of the checkout, else the package version."""
    from .. import __version__

    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            return f"{__version__}+git.{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__


def corpus_info(data, paths: list[Path] | None) -> dict:
    """Content hash of the indexed documents (ids and text hashes from the manifest)."""
    docs = data.documents or {}
    digest = hashlib.sha256()
    for doc_id in sorted(docs):
        digest.update(f"{doc_id}\x00{docs[doc_id].get('hash', '')}\n".encode("utf-8", "surrogatepass"))
    return {"paths": [str(p) for p in (paths or data.manifest.get("inputs") or [])],
            "sha256": digest.hexdigest(), "documents": len(docs), "chunks": data.chunk_count,
            "embedder": (data.manifest.get("embedder") or {}).get("name")}


def run_config(settings: Settings, args, engine, remote: bool) -> dict:
    from ..index import safe_location
    from ..llm import resolve_style

    cfg = {"k": settings.k, "mode": settings.mode, "retrieval_only": bool(args.retrieval_only),
           "fusion": settings.fusion, "dense_weight": settings.dense_weight, "bm25_weight": settings.bm25_weight,
           "candidates": settings.candidates, "embed_model": settings.embed_model,
           "chunk_words": settings.chunk_words, "refusal_threshold": settings.refusal_threshold,
           "answerability_threshold": settings.answerability_threshold,
           "max_answer_tokens": settings.max_answer_tokens, "temperature": settings.temperature,
           "workers": args.workers, "server": args.server, "api": args.api, "code_version": code_version(),
           "store": safe_location(settings)}
    if not args.retrieval_only:
        cfg["llm"] = engine.llm_description()
        cfg["prompt_style"] = "(the app's)" if remote else resolve_style(settings)
    if remote:
        cfg["note"] = "k, mode, threshold and model are the app's own; the values here are local defaults"
    return cfg


# ------------------------------------------------------------------ the run
def _progress_bar(total: int, disabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="questions", unit="q", disable=True if disabled else None, file=sys.stderr)


def run(args, settings: Settings, log, make_engine=None) -> int:
    """The eval command. ``make_engine(settings, corpus_paths, log)`` builds the local engine
    (default: :class:`rag.engine.Engine`); tests pass one with fake embedder and LLM."""
    from . import gate
    from .battery import load_battery, select

    args.api = getattr(args, "api", None)
    if settings.k < 1:
        raise InputError("--k must be at least 1")
    for name in ("workers", "sample", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"--{name} must be at least 1")
    if (args.server or args.api) and args.corpus:
        raise InputError("--corpus and --server/--api don't mix: the app answers from its own index")
    if args.server and args.api:
        raise InputError("--server and --api don't mix: choose one")
    limits = [gate.parse_limit(s) for s in args.fail_under] + [gate.parse_limit(s, True) for s in args.fail_over]

    battery = load_battery(args.battery, strict=args.strict)
    for line in battery.errors:
        log(f"warning: {line}")
    total = len(battery.questions)
    battery.questions = select(battery.questions, args.sample, args.seed, args.limit)
    out = args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory")

    with tempfile.TemporaryDirectory(prefix="rag-eval-index-") as tmp:
        if args.corpus and not args.index_dir:
            settings = settings.replace(index_dir=Path(tmp) / "index")
        engine, remote = _engine(args, settings, log, make_engine)
        started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        t0 = time.perf_counter()
        evaluation = _evaluate(args, battery, engine, settings)
        wall = time.perf_counter() - t0
        report = evaluation.report
        report["config"] = {**report.get("config", {}), **run_config(settings, args, engine, remote)}
        report["battery"] = {"files": [str(p) for p in args.battery], "sha256": battery.sha256,
                             "questions_in_files": total, "questions_run": len(battery.questions),
                             "sample": args.sample, "seed": args.seed if args.sample else None,
                             "limit": args.limit, "malformed_lines": len(battery.errors),
                             "errors": battery.errors[:200]}
        if not remote:
            report["corpus"] = corpus_info(engine.data, args.corpus)
        report["run"] = {"started": started, "wall_seconds": round(wall, 2),
                         "questions_per_second": round(len(battery.questions) / wall, 3) if wall else None}
    _write(evaluation, out)
    _print_summary(report, out)
    gate.enforce(report["metrics"], limits)
    if limits:
        print("quality gate passed: " + ", ".join(str(limit) for limit in limits))
    return 0


def _engine(args, settings: Settings, log, make_engine=None):
    if (args.server or args.api) and args.retrieval_only:
        raise InputError("--retrieval-only needs a local index; it can't run against --server or --api")
    if args.server or args.api:
        from .api_engine import ApiEngine
        from .remote import RemoteEngine

        engine = ApiEngine(args.api, settings) if args.api else RemoteEngine(args.server, settings)
        engine.connect()
        return engine, True
    if make_engine is None:
        from ..engine import Engine

        def make_engine(settings, inputs, log):
            return Engine(settings, inputs=inputs, log=log)
    engine = make_engine(settings, args.corpus, log)
    engine.load()
    return engine, False


def _evaluate(args, battery, engine, settings: Settings):
    from .runner import run_answers, run_retrieval

    bar = _progress_bar(len(battery.questions), args.no_progress)
    every = max(1, len(battery.questions) // 10)
    t0 = time.perf_counter()

    def progress(done, total, running):
        bar.update(done - bar.n)
        bar.set_postfix({k: f"{v:.3f}" for k, v in running.items()}, refresh=False)
        if bar.disable and not args.no_progress and (done % every == 0 or done == total):
            # no terminal (CI logs): a line every 10 % instead of a bar
            figures = ", ".join(f"{k} {v:.3f}" for k, v in running.items())
            print(f"{done}/{total} questions, {time.perf_counter() - t0:.0f} s" + (f" ({figures})" if figures else ""),
                  file=sys.stderr, flush=True)

    try:
        if args.retrieval_only:
            return run_retrieval(battery, engine.retriever(), k=settings.k, mode=settings.mode, progress=progress)
        if any(q.history for q in battery.questions) and args.server:
            print("warning: the app's /ask endpoint takes no history; questions are asked alone",
                  file=sys.stderr)
        return run_answers(battery, engine, k=settings.k, mode=settings.mode, progress=progress,
                           workers=args.workers)
    finally:
        bar.close()


def _write(evaluation, out: Path) -> None:
    from .runner import write_run
    from .report_html import write_html

    write_run(evaluation, out)
    write_html(evaluation.report, evaluation.results, out)


def _print_summary(report: dict, out: Path) -> None:
    b, r = report["battery"], report["run"]
    print(f"{report['n']} questions in {r['wall_seconds']:.1f} s "
          f"({b['malformed_lines']} malformed battery lines skipped)")
    for name, value in report["metrics"].items():
        if value is not None:
            print(f"  {name:18s} {value}")
    print(f"wrote {out / 'report.json'}, {out / 'results.jsonl'} and {out / 'report.html'}")


def run_compare(args) -> int:
    from .compare import compare, format_comparison, load_run

    comparison = compare(load_run(args.run_a), load_run(args.run_b))
    print(format_comparison(comparison, max_listed=args.max_listed))
    return 0
