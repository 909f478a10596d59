"""``rag eval --server URL`` against a real running app (app.py, real embedder and embedded
LLM): the battery goes through the app's /ask API and is scored with the same metrics as a
local run of the same questions on the same index; the answers must agree."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 420
QUESTIONS = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp: Path, **extra) -> dict:
    env = dict(os.environ, RAG_INDEX_DIR=str(tmp / "index"), RAG_UPLOAD_DIR=str(tmp / "uploads"),
               GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", **extra)
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAG_AUTH"):
        env.pop(var, None)
    return env


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval-server")
    port = _free_port()
    log = (tmp / "app.log").open("w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env=_env(tmp, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1"),
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + STARTUP_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited with {proc.returncode}:\n{(tmp / 'app.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail(f"app.py did not serve {url} within {STARTUP_SECONDS} s")
            time.sleep(0.5)
        yield url, tmp
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _eval(tmp: Path, out: Path, *argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", "eval", "batteries/seed.jsonl", "--limit", str(QUESTIONS),
                           "--out", str(out), "--no-progress", *argv], cwd=ROOT, env=_env(tmp),
                          capture_output=True, text=True, timeout=900)


def _read(out: Path):
    report = json.loads((out / "report.json").read_text())
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return report, results


def test_battery_through_the_app_scores_like_a_local_run(app):
    url, tmp = app
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
