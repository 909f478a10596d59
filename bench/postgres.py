"""``python -m bench.postgres``: the PostgreSQL + pgvector store against the file index, in one run.

1. squad-dev-half-a: the file index is built once (real embedder), then copied into the
   database through COPY (rows/s); every question is embedded once and searched on both
   backends in turn (hybrid, dense, BM25): hit@5 and latency p50/p95 of each, side by side.
   Also the lexical side ranked by ``ts_rank_cd`` instead of BM25, to show why it isn't used.
2. Scale: N synthetic chunks (100,000 by default, shaped as in bench/scale.py) written through
   the store: build time, database size on disk, HNSW recall@10 against exact search (numpy,
   all vectors), and query p50/p95 of the HNSW top 10 and of a full hybrid search.

A real server: pgserver on a temporary folder unless ``--store-url`` names one (whose
``rag_`` tables are replaced). Results go to bench/results/postgres-<stamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.config import Settings  # noqa: E402

from bench import pg_bench  # noqa: E402
from bench.run import DEFAULT_CORPUS, RESULTS  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.postgres", description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--questions", type=Path)
    p.add_argument("--questions-sample", type=int, help="questions searched (default: all of them)")
    p.add_argument("--index-dir", type=Path, help="reuse (or build here) the file index of the corpus")
    p.add_argument("--scale", type=int, default=100_000, help="synthetic chunks (0: skip)")
    p.add_argument("--store-url", help="an existing database instead of a temporary pgserver")
    p.add_argument("--keep", type=Path, help="keep the temporary server's data in this folder (for bench/load.py)")
    p.add_argument("--quick", action="store_true", help="200 questions, 5,000 synthetic chunks")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    args.questions = args.questions or args.corpus.parent / "questions.jsonl"
    if args.quick:
        args.questions_sample = args.questions_sample or 200
        args.scale = min(args.scale, 5_000)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    out: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_average_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="rag-bench-pg-", dir="/tmp") as tmp:
        server = None
        url = args.store_url
        if not url:
            import pgserver

            folder = args.keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o755)
            server = pgserver.get_server(folder / "pgdata", cleanup_mode=None if args.keep else "stop")
            url = server.get_uri()
        try:
            settings = Settings.from_env(store_url=None)
            index_dir = args.index_dir or Path(tmp) / "half-a-index"
            out["half_a"], questions = pg_bench.half_a(args, settings, index_dir, url, log)
            if args.scale:
                out["scale"] = pg_bench.scale(args.scale, settings, index_dir, url, log, questions)
        finally:
            if server is not None and not args.keep:
                server.cleanup()
    out["load_average_end"] = os.getloadavg()
    path = args.out or RESULTS / f"postgres-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=float))
    print(pg_bench.markdown(out))
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
