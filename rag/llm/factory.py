"""Building the LLM the settings ask for, by name from a registry: the remote endpoint
("openai": any OpenAI-compatible server), the embedded model ("local"), or one a plugin or
a test registered (:mod:`rag.testing` adds "fake")."""

from __future__ import annotations

from typing import Callable

from ..config import Settings
from ..registry import Registry
from .base import DEFAULT_BASE_URL, DEFAULT_MODEL, LLM, resolve_style
from .client import OpenAILLM

LLMS: Registry[Callable[[Settings], LLM]] = Registry("LLM backend", "RAG_LLM_BACKEND")


@LLMS.register("openai")
def openai_llm(settings: Settings) -> LLM:
    """OPENAI_BASE_URL (default OpenAI's) with OPENAI_API_KEY and RAG_MODEL."""
    return OpenAILLM(settings.openai_base_url or DEFAULT_BASE_URL, settings.openai_api_key,
                     settings.model or DEFAULT_MODEL, style=resolve_style(settings),
                     timeout=settings.llm_timeout, max_retries=settings.llm_max_retries,
                     temperature=settings.temperature)


@LLMS.register("local")
def embedded_llm(settings: Settings) -> LLM:
    """The embedded llama.cpp server (started once per process, on the first call)."""
    from .local_server import local_llm

    return local_llm(settings)


def backend_name(settings: Settings) -> str:
    if settings.llm_backend != "auto":
        return settings.llm_backend
    return "openai" if settings.uses_remote_llm else "local"


def build_llm(settings: Settings) -> LLM:
    """The backend ``RAG_LLM_BACKEND`` names; by default the remote endpoint when
    OPENAI_BASE_URL / OPENAI_API_KEY is set, else the embedded model."""
    return LLMS.get(backend_name(settings))(settings)
