"""Overload: more questions than the app's queue holds get a clear "busy, try again" reply.

The app answers ``QUEUE_CONCURRENCY`` questions at once and holds ``QUEUE_MAX_SIZE`` more.
Here the queue is shrunk to 3 and the engine's answers block until the test lets them go,
so the queue really is full: further calls must be turned away at once with a clear
message (gradio_client: ``QueueError("Queue is full! Please try again.")``; raw HTTP: 503
with "Queue is full"; the browser shows "This application is currently busy. Please try
again."), every accepted call must complete, and the app must answer normally afterwards.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rag.config import Settings
from rag.testing import HashEmbedder
from rag.engine import Engine
from rag.testing import FakeLLM
from rag.models import Answer

ROOT = Path(__file__).resolve().parent.parent
SEED = "raisi-iraq-trade-press-conference.txt"
QUESTION = "How large is the trade volume between Iran and Iraq?"
MAX_SIZE = 3

pytestmark = pytest.mark.slow


class GatedEngine(Engine):
    """An engine whose answers wait for ``release`` (a slow model under the test's control)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.release = threading.Event()
        self.running = 0
        self.started = 0
        self.peak_running = 0
        self._count = threading.Lock()

    def answer(self, question, history=(), k=None, mode=None) -> Answer:
        with self._count:
            self.running += 1
            self.started += 1
            self.peak_running = max(self.peak_running, self.running)
        try:
            if not self.release.wait(300):  # the fixture always releases at the end
                raise AssertionError("the test never released the answers")
            return Answer(question=question, text=f"answer to {question} [1]")
        finally:
            with self._count:
                self.running -= 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        time.sleep(0.05)


@pytest.fixture
def gated_app(tmp_path, monkeypatch):
    import app

    monkeypatch.setattr(app, "QUEUE_MAX_SIZE", MAX_SIZE)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(ROOT / "seeds" / SEED, seeds / SEED)
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "idx", upload_dir=tmp_path / "up")
    engine = GatedEngine(settings, embedder=HashEmbedder(), llm=FakeLLM(default="x"),
                         inputs=[seeds], log=lambda m: None)
    engine.load()
    from rag.serve import Keeper, build_store

    keeper_settings = settings.replace(data_dir=tmp_path / "data")
    demo = app.build_app(engine, Keeper(build_store(keeper_settings), keeper_settings))
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield engine, f"http://127.0.0.1:{port}"
    finally:
        engine.release.set()
        demo.close()


def _post_event(url: str, route: str, fn_index: int, data: list) -> tuple[int, str]:
    """POST an event as the browser's client does: to ``queue/join`` when the event is queued,
    to ``run/predict`` when it skips the queue; (HTTP status, body)."""
    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": "rawclient01",
                       "event_data": None, "trigger_id": None}).encode()
    req = urllib.request.Request(f"{url}/gradio_api/{route}", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_full_queue_turns_calls_away_clearly_and_the_accepted_ones_complete(gated_app):
    from gradio_client import Client
    from gradio_client.utils import QueueError, Status

    import app

    engine, url = gated_app
    client = Client(url, verbose=False, max_workers=64)

    # 1. fill the workers: QUEUE_CONCURRENCY answers start and block
    running = [client.submit(f"{QUESTION} #{i}", api_name="/ask") for i in range(app.QUEUE_CONCURRENCY)]
    _wait_for(lambda: engine.running == app.QUEUE_CONCURRENCY)
    # 2. fill the queue behind them, then overflow it, all at once
    extra = 5
    burst = [client.submit(f"{QUESTION} burst {i}", api_name="/ask") for i in range(MAX_SIZE + extra)]
    # Overflow calls are turned away at once, not hang: each burst call settles, within a
    # generous 60 s, as either done (turned away) or accepted into the queue (IN_QUEUE, where
    # it stays while the engine is gated), so nothing can still change once all have settled.
    _wait_for(lambda: all(job.done() or job.status().code == Status.IN_QUEUE for job in burst))
    rejected, waiting = [], []
    for job in burst:
        if not job.done():
            waiting.append(job)
            continue
        with pytest.raises(QueueError) as exc:
            job.result()
        rejected.append(str(exc.value))
    assert len(rejected) == extra, (len(rejected), len(waiting))
    assert all("Queue is full" in m and "try again" in m for m in rejected), rejected
    assert len(waiting) == MAX_SIZE

    # the same overflow through raw HTTP (what the browser's client gets): 503, a clear reason
    info = json.loads(urllib.request.urlopen(url + "/config", timeout=60).read())
    ask_index = next(i for i, d in enumerate(info["dependencies"]) if d.get("api_name") == "ask")
    status, body = _post_event(url, "queue/join", ask_index, [QUESTION])
    assert status == 503 and "Queue is full" in body, (status, body)
    assert engine.started == app.QUEUE_CONCURRENCY, "a turned-away call reached the engine"

    # light actions skip the queue (the browser's client posts them to /run/predict when the
    # config says queue: false), so with the queue full a page load still lists the documents
    deps = info["dependencies"]
    queued = {d["api_name"]: d["queue"] for d in deps}
    assert queued["respond"] and queued["ask"] and queued["add_files"] and queued["remove_file"], queued
    light = ("refresh", "select", "clear", "clear_1", "set_k", "set_mode", "load_example")
    assert not any(queued[name] for name in light), queued
    load_index = next(i for i, d in enumerate(deps) if d["api_name"] == "refresh")
    status, body = _post_event(url, "run/predict", load_index, [])
    assert status == 200, (status, body)
    assert SEED in body, body[:500]

    # 3. let the answers go: every accepted call completes, never more than 2 at once
    engine.release.set()
    for job in running + waiting:
        result = job.result(timeout=60)
        assert result["text"].startswith("answer to ")
    assert engine.started == app.QUEUE_CONCURRENCY + MAX_SIZE
    assert engine.peak_running <= app.QUEUE_CONCURRENCY

    # 4. the app answers normally afterwards
    after = Client(url, verbose=False).predict("And afterwards?", api_name="/ask")
    assert after["text"] == "answer to And afterwards? [1]"
