"""Peak resident memory, each in a fresh process: ``python -m rag index`` (with its wall time,
model loading included) and the app's engine with the index, embedder and embedded LLM
loaded after answering one question (gradio imported, as app.py does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rag.config import PROJECT_ROOT

# A small wrapper process runs the command and reports its children's peak. ru_maxrss is
# inherited across vfork+exec, so the child's figure starts from the wrapper's (~10 MB), never
# from the benchmark's own peak (which is what a direct child of the bench would report).
_RSS = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
        "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")

_APP = """
import json, sys, time
t = time.perf_counter()
import gradio  # noqa: F401  (what app.py imports)
from rag.config import Settings
from rag.engine import Engine
engine = Engine(Settings.from_env(), log=lambda m: None)
engine.load()
answer = engine.answer(sys.argv[1])
from bench.common import peak_rss_mb  # VmHWM: ru_maxrss would start at the bench's own peak
print("APP " + json.dumps({"peak_rss_mb": peak_rss_mb(),
                           "seconds": round(time.perf_counter() - t, 2), "answer_error": answer.error}))
"""


def _env(index_dir: Path) -> dict:
    env = dict(os.environ, RAG_INDEX_DIR=str(index_dir), HF_HUB_OFFLINE="1", TQDM_DISABLE="1")
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    return env


def rag_index(corpus: Path, index_dir: Path) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _RSS, sys.executable, "-m", "rag", "index", str(corpus),
                           "--index-dir", str(index_dir)], cwd=PROJECT_ROOT, env=_env(index_dir),
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t
    return {"peak_rss_mb": _peak(proc.stdout), "seconds": round(seconds, 2), "exit": proc.returncode,
            "stderr_tail": proc.stderr.strip().splitlines()[-1:] if proc.returncode else []}


def app(index_dir: Path, question: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _APP, question], cwd=PROJECT_ROOT, env=_env(index_dir),
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("APP "):
            return json.loads(line[4:])
    return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1], "exit": proc.returncode}


def _peak(stdout: str) -> float | None:
    for line in stdout.splitlines():
        if line.startswith("PEAK_RSS_KB"):
            return round(int(line.split()[1]) / 1024, 1)
    return None
