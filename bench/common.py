"""Small helpers shared by the benchmark sections: timing, percentiles, corpus I/O."""

from __future__ import annotations

import json
import random
import resource
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def pct(values, q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if len(values) else None


def latency(ms: list[float]) -> dict:
    return {"p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "n": len(ms)}


def median(values) -> float | None:
    return round(float(np.median(values)), 3) if len(values) else None


@contextmanager
def timer(out: dict, key: str = "seconds"):
    t0 = time.perf_counter()
    yield
    out[key] = round(time.perf_counter() - t0, 3)


def status_mb(field: str = "VmHWM", pid: str = "self") -> float:
    """A memory field of /proc/<pid>/status in MB: VmHWM (peak resident) or VmRSS (now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    raise KeyError(field)


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ``ru_maxrss``: Linux carries
    ``ru_maxrss`` across exec, and subprocess starts children with vfork, so a child's
    ``ru_maxrss`` starts at its parent's peak (the bench's 2 GB made a 0.8 GB app read 2.2 GB)."""
    try:
        return status_mb("VmHWM")
    except (OSError, KeyError):
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def read_jsonl(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path: Path, records: list[dict]) -> None:
    with Path(path).open("w", encoding="utf-8") as handle:
        for r in records:
            handle.write(json.dumps(r, ensure_ascii=False) + "\n")


def sample_questions(path: Path, n: int, doc_ids: set[str] | None = None, seed: int = 0) -> list[dict]:
    """A fixed (seeded) sample of questions with gold documents, restricted to ``doc_ids``."""
    qs = [q for q in read_jsonl(path) if q.get("gold") and (doc_ids is None or set(q["gold"]) & doc_ids)]
    random.Random(seed).shuffle(qs)
    return qs[:n]


def hit(doc_ids: list[str], gold, k: int = 5) -> bool:
    return bool(set(doc_ids[:k]) & set(gold))


def dir_size_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20, 2)
