"""OpenAILLM failure handling through the real openai client against a stub server; FakeLLM."""

from __future__ import annotations

import socket
import time

import pytest

from rag.config import Settings
from rag.errors import LLMError, LLMResponseError, LLMTimeoutError, LLMUnavailableError
from rag.llm import LLM, OpenAILLM, build_llm, resolve_style, safe_url
from rag.testing import FakeLLM
from stub_llm_server import StubLLMServer

SECRET = "sk-test-SECRET-do-not-leak-1234567890"
REPLY = "Paris is the capital of France."
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def stub():
    server = StubLLMServer(reply=REPLY).start()
    yield server
    server.stop()


class RecordedSleep(list):
    """OpenAILLM's ``sleep`` seam: records each wait between attempts and really sleeps it."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def slept():
    return RecordedSleep()


def make_llm(url: str, style: str = "completion", timeout: float = 0.5, retries: int = 2,
             sleep=time.sleep):
    return OpenAILLM(url, SECRET, "stub-model", style=style, timeout=timeout,
                     max_retries=retries, backoff=0.05, sleep=sleep)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# ------------------------------------------------------------------ happy paths
@pytest.mark.parametrize("style", ["completion", "chat"])
def test_complete_and_stream_ok(stub, style):
    llm = make_llm(stub.url, style)
    assert isinstance(llm, LLM)
    if style == "completion":
        assert llm.complete("Q", max_tokens=8, stop=["\n"]) == REPLY
        parts = list(llm.stream("Q", max_tokens=8))
        path = "/v1/completions"
    else:
        assert llm.chat(MESSAGES, max_tokens=8) == REPLY
        parts = list(llm.stream_chat(MESSAGES, max_tokens=8))
        path = "/v1/chat/completions"
    assert len(parts) > 1 and "".join(parts) == REPLY
    assert all(p == path for p, _, _ in stub.requests)
    body = stub.requests[0][1]
    assert body["max_tokens"] == 8 and body["model"] == "stub-model" and body["temperature"] == 0
    if style == "completion":
        assert body["stop"] == ["\n"] and body["prompt"] == "Q"


def test_sends_the_key_as_bearer_only(stub):
    make_llm(stub.url).complete("Q", max_tokens=4)
    assert stub.requests[0][2]["authorization"] == f"Bearer {SECRET}"


# ------------------------------------------------------------------ failures
def test_down_endpoint_is_unavailable_fast(slept):
    # "fast": a refused connection is reported as unreachable (not waited out as a timeout),
    # and the only waits are the short backoffs of the one allowed retry per call.
    llm = make_llm(closed_port_url(), retries=1, sleep=slept)
    with pytest.raises(LLMUnavailableError, match="is unreachable"):
        llm.complete("Q", max_tokens=4)
    with pytest.raises(LLMUnavailableError, match="is unreachable"):
        list(llm.stream("Q", max_tokens=4))
    assert len(slept) == 2, slept  # one retry per call, no more
    assert all(0.05 <= s <= 0.05 + 0.05 / 4 for s in slept), slept  # backoff, not a timeout


def test_429_then_ok_succeeds_after_retry(stub, slept):
    stub.retry_after = "0.1"
    stub.script = ["429"]
    llm = make_llm(stub.url, sleep=slept)
    assert llm.complete("Q", max_tokens=4) == REPLY
    assert stub.request_count == 2
    # Retry-After honoured: the client waited the 0.1 s asked for (not its 0.05 s backoff) ...
    assert len(slept) == 1 and 0.1 <= slept[0] <= 0.1 + 0.05 / 4, slept
    # ... and the server saw the second request no sooner than that after the first
    assert stub.arrivals[1] - stub.arrivals[0] >= 0.1


def test_long_retry_after_is_not_waited_for(stub, slept):
    stub.mode, stub.retry_after = "429", "3600"
    with pytest.raises(LLMResponseError, match="429"):
        make_llm(stub.url, sleep=slept).complete("Q", max_tokens=4)
    assert stub.request_count == 1 and slept == []  # no retry, no wait


def test_500_forever_gives_response_error_after_bounded_retries(stub):
    stub.mode = "500"
    with pytest.raises(LLMResponseError, match="HTTP 500"):
        make_llm(stub.url, retries=2).complete("Q", max_tokens=4)
    assert stub.request_count == 3
    with pytest.raises(LLMResponseError, match="HTTP 500"):
        list(make_llm(stub.url, retries=0).stream("Q", max_tokens=4))


@pytest.mark.parametrize("mode", ["malformed", "no_choices"])
@pytest.mark.parametrize("style", ["completion", "chat"])
def test_garbage_body_is_response_error(stub, mode, style):
    stub.mode = mode
    llm = make_llm(stub.url, style)
    call = llm.complete if style == "completion" else llm.chat
    streamer = llm.stream if style == "completion" else llm.stream_chat
    arg = "Q" if style == "completion" else MESSAGES
    with pytest.raises(LLMResponseError):
        call(arg, max_tokens=4)
    with pytest.raises(LLMResponseError):
        list(streamer(arg, max_tokens=4))
    assert stub.request_count == 2  # garbage is not retried


def test_stall_times_out_within_bound(stub):
    # The stub would answer after 60 s; the client must give up on each attempt long before
    # (its timeout is 0.3 s; 30 s is a bound no loaded machine reaches), and say so.
    stub.mode, stub.stall_seconds = "stall", 60.0
    llm = make_llm(stub.url, timeout=0.3, retries=1)
    with pytest.raises(LLMTimeoutError, match="within 0.3 s"):
        llm.complete("Q", max_tokens=4)
    assert stub.request_count == 2
    wait_until(lambda: len(stub.hangups) == 2)  # the stub notices each hang-up within ~20 ms
    assert all(h < 30 for h in stub.hangups), stub.hangups


def wait_until(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


@pytest.mark.parametrize("style", ["completion", "chat"])
def test_stream_dying_midway_raises_after_partial_tokens(stub, style):
    stub.mode, stub.die_after = "die", 2
    llm = make_llm(stub.url, style)
    streamer = llm.stream if style == "completion" else llm.stream_chat
    got = []
    with pytest.raises(LLMError, match="broke after 2 chunks"):
        for piece in streamer("Q" if style == "completion" else MESSAGES, max_tokens=8):
            got.append(piece)
    assert "".join(got) == "Paris is"


def test_recovers_after_endpoint_comes_back(stub):
    llm = make_llm(stub.url, retries=0)
    for mode, error in [("500", LLMResponseError), ("stall", LLMTimeoutError),
                        ("die", LLMUnavailableError)]:
        stub.mode = mode
        with pytest.raises(error):
            llm.complete("Q", max_tokens=4)
    stub.mode = "ok"
    assert llm.complete("Q", max_tokens=4) == REPLY
    assert "".join(llm.stream("Q", max_tokens=4)) == REPLY


def test_secret_never_in_messages_or_repr(stub):
    llm = make_llm(stub.url)
    assert SECRET not in repr(llm) and SECRET not in str(llm) and SECRET not in llm.description
    errors = []
    for mode in ["500", "malformed", "no_choices", "die"]:
        stub.mode = mode
        with pytest.raises(LLMError) as info:
            llm.complete("Q", max_tokens=4)
        errors.append(info.value)
    with pytest.raises(LLMError) as info:
        make_llm(closed_port_url(), retries=0).complete("Q", max_tokens=4)
    errors.append(info.value)
    for exc in errors:
        assert SECRET not in str(exc) and SECRET not in repr(exc)
        assert "\n" not in str(exc)
        assert exc.__cause__ is None and exc.__suppress_context__


def test_key_echoed_by_server_is_redacted(stub):
    stub.mode, stub.error_message = "500", f"Incorrect API key provided: {SECRET}"
    with pytest.raises(LLMResponseError) as info:
        make_llm(stub.url, retries=0).complete("Q", max_tokens=4)
    assert "Incorrect API key provided: ***" in str(info.value)


def test_safe_url_drops_credentials():
    assert safe_url("https://user:pw@host:8443/v1?key=abc") == "https://host:8443/v1"


# ------------------------------------------------------------------ factory
def test_build_llm_remote_defaults():
    llm = build_llm(Settings(openai_api_key=SECRET))
    assert isinstance(llm, OpenAILLM)
    assert llm.style == "chat" and llm.model == "gpt-4o-mini"
    assert llm.description == "endpoint https://api.openai.com/v1 model gpt-4o-mini"
    assert SECRET not in repr(llm)


def test_build_llm_remote_settings(stub):
    s = Settings(openai_base_url=stub.url, model="m1", prompt_style="completion",
                 llm_timeout=0.5, llm_max_retries=0)
    llm = build_llm(s)
    assert (llm.style, llm.model, llm.timeout, llm.max_retries) == ("completion", "m1", 0.5, 0)
    assert llm.complete("Q", max_tokens=3) == REPLY


def test_resolve_style():
    assert resolve_style(Settings()) == "completion"
    assert resolve_style(Settings(openai_base_url="http://x/v1")) == "chat"
    assert resolve_style(Settings(openai_base_url="http://x/v1", prompt_style="completion")) \
        == "completion"


# ------------------------------------------------------------------ FakeLLM
def test_fake_replays_and_records():
    fake = FakeLLM(["one two three", "second"], style="chat")
    assert isinstance(fake, LLM) and fake.style == "chat"
    assert fake.complete("p1", max_tokens=5, stop=["\n"]) == "one two three"
    assert fake.chat(MESSAGES, max_tokens=7) == "second"
    assert [(c.kind, c.prompt, c.max_tokens, c.stop) for c in fake.calls] == [
        ("complete", "p1", 5, ["\n"]), ("chat", None, 7, None)]
    assert fake.calls[1].messages == MESSAGES
    with pytest.raises(AssertionError, match="no reply queued"):
        fake.complete("p", max_tokens=1)


def test_fake_streams_word_by_word_and_honours_stop():
    fake = FakeLLM(["Paris is  big.\nQuestion: x", "a b"])
    parts = list(fake.stream("p", max_tokens=9, stop=["\n"]))
    assert parts == ["Paris", " is", "  big."]
    assert list(fake.stream_chat(MESSAGES, max_tokens=9)) == ["a", " b"]
    assert [c.kind for c in fake.calls] == ["stream", "stream_chat"]


def test_fake_records_stream_calls_before_iteration():
    fake = FakeLLM(default="x")
    fake.stream("p", max_tokens=1)
    assert len(fake.calls) == 1


def test_fake_callable_queue_and_default():
    fake = FakeLLM(lambda prompt: prompt.upper())
    assert fake.complete("abc", max_tokens=3) == "ABC"
    assert fake.chat(MESSAGES, max_tokens=3) == MESSAGES[0]["content"].upper()
    fake2 = FakeLLM(default="fallback")
    fake2.queue("first")
    assert [fake2.complete("p", max_tokens=1) for _ in range(2)] == ["first", "fallback"]


def test_fake_raises_given_error():
    fake = FakeLLM(["never"], error=LLMTimeoutError("boom"))
    with pytest.raises(LLMTimeoutError):
        fake.complete("p", max_tokens=1)
    with pytest.raises(LLMTimeoutError):
        fake.stream("p", max_tokens=1)
    fake.error = None
    assert fake.complete("p", max_tokens=1) == "never"


def test_fake_stream_dies_midway():
    fake = FakeLLM(["one two three four"], error=LLMError("died"), error_after_words=2)
    got = []
    with pytest.raises(LLMError, match="died"):
        for piece in fake.stream("p", max_tokens=9):
            got.append(piece)
    assert got == ["one", " two"]
