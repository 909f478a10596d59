"""The Engine: one loaded index, one embedder and one LLM, shared by CLI, UI and batteries.

It owns the index lifecycle (load, build if missing, update when stale, add and remove
documents) and guarantees that a question never sees a half-updated index: updates build a
new version off to the side and swap it in under a lock, and a question asked while an
update runs waits for it (up to ``Settings.index_wait_seconds``) or gets a clear "indexing" error.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence, runtime_checkable

from .answer import answer as answer_question, stream_answer
from .config import Settings
from .index import Embedder, IndexReport, IndexView, build_embedder, build_store, ensure_index, index_paths
from .errors import IndexLockedError, IndexNotFoundError, RagError
from .llm import DEFAULT_BASE_URL, DEFAULT_MODEL, LLM, LazyLLM, build_llm, resolve_style, safe_url
from .models import Answer, Passage
from .retrieve import CachedEmbedder, Retriever

Log = Callable[[str], None]


@runtime_checkable
class AnswerEngine(Protocol):
    """What the front ends call: the CLI, the UI, the battery runner. :class:`Engine` answers
    in-process; :class:`rag.evaluate.RemoteEngine` asks a running app."""

    settings: Settings

    def answer(self, question: str, history: Sequence[dict] = (), k: int | None = None,
               mode: str | None = None) -> Answer: ...

    def llm_description(self) -> str: ...


@runtime_checkable
class SearchingEngine(AnswerEngine, Protocol):
    """An engine that can also retrieve on its own (a battery run ranks gold deeper with it)."""

    def search(self, query: str, k: int | None = None, mode: str | None = None) -> list[Passage]: ...


class IndexBusyError(RagError):
    """The index is being updated and did not finish within the wait."""


class Engine:
    """The in-process :class:`SearchingEngine`; also streams answers and reports its status."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, llm=None,
                 inputs: Sequence[Path] | None = None, log: Log = print):
        self.settings = settings
        self.embedder = embedder or build_embedder(settings)
        self.question_embedder = CachedEmbedder(self.embedder, max_items=settings.vector_cache_items)
        """The embedder the question path uses (retrieval, evidence sentences): cached."""
        self._llm = llm
        self._llm_lock = threading.Lock()
        self.inputs = [Path(p) for p in inputs] if inputs is not None else None
        self.log = log
        self.store = build_store(settings)
        """Where the index lives (files or a shared database); one per engine, so one pool."""
        self._data: IndexView | None = None
        self._update_lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self.on_wait: Callable[[], None] | None = None
        """Called when a question starts waiting for an index update to finish (a seam for
        front ends that say so, and for tests that must know the question is waiting)."""
        self.accept: Callable[[Path], bool] | None = None
        """Filter on input files (a watched folder's files wait until they are ready)."""

    # ------------------------------------------------------------------ index
    @contextmanager
    def updating(self) -> Iterator[None]:
        """Hold the index for an update: one at a time, and questions wait until it ends."""
        with self._update_lock:
            self._idle.clear()
            try:
                yield
            finally:
                self._idle.set()

    def load(self) -> IndexView:
        """Load the index, building it or bringing it up to date with the inputs first."""
        with self.updating():
            if self.inputs is None:
                self._data = ensure_index(self.settings, self.embedder, log=self.log, store=self.store)
            elif self.store.shared:
                self._data = self._sync_shared()
            else:
                self._data = ensure_index(self.settings, self.embedder, log=self.log,
                                          default_paths=self.existing_inputs(), store=self.store,
                                          accept=self.accept)
                if [str(p.resolve()) for p in self.existing_inputs()] != self._data.manifest.get("inputs"):
                    self._data, report = index_paths(self.existing_inputs(), self.settings, self.embedder,
                                                     log=self.log, store=self.store, accept=self.accept)
                    self.log(report.summary())
        return self._data

    def _sync_shared(self) -> IndexView:
        """A replica's start on a shared store: index its inputs unless another replica is
        writing right now, in which case it serves the database as it is."""
        try:
            data = ensure_index(self.settings, self.embedder, log=self.log,
                                default_paths=self.existing_inputs(), store=self.store)
            data, report = index_paths(self.existing_inputs(), self.settings, self.embedder,
                                       log=self.log, store=self.store)
            if report.wrote:
                self.log(report.summary())
            return data
        except IndexLockedError as exc:
            self.log(f"warning: {exc}; serving the index as it is")
            return self.store.load()

    def existing_inputs(self) -> list[Path]:
        return [p for p in (self.inputs or []) if p.exists()]

    @property
    def data(self) -> IndexView:
        if not self._idle.is_set() and self.on_wait is not None:
            self.on_wait()
        if not self._idle.wait(self.settings.index_wait_seconds):
            raise IndexBusyError("the index is being updated; try again in a moment")
        if self._data is None:
            self.load()
        return self._data

    @property
    def indexing(self) -> bool:
        return not self._idle.is_set()

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> IndexReport:
        """Re-read the inputs and update the index incrementally; questions wait meanwhile."""
        if self.inputs is None:
            raise IndexNotFoundError("this engine has no input folders to re-index")
        with self.updating():
            self._data, report = index_paths(self.existing_inputs(), self.settings, self.embedder,
                                             log=self.log, progress=progress, store=self.store,
                                             accept=self.accept)
        return report

    def documents(self) -> list[dict]:
        docs = self.data.documents
        return [{"doc_id": doc_id, **info} for doc_id, info in sorted(docs.items())]

    def retriever(self) -> Retriever:
        return Retriever(self.data, self.question_embedder, self.settings)

    # ------------------------------------------------------------------ LLM
    @property
    def llm(self) -> LLM:
        """The LLM, built (and for the embedded model, started) on first use; LLMError if it
        can't be."""
        if self._llm is None:
            with self._llm_lock:
                if self._llm is None:
                    self._llm = build_llm(self.settings)
        return self._llm

    def answer_llm(self) -> LLM:
        """The LLM for the answer path: the built one, or one that builds itself on its first
        call, so a failure to start becomes the answer's error, with the passages kept."""
        if self._llm is not None:
            return self._llm
        return LazyLLM(lambda: self.llm, resolve_style(self.settings), self.llm_description())

    def llm_description(self) -> str:
        if self._llm is not None:
            return getattr(self._llm, "description", repr(self._llm))
        if self.settings.uses_remote_llm:
            return f"endpoint {safe_url(self.settings.openai_base_url or DEFAULT_BASE_URL)} " \
                   f"model {self.settings.model or DEFAULT_MODEL}"
        return "embedded " + (Path(self.settings.local_model_path).name if self.settings.local_model_path
                              else "gemma-3-270m (llama.cpp, local)")

    # ------------------------------------------------------------------ questions
    def search(self, query: str, k: int | None = None, mode: str | None = None) -> list[Passage]:
        return self.retriever().search(query, k=k, mode=mode)

    def answer(self, question: str, history: Sequence[dict] = (), k: int | None = None,
               mode: str | None = None) -> Answer:
        return answer_question(question, history=history, retriever=self.retriever(),
                               llm=self.answer_llm(), settings=self.settings, k=k, mode=mode)

    def stream(self, question: str, history: Sequence[dict] = (), k: int | None = None,
               mode: str | None = None) -> Iterator[str | Answer]:
        """Text deltas as the model writes, then the final verified Answer."""
        return stream_answer(question, history=history, retriever=self.retriever(),
                             llm=self.answer_llm(), settings=self.settings, k=k, mode=mode)

    def status(self) -> dict:
        data = self._data
        out = {"llm": self.llm_description(), "embedder": self.embedder.name, "documents": 0, "chunks": 0,
               "indexing": self.indexing, "store": self.store.location if self.store.shared else None}
        try:
            if data is not None:
                out["documents"], out["chunks"] = len(data.documents), data.chunk_count
        except RagError as exc:  # the database went away: say so, keep the page working
            out["store_error"] = str(exc)
        return out
