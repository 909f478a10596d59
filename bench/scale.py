"""Scale: a synthetic corpus of N chunks (100,000 by default) through the real store, FAISS
and BM25. Vectors are synthetic but shaped like real ones: mixtures of two real chunk
embeddings plus noise, so they cluster by topic as real embeddings do (uniform random
vectors would be an unrealistically hard case for graph indexes). Texts are words drawn
from the real corpus with its word frequencies. Queries are the real sample questions and
their real embeddings, so those timings exclude only the query encoding; hybrid is then timed
once more with the real encoder, which is what a user waits for."""

from __future__ import annotations

import gc
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from rag.index import dense

from rag.index import store
from rag.config import PROJECT_ROOT
from rag.models import Chunk
from rag.retrieve import Retriever

from .common import dir_size_mb, latency

# Loading is measured in a fresh process: the bench's own memory (models, the 100k texts it
# generated) would otherwise hide what the index itself costs.
_LOAD = """
import json, sys, time
import faiss, bm25s  # noqa: F401  (libraries are not the index: imported before the baseline)
from bench.common import status_mb
from rag.index import store
before = status_mb("VmRSS")
t = time.perf_counter()
data = store.load(sys.argv[1])
seconds = time.perf_counter() - t
print("LOAD " + json.dumps({"seconds": round(seconds, 2), "rss_before_mb": before, "rss_after_mb": status_mb("VmRSS"),
                            "peak_rss_mb": status_mb("VmHWM"), "chunks": len(data.chunks)}))
"""


def load_in_fresh_process(index_dir: Path) -> dict:
    """Load time and memory of ``store.load`` in a new Python process (imports excluded)."""
    proc = subprocess.run([sys.executable, "-c", _LOAD, str(index_dir)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("LOAD "):
            out = json.loads(line[5:])
            out["index_mb"] = round(out["rss_after_mb"] - out["rss_before_mb"], 1)
            return out
    return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}


class LookupEmbedder:
    """Returns precomputed query vectors, so search timings exclude the model."""

    name = "lookup"

    def __init__(self, table: dict[str, np.ndarray]):
        self.table = table
        self.dim = len(next(iter(table.values())))

    def embed_query(self, text: str) -> np.ndarray:
        return self.table[text]

    def embed_batch(self, texts, progress=None):
        return np.stack([self.table[t] for t in texts])


def synthetic_vectors(base: np.ndarray, n: int, seed: int = 0, noise: float = 0.6) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = base[rng.integers(0, len(base), n)]
    b = base[rng.integers(0, len(base), n)]
    w = rng.uniform(0.5, 1.0, (n, 1)).astype(np.float32)
    v = w * a + (1 - w) * b + noise * rng.standard_normal((n, base.shape[1])).astype(np.float32) / np.sqrt(base.shape[1])
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32)


def synthetic_texts(real_texts: list[str], n: int, words: int = 110, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    vocab = np.array(re.findall(r"\w+", " ".join(real_texts)))
    picks = rng.integers(0, len(vocab), (n, words))
    return [" ".join(vocab[row]) for row in picks]


def recall_at(approx_ids: np.ndarray, exact_ids: np.ndarray, k: int = 10) -> float:
    hits = sum(len(set(a[:k]) & set(e[:k]) - {-1}) for a, e in zip(approx_ids, exact_ids))
    return hits / (k * len(exact_ids))


def _search_all(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    ids, ms = [], []
    for q in queries:
        t = time.perf_counter()
        _, i = index.search(q.reshape(1, -1), k)
        ms.append((time.perf_counter() - t) * 1000)
        ids.append(i[0])
    return np.array(ids), ms


def run(n: int, base_vectors: np.ndarray, real_texts: list[str], questions: list[str],
        query_vectors: np.ndarray, workdir: Path, settings, log, embedder=None) -> dict:
    import faiss

    out: dict = {"chunks": n, "threshold": dense.HNSW_THRESHOLD,
                 "hnsw": {"M": dense.HNSW_M, "efConstruction": dense.HNSW_EF_CONSTRUCTION,
                          "efSearch": dense.HNSW_EF_SEARCH}}
    t = time.perf_counter()
    vectors = synthetic_vectors(np.asarray(base_vectors, dtype=np.float32), n)
    texts = synthetic_texts(real_texts, n)
    chunks = [Chunk(chunk_id=f"s{i}", doc_id=f"synthetic-{i // 4}", text=t_, start=0, end=len(t_), source="synthetic")
              for i, t_ in enumerate(texts)]
    out["generate_s"] = round(time.perf_counter() - t, 2)
    index_dir = workdir / "scale-index"
    shutil.rmtree(index_dir, ignore_errors=True)
    manifest = {"settings": {"synthetic": True}, "documents": {}, "inputs": []}
    t = time.perf_counter()
    with store.lock(index_dir):
        store.write(index_dir, manifest, chunks, vectors, texts)
    out["build_s"] = round(time.perf_counter() - t, 2)
    out["disk_mb"] = dir_size_mb(index_dir)
    del chunks, texts
    gc.collect()
    out["load"] = load_in_fresh_process(index_dir)
    t = time.perf_counter()
    data = store.load(index_dir)
    out["load_s"] = round(time.perf_counter() - t, 2)
    out["dense_index"] = data.manifest["dense_index"]
    log(f"  scale: {n} chunks built in {out['build_s']} s ({out['dense_index']}), loaded in {out['load_s']} s")

    table = dict(zip(questions, query_vectors))
    retriever = Retriever(data, LookupEmbedder(table), settings)
    for mode in ("hybrid", "dense", "bm25"):
        retriever.search(questions[0], mode=mode)
        ms = []
        for q in questions:
            t = time.perf_counter()
            retriever.search(q, k=10, mode=mode)
            ms.append((time.perf_counter() - t) * 1000)
        out[f"query_{mode}"] = latency(ms)
    if embedder is not None:  # what a user waits for: the real query encoding plus the search
        live = Retriever(data, embedder, settings)
        live.search(questions[0])
        ms = []
        for q in questions:
            t = time.perf_counter()
            live.search(q, k=10)
            ms.append((time.perf_counter() - t) * 1000)
        out["query_hybrid_with_encoding"] = latency(ms)

    # Exact search against the index the project built at this size.
    qv = np.ascontiguousarray(query_vectors, dtype=np.float32)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    exact_ids, exact_ms = _search_all(flat, qv, 10)
    out["exact_search"] = latency(exact_ms)
    if hasattr(data.faiss_index, "hnsw"):
        sweep = {}
        for ef in sorted({32, 64, dense.HNSW_EF_SEARCH, 256}):
            data.faiss_index.hnsw.efSearch = ef
            _search_all(data.faiss_index, qv[:5], 10)
            ids, ms = _search_all(data.faiss_index, qv, 10)
            sweep[ef] = {"recall@10": round(recall_at(ids, exact_ids), 4), **latency(ms)}
        data.faiss_index.hnsw.efSearch = dense.HNSW_EF_SEARCH
        out["hnsw_efsearch_sweep"] = sweep
        out["recall@10"] = sweep[dense.HNSW_EF_SEARCH]["recall@10"]
    else:
        out["recall@10"] = 1.0
    # Where exact search stops being the right default: its latency as the corpus grows.
    growth = {}
    for size in (10_000, 25_000, 50_000, 100_000, 200_000):
        if size > n:
            break
        part = faiss.IndexFlatIP(vectors.shape[1])
        part.add(vectors[:size])
        _, ms = _search_all(part, qv[:100], 10)  # a p50 curve: 100 queries are plenty
        growth[size] = latency(ms)["p50_ms"]
    out["exact_p50_ms_by_size"] = growth
    shutil.rmtree(index_dir, ignore_errors=True)
    return out
