"""``rag eval --server URL`` against a real running app (app.py, real embedder and embedded
LLM): the battery goes through the app's /ask API and is scored with the same metrics as a
local run of the same questions on the same index; the answers must agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, app_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTIONS = 6


def _eval(tmp: Path, out: Path, *argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", "eval", "batteries/seed.jsonl", "--limit", str(QUESTIONS),
                           "--out", str(out), "--no-progress", *argv], cwd=ROOT, env=app_env(tmp),
                          capture_output=True, text=True, timeout=900)


def _read(out: Path):
    report = json.loads((out / "report.json").read_text())
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return report, results


def test_battery_through_the_app_scores_like_a_local_run(app_server):
    url, tmp = app_server
    remote = _eval(tmp, tmp / "remote", "--server", url, "--workers", "2", "--fail-under", "n_answerable=1")
    assert remote.returncode == 0, remote.stderr[-2000:]
    assert "quality gate passed" in remote.stdout
    local = _eval(tmp, tmp / "local", "--index-dir", str(tmp / "index"))
    assert local.returncode == 0, local.stderr[-2000:]

    r_report, r_results = _read(tmp / "remote")
    l_report, l_results = _read(tmp / "local")
    assert r_report["config"]["server"] == url and "app at" in r_report["config"]["llm"]
    assert r_report["n"] == l_report["n"] == QUESTIONS
    assert [r["id"] for r in r_results] == [r["id"] for r in l_results]
    for name in ("answer_match", "answer_f1", "citation_valid", "false_refusal", "hit@1", "hit@5"):
        assert name in r_report["metrics"], name
    assert all(r["error"] is None for r in r_results)
    # same index, same settings, temperature 0: the app answers what a local run answers
    same = sum(a["answer"] == b["answer"] for a, b in zip(r_results, l_results))
    assert same >= QUESTIONS - 1, [(a["answer"], b["answer"]) for a, b in zip(r_results, l_results)]
    assert [r["metrics"].get("gold_rank") for r in r_results] == [r["metrics"].get("gold_rank") for r in l_results]
    assert (tmp / "remote" / "report.html").exists()
