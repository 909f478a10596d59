"""The measurements of bench/postgres.py: half-a on both backends, and the synthetic scale test."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from rag.index.postgres import PostgresStore, schema
from rag.index.postgres.store import EF_SEARCH
from rag.index.postgres.view import PostgresIndex
from rag.index.postgres.writes import split_lexemes
from rag.index.protocol import Candidates, IndexChange
from rag.models import Chunk
from rag.retrieve import Retriever

from .common import hit, latency, read_jsonl
from .pg_previous import PreviousSqlIndex
from .scale import LookupEmbedder, recall_at, synthetic_texts, synthetic_vectors

TABLES = "rag_chunks, rag_documents, rag_terms, rag_manifest, rag_schema"


def fresh_schema(url: str, dim: int = 384) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLES} CASCADE")
        schema.migrate(conn, dim)


def file_index(corpus: Path, settings, index_dir: Path, log):
    from rag.index import store as files
    from rag.index import build_embedder
    from rag.index.indexing import index_paths

    embedder = build_embedder(settings)
    if files.exists(index_dir):
        return files.load(index_dir), embedder
    log(f"building the file index of {corpus} in {index_dir} (real embedder)")
    data, _ = index_paths([corpus], settings.replace(index_dir=index_dir), embedder, log=lambda m: None)
    return data, embedder


def copy_in(data, url: str) -> tuple[PostgresStore, dict]:
    """The file index into the database through the store (COPY); timing of the whole write."""
    store = PostgresStore(url)
    docs = {d: dict(i) for d, i in data.documents.items()}
    change = IndexChange(manifest={"settings": data.manifest["settings"], "embedder": data.manifest["embedder"]},
                         documents=docs, replace_all=True, put={d: data.document_chunks(d) for d in docs})
    t = time.perf_counter()
    with store.lock():
        store.apply(None, change)
    seconds = time.perf_counter() - t
    n = data.chunk_count
    steps = store.last_write
    return store, {"chunks": n, "documents": len(docs), "seconds": round(seconds, 2),
                   "rows_per_s": round(n / seconds, 1), "steps_s": steps,
                   "copy_rows_per_s": round(n / steps["copy"], 1) if steps.get("copy") else None}


class TsRankIndex(PostgresIndex):
    """The lexical side ranked by ts_rank_cd over the same lexemes (what the issue warns about)."""

    SQL = """WITH q AS (SELECT to_tsvector('simple', %(lexemes)s) AS v),
      tsq AS (SELECT replace(strip(v)::text, ''' ''', ''' | ''')::tsquery AS query FROM q),
      dense AS (SELECT id FROM rag_chunks ORDER BY embedding <=> %(qvec)s LIMIT %(n)s),
      lex AS (SELECT c.id FROM rag_chunks c, tsq WHERE c.tsv @@ tsq.query
              ORDER BY ts_rank_cd(c.tsv, tsq.query) DESC, c.id LIMIT %(n)s)
      SELECT c.id, c.chunk_id, c.doc_id, 1 - (c.embedding <=> %(qvec)s), ts_rank_cd(c.tsv, tsq.query)
      FROM (SELECT id FROM dense UNION SELECT id FROM lex) cand JOIN rag_chunks c ON c.id = cand.id, tsq
      ORDER BY c.id"""

    def candidates(self, qvec, query, n, mode):
        lexemes = split_lexemes(self._tokenizer(query))
        if not lexemes:
            return super().candidates(qvec, query, n, mode)
        with self.store.connection() as conn:
            rows = conn.execute(self.SQL, {"lexemes": " ".join(lexemes), "qvec": np.asarray(qvec, np.float32),
                                           "n": n}).fetchall()
        chunks = [Chunk(chunk_id=r[1], doc_id=r[2], text="", start=0, end=0, source="") for r in rows]
        return Candidates(chunks, np.array([r[3] for r in rows], np.float32),
                          np.array([r[4] for r in rows], np.float32), np.array([r[0] for r in rows]))


def half_a(args, settings, index_dir: Path, url: str, log) -> dict:
    data, embedder = file_index(args.corpus, settings, index_dir, log)
    fresh_schema(url, embedder.dim)
    store, ingest = copy_in(data, url)
    log(f"  ingest: {ingest['chunks']} chunks in {ingest['seconds']} s ({ingest['rows_per_s']} rows/s)")
    questions = read_jsonl(args.questions)
    if args.questions_sample and args.questions_sample < len(questions):
        rng = np.random.default_rng(0)
        questions = [questions[i] for i in sorted(rng.choice(len(questions), args.questions_sample, replace=False))]
    t = time.perf_counter()
    table = {q["question"]: embedder.embed_query(q["question"]) for q in questions}
    encode_ms = (time.perf_counter() - t) * 1000 / len(questions)
    lookup = LookupEmbedder(table)
    backends = {"files": Retriever(data, lookup, settings), "postgres": Retriever(store.load(), lookup, settings),
                "postgres_ts_rank_cd": Retriever(TsRankIndex(store), lookup, settings),
                "postgres_previous_sql": Retriever(PreviousSqlIndex(store), lookup, settings)}
    runs = [(b, m) for b in ("files", "postgres") for m in ("hybrid", "dense", "bm25")] + \
        [("postgres_ts_rank_cd", "hybrid"), ("postgres_previous_sql", "hybrid")]
    ms = {r: [] for r in runs}
    hits = {r: 0 for r in runs}
    for b, m in runs:  # warm
        backends[b].search(questions[0]["question"], k=5, mode=m)
    for i, q in enumerate(questions):
        for j in range(len(runs)):  # rotating order: machine load falls on all alike
            b, m = runs[(i + j) % len(runs)]
            t = time.perf_counter()
            found = backends[b].search(q["question"], k=5, mode=m)
            ms[(b, m)].append((time.perf_counter() - t) * 1000)
            hits[(b, m)] += hit([p.chunk.doc_id for p in found], q["gold"], 5)
    out = {"ingest": ingest, "questions": len(questions), "query_encoding_ms_mean": round(encode_ms, 2)}
    for b, m in runs:
        out.setdefault(b, {})[m] = {"hit@5": round(hits[(b, m)] / len(questions), 4), **latency(ms[(b, m)])}
    out["hybrid_hit@5_gap"] = round(out["files"]["hybrid"]["hit@5"] - out["postgres"]["hybrid"]["hit@5"], 4)
    log(f"  hybrid hit@5: files {out['files']['hybrid']['hit@5']}, postgres {out['postgres']['hybrid']['hit@5']}, "
        f"ts_rank_cd {out['postgres_ts_rank_cd']['hybrid']['hit@5']}")
    store.close()
    return out, table


def scale(n: int, settings, index_dir: Path, url: str, log, questions: dict[str, np.ndarray],
          queries: int = 300) -> dict:
    """``questions``: real half-a questions and their real embeddings. The queries: neither
    indexed vectors nor the chunk vectors the synthetic ones are mixed from."""
    from rag.index import store as files

    data = files.load(index_dir)
    base = np.asarray(data.vectors, dtype=np.float32)
    vectors = synthetic_vectors(base, n)
    texts = synthetic_texts([c.text for c in data.chunks], n)
    chunks = [Chunk(chunk_id=f"s{i}", doc_id=f"synthetic-{i // 4}", text=t, start=0, end=len(t), source="synthetic")
              for i, t in enumerate(texts)]
    put: dict = {}
    for i in range(0, n, 4):
        put[f"synthetic-{i // 4}"] = (chunks[i:i + 4], vectors[i:i + 4])
    docs = {d: {"hash": d, "source": "synthetic", "title": "", "chunks": len(put[d][0])} for d in put}
    fresh_schema(url, base.shape[1])
    store = PostgresStore(url)
    change = IndexChange(manifest={"settings": {"synthetic": True}, "embedder": {"name": "synthetic", "dim": 384}},
                         documents=docs, put=put, replace_all=True)
    t = time.perf_counter()
    with store.lock():
        store.apply(None, change)
    out: dict = {"chunks": n, "build_s": round(time.perf_counter() - t, 1), "build_steps_s": store.last_write}
    log(f"  scale: {n} chunks written and indexed (HNSW + GIN) in {out['build_s']} s")
    rng = np.random.default_rng(1)
    asked = sorted(questions)
    qs = [asked[i] for i in sorted(rng.choice(len(asked), min(queries, len(asked)), replace=False))]
    qv = np.stack([np.asarray(questions[q], dtype=np.float32) for q in qs])
    exact = np.argsort(-(qv @ vectors.T), axis=1)[:, :10]  # exact cosine (all vectors unit length)
    with store.connection() as conn:
        out["size"] = dict(zip(("database", "table_and_toast", "hnsw_index", "gin_index"), conn.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database())), "
            "pg_size_pretty(pg_table_size('rag_chunks')), pg_size_pretty(pg_relation_size('rag_chunks_embedding')), "
            "pg_size_pretty(pg_relation_size('rag_chunks_tsv'))").fetchone()))
        out["size_mb"] = round(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 2**20, 1)
        plan = conn.execute("EXPLAIN SELECT id FROM rag_chunks ORDER BY embedding <=> %s LIMIT 10", (qv[0],)).fetchall()
        out["plan_uses_hnsw"] = any("rag_chunks_embedding" in r[0] for r in plan)
        sweep = {}
        for ef in sorted({40, 100, 200, 400, EF_SEARCH}):
            conn.execute(f"SET hnsw.ef_search = {ef}")
            ids, ms = [], []
            for q in qv:
                t = time.perf_counter()
                rows = conn.execute("SELECT id FROM rag_chunks ORDER BY embedding <=> %s LIMIT 10", (q,)).fetchall()
                ms.append((time.perf_counter() - t) * 1000)
                ids.append([r[0] - 1 for r in rows])  # ids are 1..n in insertion order = vector rows
            sweep[ef] = {"recall@10": round(recall_at(np.array(ids), exact), 4), **latency(ms)}
        conn.execute("RESET hnsw.ef_search")
    out["hnsw_ef_search_sweep"] = sweep
    out["ef_search"] = EF_SEARCH
    out["recall@10"] = sweep[EF_SEARCH]["recall@10"]
    out["dense_top10"] = {k: v for k, v in sweep[EF_SEARCH].items() if k != "recall@10"}
    # The file backend on the very same chunks and vectors, timed in turn with PostgreSQL.
    file_dir = index_dir.parent / f"scale-{n}-files"
    t = time.perf_counter()
    with files.lock(file_dir):
        files.write(file_dir, {"settings": {"synthetic": True}, "documents": {}, "inputs": []}, chunks, vectors,
                    texts)
    out["files_build_s"] = round(time.perf_counter() - t, 1)
    lookup = LookupEmbedder(dict(zip(qs, qv)))
    backends = {"postgres": Retriever(store.load(), lookup, settings),
                "files": Retriever(files.load(file_dir), lookup, settings),
                "postgres_previous_sql": Retriever(PreviousSqlIndex(store), lookup, settings)}
    ms = {b: [] for b in backends}
    for b, r in backends.items():
        r.search(qs[0], k=10)
    order = list(backends)
    for i, q in enumerate(qs):
        for b in order[i % 3:] + order[:i % 3]:  # rotating order: machine load falls on all alike
            t = time.perf_counter()
            backends[b].search(q, k=10)
            ms[b].append((time.perf_counter() - t) * 1000)
    out["hybrid_query"] = latency(ms["postgres"])
    out["files_hybrid_query"] = latency(ms["files"])
    out["previous_sql_hybrid_query"] = latency(ms["postgres_previous_sql"])
    out["hybrid_p50_ratio_to_files"] = round(out["hybrid_query"]["p50_ms"] / out["files_hybrid_query"]["p50_ms"], 1)
    log(f"  scale: recall@10 {out['recall@10']}, dense p50 {out['dense_top10']['p50_ms']} ms, "
        f"hybrid p50 {out['hybrid_query']['p50_ms']} ms (files {out['files_hybrid_query']['p50_ms']} ms), "
        f"{out['size']['database']}")
    store.close()
    shutil.rmtree(file_dir, ignore_errors=True)
    return out


def markdown(out: dict) -> str:
    h = out["half_a"]
    lines = [f"### PostgreSQL + pgvector vs the file index ({out['date']})", "",
             f"squad-dev-half-a: {h['questions']} questions; ingest {h['ingest']['chunks']} chunks in "
             f"{h['ingest']['seconds']} s = {h['ingest']['rows_per_s']} rows/s in one transaction "
             f"(the COPY itself {h['ingest']['copy_rows_per_s']} rows/s; steps {h['ingest']['steps_s']})", "",
             "| backend | mode | hit@5 | p50 ms | p95 ms |", "|---|---|---|---|---|"]
    for b in ("files", "postgres", "postgres_ts_rank_cd", "postgres_previous_sql"):
        for m, r in h[b].items():
            lines.append(f"| {b} | {m} | {r['hit@5']} | {r['p50_ms']} | {r['p95_ms']} |")
    s = out.get("scale")
    if s:
        lines += ["", f"{s['chunks']} synthetic chunks: build {s['build_s']} s, database {s['size']['database']} "
                  f"(HNSW {s['size']['hnsw_index']}, GIN {s['size']['gin_index']}), HNSW recall@10 {s['recall@10']} "
                  f"(ef_search {s['ef_search']}; sweep {s['hnsw_ef_search_sweep']}), dense top-10 p50 {s['dense_top10']['p50_ms']} ms / p95 {s['dense_top10']['p95_ms']} ms, "
                  f"hybrid p50 {s['hybrid_query']['p50_ms']} ms / p95 {s['hybrid_query']['p95_ms']} ms "
                  f"(files on the same chunks, in turn: {s['files_hybrid_query']['p50_ms']} / "
                  f"{s['files_hybrid_query']['p95_ms']} ms; ratio {s['hybrid_p50_ratio_to_files']}; the previous "
                  f"statement {s['previous_sql_hybrid_query']['p50_ms']} / {s['previous_sql_hybrid_query']['p95_ms']} ms)"]
    return "\n".join(lines)
