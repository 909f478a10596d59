"""The OpenAI-compatible client: every endpoint, and the embedded model, goes through it.

Every endpoint (OpenAI, vLLM, Ollama, a llama.cpp server, or the embedded local model from
:mod:`rag.llm.local_server`) goes through :class:`OpenAILLM`, which turns every failure into
one of :mod:`rag.errors`' ``LLM*Error`` with a one-line message and never shows the key.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Callable, Iterator

import httpx2

from ..errors import LLMError, LLMResponseError, LLMTimeoutError, LLMUnavailableError
from .base import STYLES, safe_url

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 10.0
"""A Retry-After longer than this (seconds) is not waited for: the call fails at once."""


class OpenAILLM:
    """An OpenAI-compatible endpoint, with our own bounded retries and error mapping."""

    def __init__(self, base_url: str, api_key: str | None, model: str, *, style: str = "chat",
                 timeout: float = 30.0, max_retries: int = 2, temperature: float = 0.0,
                 description: str | None = None, backoff: float = 0.25, http_client=None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """``sleep`` waits between attempts (a seam: tests pass a recording or instant one)."""
        import openai

        if style not in STYLES:
            raise ValueError(f"style must be 'completion' or 'chat', not {style!r}")
        self.style = style
        self.model = model
        self.url = safe_url(base_url)
        self.description = description or f"endpoint {self.url} model {model}"
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.temperature = temperature
        self.backoff = backoff
        self._sleep = sleep
        self._secret = api_key or ""
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed",
                                     timeout=timeout, max_retries=0, http_client=http_client)

    def __repr__(self) -> str:
        return f"OpenAILLM({self.description!r}, style={self.style!r})"

    # ------------------------------------------------------------------ public API
    def complete(self, prompt: str, *, max_tokens: int, stop: list[str] | None = None) -> str:
        return self._one(self._request("completion", prompt, max_tokens, stop, stream=False), False)

    def chat(self, messages: list[dict], *, max_tokens: int, stop: list[str] | None = None) -> str:
        return self._one(self._request("chat", messages, max_tokens, stop, stream=False), True)

    def stream(self, prompt: str, *, max_tokens: int,
               stop: list[str] | None = None) -> Iterator[str]:
        return self._deltas("completion", prompt, max_tokens, stop)

    def stream_chat(self, messages: list[dict], *, max_tokens: int,
                    stop: list[str] | None = None) -> Iterator[str]:
        return self._deltas("chat", messages, max_tokens, stop)

    # ------------------------------------------------------------------ internals
    def _request(self, route: str, payload, max_tokens: int, stop, *, stream: bool):
        """Send one request with bounded retries; return the openai result or raise LLMError."""
        import openai

        args = dict(model=self.model, max_tokens=max_tokens, temperature=self.temperature,
                    stream=stream)
        if stop:
            args["stop"] = list(stop)
        attempt = 0
        while True:
            try:
                if route == "chat":
                    return self._client.chat.completions.create(messages=payload, **args)
                return self._client.completions.create(prompt=payload, **args)
            except openai.OpenAIError as exc:
                error, retry, wait = self._classify(exc)
            except Exception as exc:  # garbage bodies can surface as ValueError etc.
                error, retry, wait = LLMResponseError(
                    f"LLM endpoint {self.url} sent an unusable reply: {self._clean(exc)}"), False, 0.0
            if not retry or attempt >= self.max_retries:
                raise error from None
            wait = wait if wait is not None else min(self.backoff * 2 ** attempt, 4.0)
            wait += random.uniform(0, self.backoff / 4)
            log.warning("%s; retry %d/%d in %.2fs", error, attempt + 1, self.max_retries, wait)
            self._sleep(wait)
            attempt += 1

    def _classify(self, exc) -> tuple[LLMError, bool, float | None]:
        """Map an openai exception to (our error, retryable?, server-requested wait)."""
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return LLMTimeoutError(
                f"LLM endpoint {self.url} did not answer within {self.timeout:g} s"), True, None
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            what = "is unreachable" if isinstance(cause, (httpx2.ConnectError, OSError)) \
                else "dropped the connection"
            return LLMUnavailableError(
                f"LLM endpoint {self.url} {what}: {self._clean(cause)}"), True, None
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status in (401, 403):
                return LLMResponseError(f"LLM endpoint {self.url} refused the credentials "
                                        f"(HTTP {status}): check OPENAI_API_KEY"), False, None
            detail = self._clean(getattr(exc, "message", "") or exc)
            error = LLMResponseError(f"LLM endpoint {self.url} returned HTTP {status}: {detail}")
            if status == 429 or status >= 500:
                wait = _retry_after(exc.response.headers)
                if wait is not None and wait > MAX_RETRY_AFTER:
                    return LLMResponseError(f"LLM endpoint {self.url} is rate limiting (HTTP "
                                            f"{status}, Retry-After {wait:g} s)"), False, None
                return error, True, wait
            return error, False, None
        return LLMResponseError(
            f"LLM endpoint {self.url} sent an unusable reply: {self._clean(exc)}"), False, None

    def _clean(self, exc_or_text) -> str:
        """One line, bounded, with the key (if it ever appears) blanked out."""
        text = str(exc_or_text) or type(exc_or_text).__name__
        if self._secret:
            text = text.replace(self._secret, "***")
        text = " ".join(text.split())
        return text[:200] + ("..." if len(text) > 200 else "")

    def _one(self, result, chat: bool) -> str:
        try:
            choice = result.choices[0]
            text = choice.message.content if chat else choice.text
        except (AttributeError, IndexError, TypeError, KeyError):
            raise LLMResponseError(f"LLM endpoint {self.url} sent a reply without choices: "
                                   f"{self._clean(repr(result)[:100])}") from None
        if text is None and chat:
            text = ""
        if not isinstance(text, str):
            raise LLMResponseError(f"LLM endpoint {self.url} sent a reply without text")
        return text

    def _deltas(self, route: str, payload, max_tokens: int, stop) -> Iterator[str]:
        stream = self._request(route, payload, max_tokens, stop, stream=True)
        got, finished = 0, False
        try:
            for chunk in stream:
                for choice in getattr(chunk, "choices", None) or []:
                    text = choice.delta.content if route == "chat" else choice.text
                    finished = finished or bool(choice.finish_reason)
                    if text:
                        got += 1
                        yield text
        except (httpx2.TimeoutException, TimeoutError):
            raise LLMTimeoutError(f"LLM endpoint {self.url} stalled mid-stream after {got} "
                                  f"chunks (timeout {self.timeout:g} s)") from None
        except Exception as exc:
            raise LLMError(f"stream from LLM endpoint {self.url} broke after {got} chunks: "
                           f"{self._clean(exc.__cause__ or exc)}") from None
        finally:
            stream.close()
        if not finished and not got:
            raise LLMResponseError(f"LLM endpoint {self.url} sent no stream events (not SSE?)")
        if not finished:
            raise LLMError(f"stream from LLM endpoint {self.url} ended after {got} chunks "
                           "without a finish reason")


def _retry_after(headers) -> float | None:
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
        if headers.get("retry-after"):
            return max(0.0, float(headers["retry-after"]))
    except (TypeError, ValueError):  # an HTTP date: treat as "unknown"
        pass
    return None
