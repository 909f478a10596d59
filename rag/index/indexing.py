"""Building and incrementally updating the index from input paths.

Only documents whose content changed are chunked and embedded again; the vectors of the
others are carried over from the previous version. A change of embedding model or chunking
settings re-embeds everything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..config import Settings
from ..ingest import chunk_document, load_documents
from .embedding import Embedder
from ..errors import EmptyCorpusError, IndexCorruptError, IndexNotFoundError, InputError, StoreSchemaError
from ..models import Chunk, Document
from .fingerprint import (EMBED_FORMAT, document_hash, embed_text, input_fingerprint,  # noqa: F401
                          settings_fingerprint, stale_reason)
from .protocol import IndexChange, IndexView, Store, build_store

Log = Callable[[str], None]
Progress = Callable[[int, int], None]


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    wrote: bool = False

    def summary(self) -> str:
        text = (f"documents: {self.added} added, {self.updated} updated, {self.removed} removed, "
                f"{self.unchanged} unchanged, {len(self.skipped)} skipped; chunks: {self.chunks} "
                f"({self.embedded} embedded); {self.seconds:.1f} s")
        return text if self.wrote else text + " (index was up to date)"


def index_paths(paths: Sequence[Path | str], settings: Settings, embedder: Embedder,
                log: Log = print, progress: Progress | None = None,
                store: Store | None = None,
                accept: Callable[[Path], bool] | None = None) -> tuple[IndexView, IndexReport]:
    """Bring the index (``settings``' store) in line with the documents under ``paths`` (only
    the files ``accept`` takes, when given: a watched folder's half-written ones wait).

    A shared store (PostgreSQL) drops only documents that came from one of ``paths``, so
    replicas indexing their own upload folders don't remove each other's documents."""
    t0 = time.perf_counter()
    store = store or build_store(settings)
    paths = [Path(p).resolve() for p in paths]
    report = IndexReport()
    for p in paths:  # before the lock, which would create the index folder for a typo
        if not p.exists():
            raise InputError(f"no such file or folder: {p}")
    with store.lock():
        documents_in, report.skipped = _load(paths, settings, log, accept)
        if not documents_in:
            where = ", ".join(str(p) for p in paths)
            raise EmptyCorpusError(f"no readable documents in {where}"
                                   + (f" ({len(report.skipped)} skipped)" if report.skipped else ""))
        fingerprint = settings_fingerprint(settings, embedder)
        previous = _load_previous(store, embedder, fingerprint, log)
        old_docs = previous.documents if previous else {}
        change = IndexChange(manifest={}, documents={} if not store.shared else dict(old_docs),
                             replace_all=previous is None)
        to_embed: list[Chunk] = []
        fresh: dict[str, list[Chunk]] = {}
        reused: dict[str, dict[str, np.ndarray]] = {}
        for doc, root in documents_in:
            digest = document_hash(doc)
            old = old_docs.get(doc.doc_id)
            info = {"hash": digest, "source": doc.source, "title": doc.title, "input": str(root)}
            if old and old.get("hash") == digest:
                change.documents[doc.doc_id] = dict(old, input=str(root))
                report.unchanged += 1
                continue
            new = chunk_document(doc, settings.chunk_words, settings.chunk_overlap_sentences)
            # A changed document keeps the vectors of the chunks whose text did not change.
            if old and previous is not None:
                cs, vs = previous.document_chunks(doc.doc_id)
                reuse = {(c.chunk_id, c.title): vs[i] for i, c in enumerate(cs)}
                reused[doc.doc_id] = {c.chunk_id: reuse[(c.chunk_id, c.title)] for c in new
                                      if (c.chunk_id, c.title) in reuse}
            to_embed.extend(c for c in new if c.chunk_id not in reused.get(doc.doc_id, {}))
            fresh[doc.doc_id] = new
            change.documents[doc.doc_id] = dict(info, chunks=len(new))
            report.updated += bool(old)
            report.added += not old
        synced = {str(p) for p in paths}
        seen = {doc.doc_id for doc, _ in documents_in}
        change.remove = {d for d, info in old_docs.items() if d not in seen
                         and (not store.shared or info.get("input") in synced)}
        for d in change.remove:
            change.documents.pop(d, None)
        report.removed = len(change.remove)

        fresh_fp = input_fingerprint(paths)
        same_inputs = store.shared or (previous is not None and previous.manifest.get("inputs") == [str(p) for p in paths]
                                       and previous.manifest.get("input_fingerprint") == fresh_fp)
        if previous is not None and not fresh and not change.remove and same_inputs:
            report.chunks = previous.chunk_count
            report.seconds = time.perf_counter() - t0
            return previous, report

        vectors = dict(zip((c.chunk_id for c in to_embed), _embed(embedder, to_embed, log, progress))) \
            if to_embed else {}
        for doc_id, new in fresh.items():
            old_vectors = reused.get(doc_id, {})
            rows = [vectors.get(c.chunk_id, old_vectors.get(c.chunk_id)) for c in new]
            change.put[doc_id] = (new, np.asarray(rows, dtype=np.float32).reshape(len(new), embedder.dim))
        report.embedded = len(to_embed)
        change.manifest = {
            "settings": fingerprint,
            "embedder": {"name": embedder.name, "dim": embedder.dim},
            "inputs": [str(p) for p in paths],
            "input_fingerprint": fresh_fp,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        data = store.apply(previous, change)
        report.wrote = True
        report.chunks = data.chunk_count
        report.seconds = time.perf_counter() - t0
        data.manifest["build_seconds"] = round(report.seconds, 2)
        return data, report


def _load(paths: list[Path], settings: Settings, log: Log,
          accept: Callable[[Path], bool] | None = None) -> tuple[list[tuple[Document, Path]], list[str]]:
    """Every readable document with the input root it came from (the first of duplicates)."""
    documents: list[tuple[Document, Path]] = []
    skipped: list[str] = []
    seen: dict[str, str] = {}
    for root in paths:
        loaded = load_documents([root], settings.max_file_bytes, warn=lambda m: log(f"warning: {m}"),
                                table_rows=settings.table_docs == "row", accept=accept)
        skipped.extend(loaded.skipped)
        for doc in loaded.documents:
            if doc.doc_id in seen:
                message = f"{doc.source}: duplicate document id {doc.doc_id!r} (first from {seen[doc.doc_id]}), skipped"
                skipped.append(message)
                log(f"warning: {message}")
                continue
            seen[doc.doc_id] = doc.source
            documents.append((doc, root))
    return documents, skipped


def _load_previous(store: Store, embedder: Embedder, fingerprint: dict, log: Log):
    try:
        previous = store.load()
    except IndexNotFoundError:
        return None
    except IndexCorruptError as exc:
        log(f"warning: {exc}; rebuilding from scratch")
        return None
    have = previous.manifest.get("settings", {})
    if have != fingerprint:
        changed = [f"{k} {have.get(k)!r} -> {v!r}" for k, v in fingerprint.items() if have.get(k) != v]
        if store.shared and have.get("embedder") not in (None, fingerprint["embedder"]):
            raise model_mismatch(store, previous.manifest, embedder)
        if store.shared and have:  # re-embedding would drop the other replicas' documents
            raise StoreSchemaError(f"{store.location} was indexed with other settings (" + ", ".join(changed)
                                   + "); use those, or index into a new database")
        log("index settings changed (" + ", ".join(changed) + "); re-embedding every document")
        return None
    return previous


def model_mismatch(store: Store, manifest: dict, embedder: Embedder) -> StoreSchemaError:
    held = manifest.get("embedder", {})
    return StoreSchemaError(f"{store.location} holds vectors of the embedding model {held.get('name')!r} "
                            f"({held.get('dim')} dimensions), but this app embeds with {embedder.name!r} "
                            f"({embedder.dim}); point RAG_STORE_URL at a database for that model")


def _embed(embedder: Embedder, chunks: list[Chunk], log: Log, progress: Progress | None) -> np.ndarray:
    from tqdm import tqdm

    total = len(chunks)
    bar = tqdm(total=total, desc="embedding", unit="chunk", disable=None, leave=False)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        bar.update(n)
        if progress:
            progress(done, total)

    try:
        return embedder.embed_batch([embed_text(c) for c in chunks], progress=step)
    finally:
        bar.close()


def ensure_index(settings: Settings, embedder: Embedder, log: Log = print,
                 default_paths: Sequence[Path] | None = None, store: Store | None = None,
                 accept: Callable[[Path], bool] | None = None) -> IndexView:
    """Load the index, building or updating it first when it is missing or stale.

    A missing index is built from ``default_paths`` (the seeds by default) only when the
    index is the default one or a database; elsewhere the user is told what to run. A
    database holding another embedding model is refused, never re-embedded behind the
    other replicas' backs.
    """
    store = store or build_store(settings)
    try:
        data = store.load()
    except IndexNotFoundError:
        if default_paths is None and not store.shared \
                and Path(settings.index_dir).resolve() != Settings().index_dir.resolve():
            raise
        paths = list(default_paths or [settings.seeds_dir])
        log(f"no index in {store.location}; building it from {', '.join(map(str, paths))}")
        data, report = index_paths(paths, settings, embedder, log=log, store=store, accept=accept)
        log(report.summary())
        return data
    if store.shared and (data.manifest.get("settings", {}).get("embedder") not in (None, embedder.name)
                         or data.manifest.get("embedder", {}).get("dim") not in (None, embedder.dim)):
        raise model_mismatch(store, data.manifest, embedder)
    reason = stale_reason(data.manifest, settings, embedder)
    if reason:
        inputs = [Path(p) for p in data.manifest.get("inputs", [])] or list(default_paths or [settings.seeds_dir])
        log(f"index in {store.location} is stale ({reason}); updating it")
        data, report = index_paths(inputs, settings, embedder, log=log, store=store, accept=accept)
        log(report.summary())
    return data
