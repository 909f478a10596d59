"""CI smoke test of the benchmark: ``python -m bench --quick`` runs and writes its JSON.
Timings are not checked (shared machines); the shape of the results is."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "benchmarks" / "squad-dev-half-a" / "corpus.jsonl"
if not CORPUS.exists():  # a clone outside /work: the bench falls back the same way
    CORPUS = Path("/work/shared/benchmarks/squad-dev-half-a/corpus.jsonl")


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.exists(), reason="benchmark corpus not present")
def test_bench_quick_writes_json(tmp_path):
    pytest.importorskip("llama_index.core")
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(out.read_text())
    ix = r["indexing"]
    assert ix["chunks"] > 0 and ix["pipeline"]["median_s"] > 0 and ix["bare_encode"]["median_s"] > 0
    assert ix["incremental"]["embedded_chunks"] >= 1
    assert ix["incremental"]["unchanged_documents"] == ix["documents"] - 1
    assert ix["llamaindex"]["nodes"] > 0
    for name in ("hybrid", "dense", "bm25", "bare_encode_faiss", "llamaindex"):
        assert 0 <= r["retrieval"][name]["hit@5"] <= 1
    assert r["memory"]["rag_index"]["exit"] == 0 and r["memory"]["rag_index"]["peak_rss_mb"] > 0
    assert r["memory"]["app"]["answer_error"] is None and r["memory"]["app"]["peak_rss_mb"] > 0
    assert r["scale"]["chunks"] == 3000 and 0 <= r["scale"]["recall@10"] <= 1
    assert r["scale"]["query_hybrid_with_encoding"]["n"] == 10
    assert r["scale"]["load"]["chunks"] == 3000 and r["scale"]["load"]["peak_rss_mb"] > 0
    assert "| indexing |" in proc.stdout
