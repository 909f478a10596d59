"""all-MiniLM-L6-v2 through sentence-transformers and torch: the reference embedder."""

from __future__ import annotations

import threading
from typing import Sequence

import numpy as np

from .embedding import EmbedderOptions, MiniLMBackend, Progress, bundled_model_path


class SentenceTransformerEmbedder(MiniLMBackend):
    """all-MiniLM-L6-v2 on the CPU, loaded from the bundled package, never from a hub."""

    backend = "torch"

    def __init__(self, options: EmbedderOptions = EmbedderOptions(query_threads=1)):
        super().__init__(options)
        self.name = options.name
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    import torch
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # a "Loading weights" bar on every CLI call
                    if self.threads:
                        torch.set_num_threads(self.threads)
                    model = SentenceTransformer(self._model_path or bundled_model_path(), device="cpu",
                                                local_files_only=self.options.offline)
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
