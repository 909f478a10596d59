"""What decides whether an index is current: what the embedder sees of a chunk, the settings
and input fingerprints, and each document's content hash."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

from ..config import Settings
from ..ingest import CHUNKER, SUPPORTED_SUFFIXES, iter_files
from ..models import Chunk, Document
from .embedding import Embedder

EMBED_FORMAT = "title-newline-text/1"


def embed_text(chunk: Chunk) -> str:
    """What the embedder and BM25 see: the title gives a chunk its topic."""
    return f"{chunk.title}\n{chunk.text}" if chunk.title else chunk.text


def settings_fingerprint(settings: Settings, embedder: Embedder) -> dict:
    return {"embedder": embedder.name, "max_seq_length": settings.embed_max_seq_length,
            "chunk_words": settings.chunk_words, "chunk_overlap": settings.chunk_overlap_sentences,
            "embed_format": EMBED_FORMAT, "chunker": CHUNKER}


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
