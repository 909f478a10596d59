"""What every LLM backend offers: the protocol, its prompt style, and a URL safe to show."""

from __future__ import annotations

from typing import Iterator, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from ..config import Settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
STYLES = ("completion", "chat")


@runtime_checkable
class LLM(Protocol):
    style: str
    """"completion" (plain prompt, base model) or "chat" (messages, instruction model)."""
    description: str
    """Human-readable; never contains a secret."""

    def complete(self, prompt: str, *, max_tokens: int, stop: list[str] | None = None) -> str: ...
    def stream(self, prompt: str, *, max_tokens: int,
               stop: list[str] | None = None) -> Iterator[str]: ...
    def chat(self, messages: list[dict], *, max_tokens: int,
             stop: list[str] | None = None) -> str: ...
    def stream_chat(self, messages: list[dict], *, max_tokens: int,
                    stop: list[str] | None = None) -> Iterator[str]: ...


def safe_url(url: str) -> str:
    """``url`` without user:password, query or fragment (they may carry secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))



def resolve_style(settings: Settings) -> str:
    """The prompt style for these settings: ``RAG_PROMPT_STYLE``, or by default completion for
    the embedded base model and chat for an endpoint."""
    if settings.prompt_style != "auto":
        return settings.prompt_style
    return "chat" if settings.uses_remote_llm else "completion"
