"""An LLM built on its first call, so that a model that can't be reached (an endpoint that is
down, an embedded model that won't start) fails inside the answer path, where the error
becomes part of the :class:`~rag.models.Answer`, and not before retrieval has run."""

from __future__ import annotations

from typing import Callable, Iterator

from .base import LLM


class LazyLLM:
    """Satisfies :class:`LLM`; ``style`` and ``description`` are known without building it."""

    def __init__(self, build: Callable[[], LLM], style: str, description: str) -> None:
        self._build = build
        self.style = style
        self.description = description

    def __repr__(self) -> str:
        return f"LazyLLM({self.description!r}, style={self.style!r})"

    def complete(self, prompt: str, *, max_tokens: int, stop: list[str] | None = None) -> str:
        return self._build().complete(prompt, max_tokens=max_tokens, stop=stop)

    def stream(self, prompt: str, *, max_tokens: int, stop: list[str] | None = None) -> Iterator[str]:
        return self._build().stream(prompt, max_tokens=max_tokens, stop=stop)

    def chat(self, messages: list[dict], *, max_tokens: int, stop: list[str] | None = None) -> str:
        return self._build().chat(messages, max_tokens=max_tokens, stop=stop)

    def stream_chat(self, messages: list[dict], *, max_tokens: int,
                    stop: list[str] | None = None) -> Iterator[str]:
        return self._build().stream_chat(messages, max_tokens=max_tokens, stop=stop)
