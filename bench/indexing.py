"""Indexing: the rag pipeline against a bare encode loop over the same texts on the same
backend (same model, batch size and threads; bench/bare.py), LlamaIndex's default build,
and an incremental re-index after one document changed. Runs alternate so drift hits all alike."""

from __future__ import annotations

import gc
import json
import shutil
import time
from pathlib import Path

from rag.config import Settings
from rag.index import build_embedder
from rag.index.indexing import embed_text, index_paths

from .bare import bare_encoder, embedder_backend
from .common import median, read_jsonl, write_jsonl


def bare_encode(model, texts: list[str], batch_size: int) -> tuple[float, float]:
    """(wall, CPU) seconds for one plain encode over ``texts`` (see bench/bare.py)."""
    t0, c0 = time.perf_counter(), time.process_time()
    model.encode(texts, batch_size)
    return time.perf_counter() - t0, time.process_time() - c0


def llamaindex_build(corpus: list[dict], settings: Settings) -> tuple[float, object, object]:
    """LlamaIndex's default ``VectorStoreIndex.from_documents`` with the same bundled model."""
    from llama_index.core import Document, Settings as LISettings, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from rag.index import bundled_model_path

    embed = HuggingFaceEmbedding(model_name=bundled_model_path(), device="cpu")
    LISettings.llm = None
    docs = [Document(text=d["text"], id_=d["id"], metadata={"title": d.get("title", "")}) for d in corpus]
    t0, c0 = time.perf_counter(), time.process_time()
    index = VectorStoreIndex.from_documents(docs, embed_model=embed, show_progress=False)
    return time.perf_counter() - t0, time.process_time() - c0, index, embed


def run(corpus_path: Path, workdir: Path, settings: Settings, repeat: int, log, llamaindex: bool = True) -> dict:
    corpus = read_jsonl(corpus_path)
    workdir.mkdir(parents=True, exist_ok=True)
    local = workdir / "corpus.jsonl"
    write_jsonl(local, corpus)
    index_dir = workdir / "index"
    s = settings.replace(index_dir=index_dir)

    embedder = build_embedder(s)
    t0 = time.perf_counter()
    embedder.embed_batch(["warm up"])
    load_s = time.perf_counter() - t0
    backend = embedder_backend(embedder)
    model = bare_encoder(s, backend)
    bare_encode(model, ["warm up"], s.embed_batch_size)
    if llamaindex:
        llamaindex_build(corpus[:2], s)  # warm: imports and model load stay out of the timing
    quiet = lambda m: None  # noqa: E731

    pipeline_s, bare_s, pipeline_cpu, bare_cpu, texts, data = [], [], [], [], None, None
    for r in range(repeat):
        shutil.rmtree(index_dir, ignore_errors=True)
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        data, report = index_paths([local], s, embedder, log=quiet)
        pipeline_s.append(time.perf_counter() - t)
        pipeline_cpu.append(time.process_time() - c)
        texts = [embed_text(c) for c in data.chunks]
        gc.collect()
        wall, cpu = bare_encode(model, texts, s.embed_batch_size)
        bare_s.append(wall)
        bare_cpu.append(cpu)
        log(f"  indexing run {r + 1}/{repeat}: pipeline {pipeline_s[-1]:.1f} s, bare encode {bare_s[-1]:.1f} s "
            f"({len(texts)} chunks)")
    n = len(texts)
    result = {
        "documents": len(corpus), "chunks": n, "model_load_s": round(load_s, 2),
        "backend": backend, "batch_size": s.embed_batch_size, "threads": model.threads(),
        "max_seq_length": s.embed_max_seq_length,
        "pipeline": {"seconds": [round(x, 2) for x in pipeline_s], "median_s": median(pipeline_s),
                     "chunks_per_s": round(n / median(pipeline_s), 1)},
        "bare_encode": {"seconds": [round(x, 2) for x in bare_s], "median_s": median(bare_s),
                        "chunks_per_s": round(n / median(bare_s), 1)},
        "ratios_per_run": [round(b / p, 3) for p, b in zip(pipeline_s, bare_s)],
        # CPU seconds are far less sensitive to other processes on a shared machine than wall time.
        "pipeline_cpu_s": [round(x, 2) for x in pipeline_cpu], "bare_cpu_s": [round(x, 2) for x in bare_cpu],
        "pipeline_vs_bare_cpu": round(median(bare_cpu) / median(pipeline_cpu), 3),
    }
    result["pipeline_vs_bare"] = round(median(bare_s) / median(pipeline_s), 3)
    del model
    gc.collect()

    # Incremental: change one document's text, re-index, count what was embedded.
    changed = [dict(d) for d in corpus]
    changed[len(changed) // 2]["text"] += " This sentence was added by the benchmark."
    write_jsonl(local, changed)
    t = time.perf_counter()
    _, report = index_paths([local], s, embedder, log=quiet)
    result["incremental"] = {"seconds": round(time.perf_counter() - t, 2), "embedded_chunks": report.embedded,
                             "updated_documents": report.updated, "unchanged_documents": report.unchanged}
    write_jsonl(local, corpus)
    index_paths([local], s, embedder, log=quiet)

    li = None
    if llamaindex:
        li_s, li_cpu = [], []
        for r in range(repeat):
            gc.collect()
            seconds, cpu, li, li_embed = llamaindex_build(corpus, s)
            li_s.append(seconds)
            li_cpu.append(cpu)
            log(f"  LlamaIndex build {r + 1}/{repeat}: {seconds:.1f} s")
        result["llamaindex"] = {"seconds": [round(x, 2) for x in li_s], "median_s": median(li_s),
                                "cpu_s": [round(x, 2) for x in li_cpu],
                                "nodes": len(li.docstore.docs), "embed_batch_size": li_embed.embed_batch_size}
        result["llamaindex_vs_pipeline"] = round(median(li_s) / median(pipeline_s), 3)
        result["llamaindex_vs_pipeline_cpu"] = round(median(li_cpu) / median(pipeline_cpu), 3)
    return {"result": result, "index_dir": index_dir, "data": data, "embedder": embedder,
            "llamaindex_index": li, "settings": s}


def dumps(result: dict) -> str:
    return json.dumps(result, indent=1)
