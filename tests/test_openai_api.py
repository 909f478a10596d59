"""The OpenAI-compatible API, driven by the real ``openai`` client (sync, streaming, async)
and raw HTTP for the error cases, against a real Engine with the hash embedder and the
fake LLM (the real answer path: rewrite, retrieval, refusal, verifier)."""

from __future__ import annotations

import asyncio
import json
import re
import time
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import openai
import pytest

from rag.config import Settings
from rag.testing import HashEmbedder
from rag.engine import Engine
from rag.errors import LLMUnavailableError
from rag.testing import FakeLLM
from rag.serve.openai_api import create_api_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_server import ServedApp  # noqa: E402
from conftest import FAKE_ANSWERABILITY, copy_seed  # noqa: E402

QUESTION = "How large is the trade volume between Iran and Iraq?"
KEY = "sk-test-Api-K3y-one"


def _engine(tmp_path, llm=None, **over) -> Engine:
    seeds = copy_seed(tmp_path / "seeds")
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "idx",
                        **{"refusal_threshold": 0.0, "answerability_threshold": FAKE_ANSWERABILITY, **over})
    engine = Engine(settings, embedder=HashEmbedder(), llm=llm or FakeLLM(default="10 billion euros"),
                    inputs=[seeds], log=lambda m: None)
    engine.load()
    return engine


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    engine = _engine(tmp_path_factory.mktemp("api"), api_keys=(KEY, "sk-second"))
    with ServedApp(create_api_app(engine, engine.settings)) as s:
        yield s, engine


def _client(url, key=KEY, **kw):
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, **kw)


def _raw(url, path, body=None, headers=None, method=None):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method or ("POST" if data is not None else "GET"),
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_sync_answer_is_the_engines_answer_with_citations(served):
    s, engine = served
    reply = _client(s.url).chat.completions.create(model="my-model", temperature=0.7, max_tokens=5,
                                                    messages=[{"role": "user", "content": QUESTION}],
                                                    extra_body={"some_unknown_field": [1, 2]})
    local = engine.answer(QUESTION)
    assert reply.model == "my-model"
    assert reply.choices[0].message.content == local.text
    assert re.search(r"\[\d\] ?\.", reply.choices[0].message.content)
    extra = reply.model_extra
    assert extra["refused"] is False
    assert [c["n"] for c in extra["citations"]] == [c.n for c in local.citations]
    c = extra["citations"][0]
    assert set(c) >= {"n", "source", "title", "page", "start", "end", "sentence", "supported"}
    assert c["source"] == "raisi-iraq-trade-press-conference.txt" and c["sentence"] in local.citations[0].text


def test_streaming_joins_to_the_same_text_and_ends_with_citations(served):
    s, engine = served
    stream = _client(s.url).chat.completions.create(model="rag", stream=True,
                                                     messages=[{"role": "user", "content": QUESTION}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == engine.answer(QUESTION).text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] and last.model_extra["refused"] is False
    raw = _raw(s.url, "/v1/chat/completions", {"model": "rag", "stream": True,
                                               "messages": [{"role": "user", "content": QUESTION}]},
               {"Authorization": f"Bearer {KEY}"})[1]
    assert raw.rstrip("\n").endswith("data: [DONE]")


def test_async_client_and_history_gets_the_ui_follow_up_rewriting(served):
    s, _ = served
    client = openai.AsyncOpenAI(base_url=s.url + "/v1", api_key="sk-second", max_retries=0)
    messages = [{"role": "system", "content": "be brief"},
                {"role": "user", "content": "Who was on a state visit to Tehran?"},
                {"role": "assistant", "content": "Abdul Latif Rashid was on a state visit [1]."},
                {"role": "user", "content": [{"type": "text", "text": "How long did his visit last?"}]}]

    async def go():
        plain = await client.chat.completions.create(model="rag", messages=messages)
        streamed = [c async for c in await client.chat.completions.create(model="rag", messages=messages,
                                                                           stream=True)]
        await client.close()
        return plain, streamed

    plain, streamed = asyncio.run(go())
    assert plain.choices[0].message.content == "".join(c.choices[0].delta.content or "" for c in streamed
                                                       if c.choices)
    calls = [c for c in s_llm_calls(served) if "How long did his visit last?" in (c.prompt or "")]
    assert calls and "Rashid" in calls[-1].prompt  # the question was rewritten with the history


def s_llm_calls(served):
    return served[1].llm.calls


def test_models_lists_rag(served):
    s, _ = served
    assert [m.id for m in _client(s.url).models.list()] == ["rag"]
    assert _client(s.url).models.retrieve("rag").id == "rag"


def test_refusal_is_a_normal_answer_marked_refused(tmp_path):
    engine = _engine(tmp_path, refusal_threshold=0.99)
    with ServedApp(create_api_app(engine, engine.settings)) as s:
        reply = _client(s.url, key="anything").chat.completions.create(
            model="rag", messages=[{"role": "user", "content": "What is the boiling point of tungsten?"}])
    assert reply.model_extra["refused"] is True and reply.model_extra["citations"] == []
    assert reply.choices[0].message.content


# ---------------------------------------------------------------------------- errors and auth
def _error(status_body):
    status, body = status_body
    err = json.loads(body)["error"]
    assert set(err) >= {"message", "type", "code"} and err["message"]
    return status, err


def test_wrong_or_missing_key_is_401_in_openais_shape(served):
    s, _ = served
    with pytest.raises(openai.AuthenticationError):
        _client(s.url, key="sk-wrong").chat.completions.create(model="rag",
                                                               messages=[{"role": "user", "content": "hi"}])
    body = {"messages": [{"role": "user", "content": QUESTION}]}
    assert _error(_raw(s.url, "/v1/chat/completions", body))[0] == 401
    status, err = _error(_raw(s.url, "/v1/models", headers={"Authorization": "Bearer sk-wrong"}))
    assert status == 401 and err["code"] == "invalid_api_key" and "sk-wrong" not in err["message"]


@pytest.mark.parametrize("body, status, code", [
    (b"{not json", 400, "invalid_json"),
    ([1, 2], 400, "invalid_json"),
    ({"model": "rag"}, 400, "invalid_messages"),
    ({"messages": [{"role": "user", "content": "   \u0007 "}]}, 400, "empty_question"),
    ({"messages": [{"role": "assistant", "content": "hello"}]}, 400, "invalid_messages"),
    ({"messages": [{"role": "wizard", "content": "hello"}]}, 400, "invalid_messages"),
    ({"messages": [{"role": "user", "content": "x" * 2001}]}, 413, "question_too_long"),
    ({"messages": [{"role": "user", "content": "y" * 2_000_000}]}, 413, "request_too_large"),
    ({"messages": [{"role": "user", "content": "hi"}], "n": 3}, 400, None),
    ({"messages": [{"role": "user", "content": "hi"}], "mode": "magic"}, 400, None),
])
def test_bad_bodies_get_clear_errors(served, body, status, code):
    s, _ = served
    got, err = _error(_raw(s.url, "/v1/chat/completions", body, {"Authorization": f"Bearer {KEY}"}))
    assert got == status and (code is None or err["code"] == code)


def test_openai_client_sees_bad_request_errors(served):
    s, _ = served
    with pytest.raises(openai.BadRequestError, match="empty"):
        _client(s.url).chat.completions.create(model="rag", messages=[{"role": "user", "content": " "}])


def test_api_is_closed_with_a_login_and_no_keys(tmp_path):
    engine = _engine(tmp_path, auth="alice:pw-alice")
    with ServedApp(create_api_app(engine, engine.settings)) as s:
        for path, body in (("/v1/models", None), ("/v1/chat/completions",
                                                  {"messages": [{"role": "user", "content": QUESTION}]})):
            status, err = _error(_raw(s.url, path, body))
            assert status == 403 and err["code"] == "api_closed"
        with pytest.raises(openai.PermissionDeniedError):
            _client(s.url, key="pw-alice").models.list()


def test_llm_down_is_503_for_plain_and_streamed_requests(tmp_path):
    llm = FakeLLM(default="10 billion euros", error=LLMUnavailableError("LLM endpoint http://127.0.0.1:9/v1 is unreachable"))
    engine = _engine(tmp_path, llm=llm)
    with ServedApp(create_api_app(engine, engine.settings)) as s:
        for stream in (False, True):
            with pytest.raises(openai.InternalServerError) as info:
                _client(s.url).chat.completions.create(model="rag", stream=stream,
                                                       messages=[{"role": "user", "content": QUESTION}])
            assert info.value.status_code == 503 and "unreachable" in str(info.value)
        llm.error = None  # back: the next question works without a restart
        assert re.search(r"\[\d\]", _client(s.url).chat.completions.create(
            model="rag", messages=[{"role": "user", "content": QUESTION}]).choices[0].message.content)


def test_a_full_queue_turns_requests_away_with_429(tmp_path):
    gate = threading.Event()

    def slow(prompt):
        gate.wait(30)
        return "10 billion euros"

    engine = _engine(tmp_path, llm=FakeLLM(slow))
    app = create_api_app(engine, engine.settings, concurrency=1, max_waiting=1)
    with ServedApp(app) as s:
        body = {"messages": [{"role": "user", "content": QUESTION}]}
        results = []
        threads = [threading.Thread(target=lambda: results.append(_raw(s.url, "/v1/chat/completions", body)))
                   for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60  # a condition wait, generous for a loaded machine
        while len(engine.llm.calls) < 1 or app.state.admission.inside < 2:
            assert time.monotonic() < deadline, "the two calls never got one running, one waiting"
            time.sleep(0.05)
        status, err = _error(_raw(s.url, "/v1/chat/completions", body))  # one running, one waiting: full
        assert status == 429 and err["code"] == "queue_full"
        gate.set()
        for t in threads:
            t.join(60)
        assert sorted(r[0] for r in results) == [200, 200]


def test_a_battery_through_the_api_gets_the_in_process_answers(tmp_path):
    """The seed battery (follow-ups with history included) through ``rag eval --api``'s engine
    against the served API, and in-process through the Engine: the same answers."""
    from rag.evaluate import load_battery, run_answers
    from rag.evaluate.api_engine import ApiEngine

    engine = _engine(tmp_path, refusal_threshold=0.43, api_keys=(KEY,))
    battery = load_battery([Path(__file__).resolve().parent.parent / "batteries" / "seed.jsonl"])
    assert any(q.history for q in battery.questions) and any(q.expect_refusal for q in battery.questions)
    local = run_answers(battery, engine, workers=1).results
    with ServedApp(create_api_app(engine, engine.settings)) as s:
        api = ApiEngine(s.url, engine.settings.replace(api_key=KEY))
        api.connect()
        remote = run_answers(battery, api, workers=2).results
        with pytest.raises(Exception, match="API key"):
            ApiEngine(s.url, engine.settings.replace(api_key="sk-wrong")).connect()
    assert len(remote) == len(local) == len(battery.questions)
    for a, b in zip(local, remote):
        assert (b["id"], b["answer"], b["refused"]) == (a["id"], a["answer"], a["refused"]) and not b["error"]
        assert [c["n"] for c in b["citations"]] == [c["n"] for c in a["citations"]]
    assert {r["refused"] for r in local} == {True, False}
