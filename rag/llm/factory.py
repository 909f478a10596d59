"""Building the LLM the settings ask for: the remote endpoint or the embedded model."""

from __future__ import annotations

from ..config import Settings
from .base import DEFAULT_BASE_URL, DEFAULT_MODEL, LLM, resolve_style
from .client import OpenAILLM


def build_llm(settings: Settings) -> LLM:
    """The remote endpoint when OPENAI_BASE_URL / OPENAI_API_KEY is set, else the embedded
    model (its server is started once per process, on the first call)."""
    if not settings.uses_remote_llm:
        from .local_server import local_llm

        return local_llm(settings)
    return OpenAILLM(settings.openai_base_url or DEFAULT_BASE_URL, settings.openai_api_key,
                     settings.model or DEFAULT_MODEL, style=resolve_style(settings),
                     timeout=settings.llm_timeout, max_retries=settings.llm_max_retries,
                     temperature=settings.temperature)
