"""Shared fixtures: a tiny corpus, Settings pointing at a temporary index, the hashing fake
embedder, the seed document in a folder of its own, and the real app as a subprocess."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings as hypothesis_settings

from rag.config import Settings
from rag.testing import HashEmbedder

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "raisi-iraq-trade-press-conference.txt"
"""The seed document the answering tests ask about (Iran-Iraq trade)."""
APP_STARTUP_SECONDS = 420
FAKE_ANSWERABILITY = 0.0
"""The answerability threshold for tests on the hashing fake embedder: the learned model
(rag/answer/data/answerability.json) was trained on MiniLM cosines and word similarities,
which the fake's vectors are not, so its probabilities mean nothing there. Tests of
composition turn the decision off; tests/test_answerability.py pins it on real features."""

# No wall-clock checks in property tests: a loaded machine must not fail them. Per-example
# deadlines are off (each @settings also says so) and so is the "data generation too slow"
# health check, which times the generator.
hypothesis_settings.register_profile("loaded-box", deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("loaded-box")

CORPUS = {
    "paris.txt": "Paris is the capital of France. The Eiffel Tower stands in Paris.\n\n"
                 "France exports wine and cheese to many countries.",
    "berlin.md": "# Berlin\n\nBerlin is the capital of Germany. The Brandenburg Gate is in Berlin.",
    "rome.txt": "Rome is the capital of Italy. The Colosseum is an ancient amphitheatre in Rome.",
}


def write_corpus(folder: Path, files: dict[str, str] = CORPUS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def docs_dir(tmp_path) -> Path:
    return write_corpus(tmp_path / "docs")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(index_dir=tmp_path / "index", chunk_words=40, answerability_threshold=FAKE_ANSWERABILITY)


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


# ---------------------------------------------------------------------------- the seed document
def copy_seed(folder: Path) -> Path:
    """``folder`` (made here) holding a copy of :data:`SEED`."""
    folder.mkdir(parents=True)
    shutil.copy(SEED, folder / SEED.name)
    return folder


@pytest.fixture(scope="module")
def seed_docs(tmp_path_factory) -> Path:
    """A module's own ``docs`` folder holding a copy of the seed document (tests may add
    files); its parent folder is free for the index."""
    return copy_seed(tmp_path_factory.mktemp("seed") / "docs")


# ---------------------------------------------------------------------------- the app
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(tmp: Path, **extra) -> dict:
    """The environment for app.py or the CLI: index and uploads under ``tmp``, offline, the
    embedded LLM (no OpenAI endpoint), no login."""
    env = dict(os.environ, RAG_INDEX_DIR=str(tmp / "index"), RAG_UPLOAD_DIR=str(tmp / "uploads"),
               RAG_DATA_DIR=str(tmp / "data"),
               GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", **extra)
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAG_AUTH"):
        env.pop(var, None)
    return env


def stop_process(proc: subprocess.Popen, group: bool = False) -> None:
    """SIGTERM (to the whole process group with ``group``), then SIGKILL after 20 s."""
    def send(sig):
        os.killpg(proc.pid, sig) if group else proc.send_signal(sig)
    send(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait()


def wait_until_serving(proc: subprocess.Popen, url: str, tmp: Path) -> None:
    """Until app.py (logging to ``tmp/app.log``) answers ``url`` over HTTP (any status: a 401
    behind auth is serving too); fails with its log's tail if it exits first or does not answer
    within APP_STARTUP_SECONDS."""
    deadline = time.time() + APP_STARTUP_SECONDS
    while True:
        if proc.poll() is not None:
            pytest.fail(f"app.py exited with {proc.returncode}:\n{(tmp / 'app.log').read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            pass
        if time.time() > deadline:
            pytest.fail(f"app.py did not serve {url} within {APP_STARTUP_SECONDS} s")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """``python app.py`` (real embedder, embedded LLM, :func:`app_env`) on a free port, once it
    serves its page; yields ``(url, tmp)``. Its process group is killed afterwards."""
    tmp = tmp_path_factory.mktemp("app")
    port = free_port()
    log = (tmp / "app.log").open("w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env=app_env(tmp, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1"),
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(proc, url, tmp)
        yield url, tmp
    finally:
        stop_process(proc, group=True)
        log.close()


from pg_fixtures import backend, pg_server, pg_url, store_settings, tcp_server  # noqa: E402,F401  (shared fixtures)
