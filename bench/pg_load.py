"""``python -m bench.pg_load``: bench/load.py against the app on the file index and on
PostgreSQL, each holding the same 100,000-chunk index, one after the other in one run.

Both indexes get the real seed document (real vectors, so the load questions have answers)
plus N synthetic chunks shaped as in bench/scale.py, written from one IndexChange; the
manifest names the app's own inputs, so neither app re-indexes at start-up. Then
``bench/load.py --start`` runs against each (20 clients, 2 minutes by default) and the app
memory (the process tree: the embedded LLM runs inside it) is compared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from rag.config import PROJECT_ROOT, Settings  # noqa: E402
from rag.models import Chunk  # noqa: E402


def build(work: Path, half_a_index: Path, n: int, url: str, log) -> dict:
    from rag.index import store as files
    from rag.index import build_embedder
    from rag.index.files import FileStore
    from rag.index.postgres import PostgresStore
    from rag.index.protocol import IndexChange
    from rag.index.indexing import index_paths, input_fingerprint, settings_fingerprint

    from .pg_bench import fresh_schema
    from .scale import synthetic_texts, synthetic_vectors

    seeds, uploads = work / "seeds", work / "uploads"
    shutil.rmtree(seeds, ignore_errors=True)
    shutil.copytree(PROJECT_ROOT / "seeds", seeds)
    uploads.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env(store_url=None, seeds_dir=seeds, upload_dir=uploads, index_dir=work / "seed-index")
    embedder = build_embedder(settings)
    seed_view, _ = index_paths([seeds], settings, embedder, log=lambda m: None)
    documents = {d: dict(info, input=str(seeds.resolve())) for d, info in seed_view.documents.items()}
    put = {d: seed_view.document_chunks(d) for d in documents}
    base = files.load(half_a_index)
    vectors = synthetic_vectors(np.asarray(base.vectors, np.float32), n)
    texts = synthetic_texts([c.text for c in base.chunks], n)
    for i in range(0, n, 4):
        doc = f"synthetic-{i // 4}"
        cs = [Chunk(chunk_id=f"s{j}", doc_id=doc, text=texts[j], start=0, end=len(texts[j]), source="synthetic")
              for j in range(i, min(i + 4, n))]
        put[doc] = (cs, vectors[i:i + len(cs)])
        documents[doc] = {"hash": doc, "source": "synthetic", "title": "", "chunks": len(cs), "input": "synthetic"}
    inputs = [seeds.resolve(), uploads.resolve()]
    change = IndexChange(manifest={"settings": settings_fingerprint(settings, embedder),
                                   "embedder": {"name": embedder.name, "dim": embedder.dim},
                                   "inputs": [str(p) for p in inputs], "input_fingerprint": input_fingerprint(inputs),
                                   "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
                         documents=documents, put=put, replace_all=True)
    out = {"chunks": sum(len(cs) for cs, _ in put.values())}
    t = time.perf_counter()
    shutil.rmtree(work / "index", ignore_errors=True)
    file_store = FileStore(work / "index")
    with file_store.lock():
        file_store.apply(None, change)
    out["files_build_s"] = round(time.perf_counter() - t, 1)
    fresh_schema(url, embedder.dim)
    pg = PostgresStore(url)
    t = time.perf_counter()
    with pg.lock():
        pg.apply(None, change)
    out["postgres_build_s"] = round(time.perf_counter() - t, 1)
    pg.close()
    log(f"built {out['chunks']} chunks: files {out['files_build_s']} s, postgres {out['postgres_build_s']} s")
    return out


def server_pss_mb(pid: int) -> float | None:
    """Proportional memory of the PostgreSQL server (postmaster and its backends; shared
    buffers counted once), from /proc/*/smaps_rollup."""
    def children(p: int) -> list[int]:
        try:
            return [int(c) for t in Path(f"/proc/{p}/task").iterdir()
                    for c in (t / "children").read_text().split()]
        except OSError:
            return []
    todo, total = [pid], 0
    while todo:
        p = todo.pop()
        todo.extend(children(p))
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1) if total else None


def load_run(env: dict, out: Path, args, log) -> dict:
    cmd = [sys.executable, "bench/load.py", "--start", "--clients", str(args.clients), "--seconds",
           str(args.seconds), "--out", str(out)]
    log("running: " + " ".join(f"{k}=..." if k == "RAG_STORE_URL" else f"{k}={v}" for k, v in env.items())
        + " " + " ".join(cmd[1:]))
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=dict(os.environ, **env), capture_output=True, text=True)
    if proc.returncode != 0 or not out.exists():
        raise SystemExit(f"load run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(out.read_text())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pg_load", description=__doc__.split("\n\n")[0])
    p.add_argument("--half-a-index", type=Path, required=True, help="the file index of squad-dev-half-a "
                                                                   "(bench.postgres --index-dir builds one)")
    p.add_argument("--work", type=Path, default=Path("/tmp/rag-pg-load"))
    p.add_argument("--chunks", type=int, default=100_000)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results" / "pg-load.json")
    args = p.parse_args(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    import pgserver

    args.work.mkdir(parents=True, exist_ok=True)
    args.work.chmod(0o755)
    server = pgserver.get_server(args.work / "pgdata", cleanup_mode="stop")
    try:
        url = server.get_uri()
        result = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "build": build(args.work, args.half_a_index,
                                                                               args.chunks, url, log)}
        common = {"RAG_SEEDS_DIR": str(args.work / "seeds"), "RAG_UPLOAD_DIR": str(args.work / "uploads")}
        result["files"] = load_run({**common, "RAG_INDEX_DIR": str(args.work / "index")},
                                   args.work / "load-files.json", args, log)
        result["postgres"] = load_run({**common, "RAG_STORE_URL": url, "RAG_INDEX_DIR": str(args.work / "none")},
                                      args.work / "load-postgres.json", args, log)
        result["postgres_server_pss_mb_after"] = server_pss_mb(server.get_pid())
    finally:
        server.cleanup()
    summary = {}
    for name in ("files", "postgres"):
        r = result[name]
        summary[name] = {k: r.get(k) for k in ("answers", "errors", "error_kinds", "answers_per_second", "latency_s")}
        summary[name]["app_rss_mb"] = r.get("app_rss_mb")
    summary["postgres_server_pss_mb_after"] = result["postgres_server_pss_mb_after"]
    f, p_ = (summary[n]["app_rss_mb"] or {} for n in ("files", "postgres"))
    for key in ("end", "peak"):
        if f.get(key) and p_.get(key):
            summary[f"postgres_app_{key}_below_files"] = round(1 - p_[key] / f[key], 3)
    result["summary"] = summary
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(summary, indent=1))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
