"""all-MiniLM-L6-v2 through ONNX Runtime: the default embedder (same vectors, fewer CPU seconds)."""

from __future__ import annotations

import logging
import threading
from typing import Callable, Sequence

import numpy as np

from .embedding import Embedder, EmbedderOptions, MiniLMBackend, Progress, bundled_model_path, thread_count

log = logging.getLogger("rag.index.embedding")


class OnnxEmbedder(MiniLMBackend):
    """all-MiniLM-L6-v2 through ONNX Runtime: the same vectors as the torch embedder
    (fp32: max abs difference 2.5e-7 on the 1,673 SQuAD chunks), from a model exported once into the cache
    (rag.index.onnx_model). Without torch at run time once the model is cached.

    ``variant`` "int8" quantizes the linear layers' weights (vectors change slightly, so the
    name carries "+int8" and an index built with it is rebuilt by the other backends).
    If onnxruntime is missing or the export fails, ``fallback()`` (the torch embedder) takes
    over after one warning.
    """

    def __init__(self, options: EmbedderOptions = EmbedderOptions(), *, variant: str = "fp32",
                 fallback: Callable[[], Embedder] | None = None):
        super().__init__(options)
        self._base_name = options.name
        self.variant = variant
        self._cache_dir = options.cache_dir
        self._fallback_factory = fallback
        self._fallback: Embedder | None = None
        self._session = None
        self._onnx_path = None
        self._query_session = None
        self._tokenizer = None
        self._lock = threading.Lock()
        self.name = self._base_name if variant == "fp32" else f"{self._base_name}+{variant}"
        """fp32 keeps torch's name (same vectors, existing indexes stay valid); int8 vectors
        differ, so its name does too; after a fallback, the fallback's name."""

    @property
    def backend(self) -> str:
        """"onnx" or "onnx-int8", or "torch" once it has fallen back (which happens at first
        use, or at :meth:`load`; reading this never loads or exports anything)."""
        return "torch" if self._fallback is not None else ("onnx" if self.variant == "fp32" else "onnx-int8")

    def load(self) -> None:
        """Load the session now (exporting the model once into the cache if it is missing), or
        fall back to torch. Every embedding call does this first."""
        self._load()
        if self._fallback is not None:
            self.name = self._fallback.name  # its vectors are torch's, so is its name

    def _load(self) -> None:
        if self._session is not None or self._fallback is not None:
            return
        with self._lock:
            if self._session is not None or self._fallback is not None:
                return
            from ..errors import EmbedderUnavailableError
            from .onnx_model import load_tokenizer, new_session, onnx_model_path

            model_dir = self._model_path or bundled_model_path()
            try:
                path = onnx_model_path(model_dir, self.variant, self._cache_dir, name=self._base_name)
                try:
                    session = new_session(path, thread_count(self.threads))
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
        self.load()
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
        self.load()
        if self._fallback is not None:
            return self._fallback.embed_query(text)
        session = self._session
        if 0 < self.query_threads != thread_count(self.threads):
            if self._query_session is None:
                from .onnx_model import new_session

                with self._lock:
                    if self._query_session is None:
                        self._query_session = new_session(self._onnx_path, self.query_threads)
            session = self._query_session
        return self._run(session, [self._tokenizer.encode(text)])[0]
