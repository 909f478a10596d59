"""The benchmark's memory figures belong to the process measured, not to whoever started it."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = "from bench.common import peak_rss_mb; print(peak_rss_mb())"
PARENT = f"""
import subprocess, sys
ballast = bytearray(400 * 2**20)
for i in range(0, len(ballast), 4096):
    ballast[i] = 1  # touch every page: 400 MB resident in the parent
print(subprocess.run([sys.executable, "-c", {CHILD!r}], capture_output=True, text=True, cwd={str(ROOT)!r}).stdout)
"""


def test_a_child_does_not_report_its_parents_peak():
    # ru_maxrss would: Linux carries it across vfork+exec, which is how subprocess starts children.
    out = subprocess.run([sys.executable, "-c", PARENT], capture_output=True, text=True, cwd=ROOT, timeout=60)
    child_peak = float(out.stdout.strip())
    assert 0 < child_peak < 200, out


def test_index_load_is_measured_in_a_fresh_process(tmp_path):
    import numpy as np

    from bench.scale import load_in_fresh_process
    from rag.index import store
    from rag.models import Chunk

    texts = [f"chunk number {i} about topic {i % 7}" for i in range(50)]
    chunks = [Chunk(chunk_id=f"c{i}", doc_id=f"d{i}", text=t, start=0, end=len(t), source="s")
              for i, t in enumerate(texts)]
    vectors = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    with store.lock(tmp_path / "idx"):
        store.write(tmp_path / "idx", {"settings": {}, "documents": {}, "inputs": []}, chunks, vectors, texts)
    out = load_in_fresh_process(tmp_path / "idx")
    assert out["chunks"] == 50, json.dumps(out)
    assert out["peak_rss_mb"] >= out["rss_after_mb"] >= out["rss_before_mb"] > 0
    assert out["index_mb"] == round(out["rss_after_mb"] - out["rss_before_mb"], 1)
