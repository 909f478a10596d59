"""bench/load.py: the memory figures tell a plateau from a leak, and a short run against the
app (with fake answers) reports answers, latency, errors and memory after warm-up."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import load  # noqa: E402
from conftest import stop_process, wait_until_serving  # noqa: E402


def _samples(mb_at):
    """Half-second samples over 120 s: (seconds, kB, answers so far)."""
    return [(t / 2, int(mb_at(t / 2) * 1024), t // 4) for t in range(240)]


def test_memory_report_of_a_plateau_shows_no_growth_after_warm_up():
    r = load.memory_report(900 * 1024, _samples(lambda t: 1000 + min(t, 20) * 5), 1100 * 1024,
                           warmup=30, every=10)
    assert r["before_load"] == 900 and r["after_warmup"] == 1100 and r["after_warmup_at_s"] == 30
    assert r["end"] == 1100 and r["peak"] == 1100
    assert r["growth_after_warmup_mb"] == 0 and r["slope_after_warmup_mb_per_min"] == 0
    assert [x["t"] for x in r["timeline"]] == [10 * i for i in range(12)]


def test_memory_report_of_a_leak_shows_its_rate():
    r = load.memory_report(900 * 1024, _samples(lambda t: 1000 + t), 1120 * 1024, warmup=30, every=10)
    assert r["after_warmup"] == 1030 and r["end"] == 1120 and r["peak"] == 1120
    assert r["growth_after_warmup_mb"] == 90 and r["growth_after_warmup_pct"] == pytest.approx(8.7, abs=0.1)
    assert r["slope_after_warmup_mb_per_min"] == pytest.approx(60, abs=0.5)


def test_only_loopback_targets():
    load.loopback_only("http://127.0.0.1:7860")
    load.loopback_only("http://localhost:7860")
    with pytest.raises(SystemExit):
        load.loopback_only("http://10.0.0.5:7860")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("mode", [[], ["--api"]], ids=["ask", "api-stream"])
def test_a_short_run_against_the_app_reports_memory_after_warm_up(tmp_path, mode):
    port = _free_port()
    env = dict(os.environ, UI_FAKE_EMBEDDER="1", RAG_INDEX_DIR=str(tmp_path / "index"),
               RAG_UPLOAD_DIR=str(tmp_path / "uploads"), RAG_DATA_DIR=str(tmp_path / "data"),
               GRADIO_SERVER_NAME="127.0.0.1",
               GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    log = (tmp_path / "app.log").open("w")
    app = subprocess.Popen([sys.executable, "tests/ui_fakes.py"], cwd=ROOT, env=env, stdout=log,
                           stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(app, url + "/gradio_api/info", tmp_path)
        out = tmp_path / "load.json"
        proc = subprocess.run([sys.executable, "bench/load.py", "--url", url, "--pid", str(app.pid),
                               "--clients", "3", "--seconds", "6", "--warmup", "2", "--sample-every", "1",
                               "--out", str(out), *mode], cwd=ROOT, capture_output=True, text=True,
                              timeout=300)  # past load.py's own bound: 6 s + 120 s a call + 30 s
        assert proc.returncode == 0, proc.stderr[-2000:]
        r = json.loads(out.read_text())
        assert r["mode"] == ("api-stream" if mode else "ask")
        assert r["answers"] > 0 and r["errors"] == 0 and r["clients_hung"] == 0
        assert r["latency_s"]["p50"] > 0 and r["latency_s"]["p99"] >= r["latency_s"]["p50"]
        mem = r["app_rss_mb"]
        assert mem["before_load"] > 0 and mem["after_warmup_at_s"] >= 2
        assert mem["peak"] >= max(mem["after_warmup"], mem["end"])
        assert mem["growth_after_warmup_mb"] == pytest.approx(mem["end"] - mem["after_warmup"], abs=0.2)
        assert len(mem["timeline"]) >= 4
    finally:
        stop_process(app)


def _sse(*events):
    return "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events).encode()


@pytest.mark.parametrize("events, problem", [
    (("ROLE", "TEXT", "FINAL", "[DONE]"), None),
    (("ROLE", "TEXT", "FINAL"), "stream did not end with [DONE]"),
    (("ROLE", "TEXT", "BARE", "[DONE]"), "no citations in the final chunk"),
    (("ROLE", "TEXT", "[DONE]"), "no final chunk with finish_reason stop"),
])
def test_a_stream_counts_only_when_it_ends_with_done_and_citations(events, problem):
    import httpx

    chunk = lambda delta, finish=None, **kw: {"choices": [{"delta": delta, "finish_reason": finish}], **kw}  # noqa: E731
    parts = {"ROLE": chunk({"role": "assistant", "content": ""}), "TEXT": chunk({"content": "It is 10 [1]."}),
             "FINAL": chunk({}, "stop", citations=[{"n": 1}], refused=False), "BARE": chunk({}, "stop"),
             "[DONE]": "[DONE]"}
    body = _sse(*(parts[e] for e in events))
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    with httpx.Client(transport=transport) as http:
        assert load.stream_completion(http, "http://127.0.0.1:1", "q", None, 5) == problem
