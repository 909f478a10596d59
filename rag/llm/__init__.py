"""LLM backends: the protocol, the OpenAI-compatible client (any endpoint, and the embedded
llama.cpp server), and the factory that picks one from the settings."""

from .base import DEFAULT_BASE_URL, DEFAULT_MODEL, LLM, STYLES, resolve_style, safe_url
from .client import OpenAILLM
from .factory import LLMS, build_llm
from .lazy import LazyLLM

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MODEL", "LLM", "LLMS", "LazyLLM", "STYLES", "OpenAILLM", "build_llm",
           "resolve_style", "safe_url"]
