"""Access and secrets, end to end: the real app and CLI as subprocesses, a stub LLM endpoint.

* With RAG_AUTH every route needs the login: the ``ask`` API (gradio_client and raw HTTP),
  the config, uploads.
* The LLM endpoint failing in every way gives a clear message in the CLI and through the
  app's ``ask`` API, the retrieved sources are still returned, and the app recovers once
  the endpoint is back, without a restart.
* OPENAI_API_KEY and the RAG_AUTH password never appear in any output, reply or file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port, stop_process, wait_until_serving
from stub_llm_server import StubLLMServer

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-dummy-Secr3tKey-7Q2w"
PASSWORD = "pw-Secr3tPass-9Zx"
USER = "tester"
API_KEY = "sk-rag-Api-Secr3t-5Kq"
SECRETS = (KEY, PASSWORD, API_KEY)
QUESTION = "How large is the trade volume between Iran and Iraq?"

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def stub():
    server = StubLLMServer(reply="The trade volume is about 10 billion dollars [1].").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def env(tmp_path_factory, stub):
    tmp = tmp_path_factory.mktemp("access")
    return dict(os.environ, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=stub.url, RAG_AUTH=f"{USER}:{PASSWORD}",
                RAG_INDEX_DIR=str(tmp / "index"), RAG_UPLOAD_DIR=str(tmp / "uploads"), RAG_LLM_TIMEOUT="2",
                RAG_DATA_DIR=str(tmp / "data"), RAG_API_KEYS=f"sk-other-key,{API_KEY}",
                RAG_LLM_RETRIES="0", RAG_REFUSAL_THRESHOLD="0", GRADIO_ANALYTICS_ENABLED="False",
                HF_HUB_OFFLINE="1"), tmp


@pytest.fixture(scope="module")
def app(env):
    environ, tmp = env
    port = free_port()
    log = tmp / "app.log"
    environ = dict(environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port))
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=environ, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, url + "/gradio_api/info", tmp)
        yield url, log
    finally:
        stop_process(proc)


def _status(url: str, method: str = "GET", data: bytes | None = None, headers=None) -> int:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _client(url):
    from gradio_client import Client

    return Client(url, auth=(USER, PASSWORD), verbose=False)


# ------------------------------------------------------------------------- access
def test_unauthenticated_calls_are_refused(app):
    url, _ = app
    from gradio_client import Client

    with pytest.raises(Exception) as info:
        Client(url, verbose=False).predict(QUESTION, api_name="/ask")
    assert "401" in str(info.value) or "auth" in str(info.value).lower() or "login" in str(info.value).lower()
    assert _status(url + "/config") in (401, 403)
    assert _status(url + "/gradio_api/info") in (401, 403)
    body = json.dumps({"data": [QUESTION]}).encode()
    assert _status(url + "/gradio_api/call/ask", "POST", body, {"Content-Type": "application/json"}) in (401, 403)
    boundary = "x1x"
    upload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\n"
              f"hello\r\n--{boundary}--\r\n").encode()
    assert _status(url + "/gradio_api/upload", "POST", upload,
                   {"Content-Type": f"multipart/form-data; boundary={boundary}"}) in (401, 403)
    with pytest.raises(Exception):
        Client(url, auth=(USER, "wrong-password"), verbose=False)


def test_login_gives_answers_through_the_ask_api(app, stub):
    url, _ = app
    stub.mode = "ok"
    result = _client(url).predict(QUESTION, api_name="/ask")
    assert result["error"] is None and result["passages"], result
    assert "billion" in result["text"] or result["refused"] is False


def _api(url, key=None, question=QUESTION):
    body = json.dumps({"model": "rag", "messages": [{"role": "user", "content": question}]}).encode()
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    req = urllib.request.Request(url + "/v1/chat/completions", data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_api_needs_one_of_its_keys_and_the_llm_down_is_503(app, stub):
    url, _ = app
    stub.mode = "ok"
    for key in (None, "sk-wrong", PASSWORD):
        status, body = _api(url, key)
        assert status == 401 and body["error"]["code"] == "invalid_api_key"
    status, body = _api(url, API_KEY)
    assert status == 200 and body["choices"][0]["message"]["content"] and "citations" in body
    stub.mode = "500"
    try:
        status, body = _api(url, API_KEY)
    finally:
        stub.mode = "ok"
    assert status == 503 and body["error"]["type"] == "server_error"
    assert _api(url, API_KEY)[0] == 200  # recovered, no restart


# ------------------------------------------------------------------------- LLM faults
FAULTS = ["500", "429", "malformed", "no_choices", "stall", "die", "down"]


def _set_fault(stub, mode):
    stub.stall_seconds = 120  # far past the app's 2 s LLM timeout: only a timeout ends the call
    stub.mode = "ok" if mode == "down" else mode


@pytest.mark.parametrize("mode", [m for m in FAULTS if m != "down"])  # "down": the CLI test below
def test_llm_faults_in_the_app_keep_sources_and_recover(app, stub, mode):
    url, _ = app
    client = _client(url)
    _set_fault(stub, mode)
    # The fault must come back as an error, not hang: a generous bound, as a future timeout.
    result = client.submit(QUESTION, api_name="/ask").result(timeout=90)
    assert result["error"], f"{mode}: no error reported: {result}"
    assert result["passages"], "the retrieved sources are still returned"
    assert "Traceback" not in result["error"] and not any(s in json.dumps(result) for s in SECRETS)
    stub.mode = "ok"
    again = client.predict(QUESTION, api_name="/ask")
    assert again["error"] is None, f"did not recover after {mode}: {again['error']}"


def _cli_ask(environ, *extra):
    return subprocess.run([sys.executable, "-m", "rag", "ask", QUESTION, *extra], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("mode", FAULTS)
def test_llm_faults_in_the_cli_give_one_clear_line_and_the_sources(env, stub, mode, tmp_path):
    environ, _ = env
    environ = dict(environ)
    if mode == "down":
        environ["OPENAI_BASE_URL"] = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    _set_fault(stub, mode)
    try:
        result = _cli_ask(environ)
    finally:
        stub.mode = "ok"
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "Closest passages:" in result.stdout, result.stdout
    assert not any(s in out for s in SECRETS)


# ------------------------------------------------------------------------- secrets
def test_secrets_never_appear_in_output_replies_or_files(app, env, stub):
    url, log = app
    environ, tmp = env
    client = _client(url)
    replies = []
    for mode in ("ok", "500", "malformed"):
        stub.mode = mode
        replies.append(json.dumps(client.predict(QUESTION, api_name="/ask")))
        replies.append(json.dumps(_api(url, API_KEY)))
        replies.append(json.dumps(_api(url, API_KEY[:-1] + "x")))
    stub.mode = "ok"
    cli = [_cli_ask(environ, "--json"), subprocess.run([sys.executable, "-m", "rag", "search", "trade"],
                                                       cwd=ROOT, env=environ, capture_output=True, text=True,
                                                       timeout=120)]
    # What the stub received is the only place the key may be (the Authorization header).
    assert any(h.get("authorization") == f"Bearer {KEY}" for _, _, h in stub.requests)
    texts = replies + [r.stdout + r.stderr for r in cli] + [log.read_text()]
    for path in tmp.rglob("*"):
        if path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
