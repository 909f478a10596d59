"""Reading inputs into :class:`Document` objects.

Inputs are paths: files, folders (recursive) or JSON Lines corpora. Supported files are
``.txt``, ``.md``, ``.html``/``.htm`` (visible text only), ``.pdf`` (text layer, page
offsets kept) and ``.jsonl`` (one ``{"id", "title", "text"}`` document per line).

Bad files never stop a run: each one is skipped with a one-line warning naming it, and the
caller decides what an empty result means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import DocumentError, InputError
from ..models import Document
from .corpus import read_corpus
from .html import html_to_text
from .pdf import pdf_to_text
from .text import decode_text

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
CORPUS_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | CORPUS_SUFFIXES

Warn = Callable[[str], None]


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """One line per skipped file or corpus line, naming it and saying why."""


def read_file(path: Path, doc_id: str, max_bytes: int) -> Document:
    """Read one supported non-corpus file into a Document; raises DocumentError."""
    name = doc_id
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(f"{name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit, skipped")
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{name}: unreadable ({exc.strerror or exc}), skipped") from None
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        if not data.startswith(b"%PDF"):
            raise DocumentError(f"{name}: not a PDF file (no %PDF header), skipped")
        text, pages = pdf_to_text(data, name)
        return Document(doc_id=doc_id, text=text, source=doc_id, title=path.stem, page_starts=pages)
    text = decode_text(data, name)
    if suffix in HTML_SUFFIXES:
        text, title = html_to_text(text)
        title = title or path.stem
    else:
        title = path.stem
    if not text.strip():
        raise DocumentError(f"{name}: empty file, skipped")
    return Document(doc_id=doc_id, text=text, source=doc_id, title=title)


def iter_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def load_documents(paths: Iterable[Path | str], max_file_bytes: int = 50 * 1024 * 1024,
                   warn: Warn | None = None) -> LoadResult:
    """Read every supported document under ``paths``.

    Raises InputError for a path that does not exist; everything wrong with a single file
    or corpus line is recorded in ``LoadResult.skipped`` (and passed to ``warn``).
    """
    result = LoadResult()
    seen: dict[str, str] = {}

    def skip(message: str) -> None:
        result.skipped.append(message)
        if warn:
            warn(message)

    def add(doc: Document) -> None:
        if doc.doc_id in seen:
            skip(f"{doc.source}: duplicate document id {doc.doc_id!r} (first from {seen[doc.doc_id]}), skipped")
            return
        seen[doc.doc_id] = doc.source
        result.documents.append(doc)

    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise InputError(f"no such file or folder: {root}")
        if root.is_dir():
            files = [(p, p.relative_to(root).as_posix()) for p in iter_files(root)]
        else:
            files = [(root, root.name)]
        for path, rel in files:
            suffix = path.suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                if root.is_file():
                    skip(f"{rel}: unsupported file type {suffix or '(none)'}, skipped")
                continue
            if suffix in CORPUS_SUFFIXES:
                corpus_skipped: list[str] = []
                for doc in read_corpus(path, rel, corpus_skipped):
                    add(doc)
                for message in corpus_skipped:
                    skip(message)
                continue
            try:
                add(read_file(path, rel, max_file_bytes))
            except DocumentError as exc:
                skip(str(exc))
    return result
