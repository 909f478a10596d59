"""Retrieval latency and hit@5, in process, on a fixed sample of questions: hybrid, dense and
BM25 through rag's Retriever, against a bare encode + faiss search and LlamaIndex's retriever.

The contenders take turns on each question (in rotating order), so load from other
processes on a shared machine falls on all of them alike."""

from __future__ import annotations

import time

import numpy as np

from rag.retrieve import Retriever

from .bare import bare_encoder, embedder_backend
from .common import hit, latency


def run(questions: list[dict], data, embedder, settings, llamaindex_index=None, k: int = 5) -> dict:
    import faiss

    retriever = Retriever(data, embedder, settings)
    backend = embedder_backend(embedder)
    model = bare_encoder(settings, backend)
    flat = faiss.IndexFlatIP(data.vectors.shape[1])
    flat.add(np.ascontiguousarray(data.vectors, dtype=np.float32))
    doc_of = [c.doc_id for c in data.chunks]

    def bare(q: str, threads: int | None = None) -> list[str]:
        """Plain encode on the embedder's backend + exact faiss search; ``threads`` as the
        embedder's query path (bench/bare.py)."""
        v = model.encode_query(q, threads)
        _, ids = flat.search(v.astype(np.float32), k)
        return [doc_of[i] for i in ids[0] if i >= 0]

    contenders = {mode: (lambda q, m=mode: [p.chunk.doc_id for p in retriever.search(q, k=k, mode=m)])
                  for mode in ("hybrid", "dense", "bm25")}
    contenders["bare_encode_faiss"] = bare
    q_threads = getattr(embedder, "query_threads", 0)
    if q_threads:
        contenders[f"bare_encode_faiss_{q_threads}thread"] = lambda q: bare(q, q_threads)
    if llamaindex_index is not None:
        li = llamaindex_index.as_retriever(similarity_top_k=k)
        contenders["llamaindex"] = lambda q: [n.node.ref_doc_id for n in li.retrieve(q)]

    names = list(contenders)
    for name in names:  # warm
        contenders[name](questions[0]["question"])
    ms = {n: [] for n in names}
    hits = {n: 0 for n in names}
    for i, q in enumerate(questions):
        for j in range(len(names)):
            name = names[(i + j) % len(names)]
            t = time.perf_counter()
            doc_ids = contenders[name](q["question"])
            ms[name].append((time.perf_counter() - t) * 1000)
            hits[name] += hit(doc_ids, q["gold"], k)
    out: dict = {"questions": len(questions), "k": k, "backend": backend, "threads": model.threads(),
                 "query_threads": q_threads}
    for name in names:
        out[name] = {**latency(ms[name]), f"hit@{k}": round(hits[name] / len(questions), 3)}
    out["hybrid_vs_bare_p50"] = round(out["hybrid"]["p50_ms"] / out["bare_encode_faiss"]["p50_ms"], 3)
    if q_threads:
        same = out[f"bare_encode_faiss_{q_threads}thread"]["p50_ms"]
        out["hybrid_vs_bare_same_threads_p50"] = round(out["hybrid"]["p50_ms"] / same, 3)
    return out
