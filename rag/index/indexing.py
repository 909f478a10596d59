"""Building and incrementally updating the index from input paths.

Only documents whose content changed are chunked and embedded again; the vectors of the
others are carried over from the previous version. A change of embedding model or chunking
settings re-embeds everything.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import store
from ..config import Settings
from ..ingest import SUPPORTED_SUFFIXES, chunk_document, iter_files, load_documents
from .embedding import Embedder
from ..errors import EmptyCorpusError, IndexCorruptError, IndexNotFoundError, InputError
from ..models import Chunk, Document

EMBED_FORMAT = "title-newline-text/1"
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


def embed_text(chunk: Chunk) -> str:
    """What the embedder and BM25 see: the title gives a chunk its topic."""
    return f"{chunk.title}\n{chunk.text}" if chunk.title else chunk.text


def settings_fingerprint(settings: Settings, embedder: Embedder) -> dict:
    return {"embedder": embedder.name, "max_seq_length": settings.embed_max_seq_length,
            "chunk_words": settings.chunk_words, "chunk_overlap": settings.chunk_overlap_sentences,
            "embed_format": EMBED_FORMAT}


def document_hash(doc: Document) -> str:
    h = hashlib.sha256()
    for part in (doc.title, doc.source, doc.text, ",".join(map(str, doc.page_starts))):
        h.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    return h.hexdigest()[:32]


def input_fingerprint(paths: Sequence[Path]) -> str:
    """Cheap change detector over input files: names, sizes and modification times."""
    h = hashlib.sha1()
    for root in paths:
        root = Path(root)
        files = iter_files(root) if root.is_dir() else ([root] if root.exists() else [])
        for f in files:
            if f.suffix.lower() in SUPPORTED_SUFFIXES:
                st = f.stat()
                h.update(f"{f}\x00{st.st_size}\x00{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def stale_reason(manifest: dict, settings: Settings, embedder: Embedder) -> str | None:
    """Why an existing index no longer matches the settings or its inputs, or None."""
    want = settings_fingerprint(settings, embedder)
    have = manifest.get("settings", {})
    changed = [f"{k} {have.get(k)!r} -> {v!r}" for k, v in want.items() if have.get(k) != v]
    if changed:
        return "settings changed: " + ", ".join(changed)
    inputs = [Path(p) for p in manifest.get("inputs", [])]
    if inputs and all(p.exists() for p in inputs) and input_fingerprint(inputs) != manifest.get("input_fingerprint"):
        return "documents changed"
    return None


def index_paths(paths: Sequence[Path | str], settings: Settings, embedder: Embedder,
                log: Log = print, progress: Progress | None = None,
                accept: Callable[[Path], bool] | None = None) -> tuple[store.IndexData, IndexReport]:
    """Bring the index in ``settings.index_dir`` in line with the documents under ``paths``
    (only the files ``accept`` takes, when given: a watched folder's half-written ones wait)."""
    t0 = time.perf_counter()
    paths = [Path(p).resolve() for p in paths]
    report = IndexReport()
    for p in paths:  # before the lock, which would create the index folder for a typo
        if not p.exists():
            raise InputError(f"no such file or folder: {p}")
    with store.lock(settings.index_dir):
        loaded = load_documents(paths, settings.max_file_bytes, warn=lambda m: log(f"warning: {m}"),
                                table_rows=settings.table_docs == "row", accept=accept)
        report.skipped = loaded.skipped
        if not loaded.documents:
            where = ", ".join(str(p) for p in paths)
            raise EmptyCorpusError(f"no readable documents in {where}"
                                   + (f" ({len(loaded.skipped)} skipped)" if loaded.skipped else ""))
        fingerprint = settings_fingerprint(settings, embedder)
        previous = _load_previous(settings, embedder, fingerprint, log)
        old_docs = previous.documents if previous else {}
        rows_by_doc: dict[str, list[int]] = {}
        if previous:
            for row, c in enumerate(previous.chunks):
                rows_by_doc.setdefault(c.doc_id, []).append(row)

        chunks: list[Chunk] = []
        vectors: list[np.ndarray] = []
        to_embed: list[Chunk] = []
        documents: dict[str, dict] = {}
        for doc in loaded.documents:
            digest = document_hash(doc)
            old = old_docs.get(doc.doc_id)
            if old and old.get("hash") == digest and doc.doc_id in rows_by_doc:
                rows = rows_by_doc[doc.doc_id]
                chunks.extend(previous.chunks[r] for r in rows)
                vectors.append(np.asarray(previous.vectors[rows], dtype=np.float32))
                report.unchanged += 1
                n = len(rows)
            else:
                new = chunk_document(doc, settings.chunk_words, settings.chunk_overlap_sentences)
                # A changed document keeps the vectors of the chunks whose text did not change.
                reuse = {(previous.chunks[r].chunk_id, previous.chunks[r].title): r
                         for r in rows_by_doc.get(doc.doc_id, [])} if previous else {}
                for c in new:
                    row = reuse.get((c.chunk_id, c.title))
                    if row is None:
                        to_embed.append(c)
                    else:
                        chunks.append(c)
                        vectors.append(np.asarray(previous.vectors[row:row + 1], dtype=np.float32))
                n = len(new)
                if old:
                    report.updated += 1
                else:
                    report.added += 1
            documents[doc.doc_id] = {"hash": digest, "source": doc.source, "title": doc.title, "chunks": n}
        report.removed = len(set(old_docs) - set(documents))

        fresh_fp = input_fingerprint(paths)
        same_inputs = previous is not None and previous.manifest.get("inputs") == [str(p) for p in paths]
        if previous is not None and not to_embed and not report.removed and same_inputs \
                and previous.manifest.get("input_fingerprint") == fresh_fp:
            report.chunks = len(previous.chunks)
            report.seconds = time.perf_counter() - t0
            return previous, report

        if to_embed:
            new_vectors = _embed(embedder, to_embed, log, progress)
            chunks.extend(to_embed)
            vectors.append(new_vectors)
        report.embedded = len(to_embed)
        all_vectors = np.concatenate(vectors) if vectors else np.zeros((0, embedder.dim), np.float32)
        manifest = {
            "settings": fingerprint,
            "embedder": {"name": embedder.name, "dim": int(all_vectors.shape[1]) if len(all_vectors) else embedder.dim},
            "inputs": [str(p) for p in paths],
            "input_fingerprint": fresh_fp,
            "documents": documents,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        data = store.write(settings.index_dir, manifest, chunks, all_vectors,
                           [embed_text(c) for c in chunks])
        report.wrote = True
        report.chunks = len(chunks)
        report.seconds = time.perf_counter() - t0
        data.manifest["build_seconds"] = round(report.seconds, 2)
        return data, report


def _load_previous(settings: Settings, embedder: Embedder, fingerprint: dict, log: Log):
    try:
        previous = store.load(settings.index_dir)
    except IndexNotFoundError:
        return None
    except IndexCorruptError as exc:
        log(f"warning: {exc}; rebuilding from scratch")
        return None
    have = previous.manifest.get("settings", {})
    if have != fingerprint:
        changed = [f"{k} {have.get(k)!r} -> {v!r}" for k, v in fingerprint.items() if have.get(k) != v]
        log("index settings changed (" + ", ".join(changed) + "); re-embedding every document")
        return None
    return previous


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
                 default_paths: Sequence[Path] | None = None,
                 accept: Callable[[Path], bool] | None = None) -> store.IndexData:
    """Load the index, building or updating it first when it is missing or stale.

    A missing index is built from ``default_paths`` (the seeds by default) only when the
    index directory is the default one; elsewhere the user is told what to run.
    """
    try:
        data = store.load(settings.index_dir)
    except IndexNotFoundError:
        if default_paths is None and Path(settings.index_dir).resolve() != Settings().index_dir.resolve():
            raise
        paths = list(default_paths or [settings.seeds_dir])
        log(f"no index in {settings.index_dir}; building it from {', '.join(map(str, paths))}")
        data, report = index_paths(paths, settings, embedder, log=log, accept=accept)
        log(report.summary())
        return data
    reason = stale_reason(data.manifest, settings, embedder)
    if reason:
        inputs = [Path(p) for p in data.manifest.get("inputs", [])] or [settings.seeds_dir]
        log(f"index in {settings.index_dir} is stale ({reason}); updating it")
        data, report = index_paths(inputs, settings, embedder, log=log, accept=accept)
        log(report.summary())
    return data
