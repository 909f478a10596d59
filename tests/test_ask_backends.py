"""End to end on both stores: ``rag index`` then ``rag ask`` (real embedder, embedded LLM)
and a retrieval-only battery, with the file index and with a real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import copy_seed
from pg_fixtures import new_database

pytestmark = [pytest.mark.slow, pytest.mark.integration]
ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How large is the trade volume between Iran and Iraq?"


def rag(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAG_STORE_URL"):
        env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=env)


def test_index_then_ask_answers_with_a_citation(backend, tmp_path, request):
    docs = copy_seed(tmp_path / "docs")
    where = ["--index-dir", str(tmp_path / "index")] if backend == "files" else \
        ["--store-url", new_database(request.getfixturevalue("pg_server"))]
    built = rag("index", str(docs), *where)
    assert built.returncode == 0 and "1 added" in built.stdout, built.stderr
    if backend == "postgres":
        assert "indexed into postgresql://postgres@localhost/" in built.stdout
    proc = rag("ask", QUESTION, "--json", *where)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert not answer["refused"] and not answer["error"]
    assert "10 billion" in answer["text"] or "billion" in answer["text"]
    assert answer["citations"] and all(c["source"] == "raisi-iraq-trade-press-conference.txt" and c["supported"]
                                       for c in answer["citations"])
    assert "10 billion euros" in answer["passages"][0]["text"]
    battery = tmp_path / "battery.jsonl"
    battery.write_text(json.dumps({"id": "q1", "question": QUESTION,
                                   "gold": ["raisi-iraq-trade-press-conference.txt"]}) + "\n")
    run = rag("eval", str(battery), "--retrieval-only", "--out", str(tmp_path / "run"), *where)
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["metrics"]["hit@5"] == 1.0 and report["corpus"]["chunks"] >= 1
