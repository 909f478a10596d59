"""Reading inputs into :class:`Document` objects.

Inputs are paths: files, folders (recursive) or JSON Lines corpora. Supported files are
``.txt``, ``.md``, ``.html``/``.htm`` (visible text, no navigation; :mod:`.html`), ``.pdf``
(text layer reflowed into prose, page offsets kept; :mod:`.pdf`), ``.docx`` (:mod:`.docx`),
``.csv``/``.tsv`` (a document per row or per file; :mod:`.tabular`) and ``.jsonl`` (one
``{"id", "title", "text"}`` document per line).

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
from .docx import read_docx
from .html import html_to_text
from .pdf import pdf_to_text
from .tabular import read_table
from .text import clean_text, decode_text

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
CORPUS_SUFFIXES = {".jsonl"}
DOCX_SUFFIXES = {".docx"}
TABLE_SUFFIXES = {".csv", ".tsv", ".tab"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | CORPUS_SUFFIXES | DOCX_SUFFIXES | TABLE_SUFFIXES

Warn = Callable[[str], None]


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """One line per skipped file or corpus line, naming it and saying why."""


def _read_bytes(path: Path, name: str, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(f"{name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit, skipped")
        return path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{name}: unreadable ({exc.strerror or exc}), skipped") from None


def read_documents(path: Path, doc_id: str, max_bytes: int, table_rows: bool = True) -> list[Document]:
    """Documents of one supported non-corpus file (a CSV may give one per row); DocumentError."""
    if path.suffix.lower() in TABLE_SUFFIXES:
        text = decode_text(_read_bytes(path, doc_id, max_bytes), doc_id)
        return read_table(text, doc_id, path.stem, per_row=table_rows)
    return [read_file(path, doc_id, max_bytes)]


def read_file(path: Path, doc_id: str, max_bytes: int) -> Document:
    """Read one supported single-document file into a Document; raises DocumentError."""
    name = doc_id
    data = _read_bytes(path, name, max_bytes)
    suffix = path.suffix.lower()
    if suffix in DOCX_SUFFIXES:
        text, title = read_docx(data, name)
        return Document(doc_id=doc_id, text=clean_text(text), source=doc_id, title=title or path.stem)
    if suffix in PDF_SUFFIXES:
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
                   warn: Warn | None = None, table_rows: bool = True,
                   accept: Callable[[Path], bool] | None = None) -> LoadResult:
    """Read every supported document under ``paths``.

    Raises InputError for a path that does not exist; everything wrong with a single file
    or corpus line is recorded in ``LoadResult.skipped`` (and passed to ``warn``). CSV/TSV
    files give a document per row with ``table_rows``, else one per file; files ``accept``
    refuses are left out (a watched folder's half-written ones).
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
            if accept is not None and not accept(path):
                continue  # not ready yet (a watched file still being written)
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
                for doc in read_documents(path, rel, max_file_bytes, table_rows):
                    add(doc)
            except DocumentError as exc:
                skip(str(exc))
    return result
