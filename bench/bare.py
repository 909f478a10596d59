"""The bare baselines: the model called the plain way, on the backend the pipeline uses.

torch: ``SentenceTransformer.encode`` (it sorts by length itself). onnx / onnx-int8: the same
cached ONNX model as the pipeline in a plain ONNX Runtime session, texts sorted by length
(as ``SentenceTransformer.encode`` does), tokenised per batch with padding, ``session.run``.
Both with the pipeline's batch size, threads and max length.
"""

from __future__ import annotations

import numpy as np

from rag.config import Settings
from rag.index import bundled_model_path


class BareTorch:
    backend = "torch"

    def __init__(self, settings: Settings):
        import torch
        from sentence_transformers import SentenceTransformer

        if settings.embed_threads:
            torch.set_num_threads(settings.embed_threads)
        self.model = SentenceTransformer(bundled_model_path(), device="cpu", local_files_only=True)
        self.model.max_seq_length = settings.embed_max_seq_length

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)

    def encode_query(self, text: str, threads: int | None = None) -> np.ndarray:
        import torch

        before = torch.get_num_threads()
        if threads:
            torch.set_num_threads(threads)
        try:
            return self.encode([text], 1)
        finally:
            torch.set_num_threads(before)

    @staticmethod
    def threads() -> int:
        import torch

        return torch.get_num_threads()


class BareOnnx:
    def __init__(self, settings: Settings, variant: str):
        from rag.index.onnx_model import load_tokenizer, onnx_model_path

        self.backend = "onnx" if variant == "fp32" else "onnx-int8"
        self.path = onnx_model_path(bundled_model_path(), variant, settings.cache_dir)
        self.tokenizer = load_tokenizer(bundled_model_path(), settings.embed_max_seq_length)
        self._threads = settings.embed_threads or _cores()
        self._sessions: dict[int, object] = {}
        self.session(self._threads)

    def session(self, threads: int):
        from rag.index.onnx_model import new_session

        if threads not in self._sessions:
            self._sessions[threads] = new_session(self.path, threads)
        return self._sessions[threads]

    def encode(self, texts: list[str], batch_size: int, threads: int | None = None) -> np.ndarray:
        session = self.session(threads or self._threads)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), 384), dtype=np.float32)
        for lo in range(0, len(order), batch_size):
            idx = order[lo:lo + batch_size]
            enc = self.tokenizer.encode_batch([texts[i] for i in idx])
            feed = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}
            out[idx] = session.run(["sentence_embedding"], feed)[0]
        return out

    def encode_query(self, text: str, threads: int | None = None) -> np.ndarray:
        return self.encode([text], 1, threads)

    def threads(self) -> int:
        return self._threads


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


def bare_encoder(settings: Settings, backend: str):
    """The baseline for ``backend`` ("torch", "onnx" or "onnx-int8": the embedder's ``backend``)."""
    if backend == "torch":
        return BareTorch(settings)
    return BareOnnx(settings, "int8" if backend == "onnx-int8" else "fp32")


def embedder_backend(embedder) -> str:
    """What the pipeline's embedder actually runs on (after any fallback)."""
    return getattr(embedder, "backend", "torch")
