"""The Markdown table printed at the end of a benchmark run."""

from __future__ import annotations


def _f(value, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        value = f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value}{unit}"


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [f"Benchmark {r['started']} · {m['cpus']} cores, {m['memory_gb']} GB · torch {m['torch']} "
             f"({m['torch_threads']} threads) · load average {m['load_average_start'][0]:.1f} → "
             f"{m.get('load_average_end', [0])[0]:.1f} · {r['total_s']} s" + (" · QUICK" if r["quick"] else ""),
             "", "| section | what | figure |", "|---|---|---|"]
    row = lambda s, w, f: lines.append(f"| {s} | {w} | {f} |")  # noqa: E731
    ix = r.get("indexing")
    if ix:
        n = ix["chunks"]
        row("indexing", f"rag pipeline ({ix.get('backend', 'torch')}), {ix['documents']} docs → {n} chunks "
            f"(median of {len(ix['pipeline']['seconds'])})",
            f"{_f(ix['pipeline']['median_s'], ' s')} · {_f(ix['pipeline']['chunks_per_s'])} chunks/s")
        bare = "SentenceTransformer.encode" if ix.get("backend", "torch") == "torch" else f"{ix['backend']} session.run"
        row("indexing", f"bare {bare}, same texts/model/batch/threads",
            f"{_f(ix['bare_encode']['median_s'], ' s')} · {_f(ix['bare_encode']['chunks_per_s'])} chunks/s")
        row("indexing", "**pipeline throughput / bare** (target ≥ 0.9)",
            f"**{ix['pipeline_vs_bare']}** wall (per run {ix['ratios_per_run']}) · {ix['pipeline_vs_bare_cpu']} CPU")
        if "llamaindex" in ix:
            li = ix["llamaindex"]
            row("indexing", f"LlamaIndex VectorStoreIndex.from_documents ({li['nodes']} nodes)",
                f"{_f(li['median_s'], ' s')}")
            row("indexing", "**LlamaIndex time / pipeline time** (target ≥ 1.5)", f"**{ix['llamaindex_vs_pipeline']}** wall · {ix['llamaindex_vs_pipeline_cpu']} CPU")
        inc = ix["incremental"]
        row("indexing", "incremental re-index, one document changed",
            f"{_f(inc['seconds'], ' s')} ({inc['embedded_chunks']} chunks embedded)")
    rt = r.get("retrieval")
    if rt:
        for name in ("hybrid", "dense", "bm25", "bare_encode_faiss", "bare_encode_faiss_1thread", "llamaindex"):
            if name in rt:
                x = rt[name]
                row("retrieval", f"{name} ({rt['questions']} q)",
                    f"p50 {_f(x['p50_ms'], ' ms')} · p95 {_f(x['p95_ms'], ' ms')} · hit@5 {x['hit@5']}")
        row("retrieval", "**hybrid p50 / bare p50** (target ≤ 1.3, hybrid < 15 ms)", f"**{rt['hybrid_vs_bare_p50']}**" + (f" (vs bare at the same {rt['query_threads']} query thread: "
            f"{rt['hybrid_vs_bare_same_threads_p50']})" if "hybrid_vs_bare_same_threads_p50" in rt else ""))
    an = r.get("answering")
    if an and "error" not in an:
        row("answering", f"Engine.stream, {an['questions']} q ({an['llm']})",
            f"TTFT p50 {_f(an['ttft']['p50_ms'], ' ms')} p95 {_f(an['ttft']['p95_ms'], ' ms')} · total p50 "
            f"{_f(an['total']['p50_ms'], ' ms')} p95 {_f(an['total']['p95_ms'], ' ms')} · "
            f"{_f(an['tokens_per_s']['p50'])} / {_f(an['tokens_per_s']['p95'])} tok/s (p50/p95)")
    elif an:
        row("answering", "error", an["error"])
    me = r.get("memory")
    if me:
        ri = me["rag_index"]
        row("memory", "peak RSS `python -m rag index` (cold, incl. model load)",
            f"{_f(ri['peak_rss_mb'], ' MB')} · {_f(ri['seconds'], ' s')}")
        ap = me["app"]
        row("memory", "peak RSS engine + embedded LLM after one answer (gradio imported)",
            f"{_f(ap.get('peak_rss_mb'), ' MB')}" + (f" ({ap['error']})" if "error" in ap else ""))
    sc = r.get("scale")
    if sc:
        row("scale", f"{sc['chunks']:,} synthetic chunks: build · load · disk",
            f"{_f(sc['build_s'], ' s')} · {_f(sc['load_s'], ' s')} · {_f(sc['disk_mb'], ' MB')}")
        for mode in ("hybrid", "dense", "bm25"):
            x = sc[f"query_{mode}"]
            row("scale", f"query {mode} (excl. query encoding)", f"p50 {_f(x['p50_ms'], ' ms')} · p95 {_f(x['p95_ms'], ' ms')}")
        if "query_hybrid_with_encoding" in sc:
            x = sc["query_hybrid_with_encoding"]
            row("scale", "**query hybrid incl. query encoding** (target p50 ≤ 30 ms)",
                f"**p50 {_f(x['p50_ms'], ' ms')}** · p95 {_f(x['p95_ms'], ' ms')}")
        row("scale", f"dense index: {sc['dense_index']}", f"recall@10 vs exact {sc['recall@10']} · exact p50 "
            f"{_f(sc['exact_search']['p50_ms'], ' ms')}")
        if sc["exact_p50_ms_by_size"]:
            row("scale", "exact search p50 by size", ", ".join(f"{int(k):,}: {v} ms"
                                                               for k, v in sc["exact_p50_ms_by_size"].items()))
        for ef, x in sc.get("hnsw_efsearch_sweep", {}).items():
            row("scale", f"HNSW efSearch {ef}", f"recall@10 {x['recall@10']} · p50 {_f(x['p50_ms'], ' ms')}")
        ld = sc.get("load", {})
        if "error" in ld:
            row("scale", "load in a fresh process", ld["error"])
        elif ld:
            row("scale", "load in a fresh process: time · resident memory of the loaded index · process peak",
                f"{_f(ld['seconds'], ' s')} · {_f(ld['index_mb'], ' MB')} · {_f(ld['peak_rss_mb'], ' MB')}")
    return "\n".join(lines)
