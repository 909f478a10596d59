"""Reading inputs into :class:`Document` objects.

Inputs are paths: files, folders (recursive) or JSON Lines corpora. Supported files are
``.txt``, ``.md``, ``.html``/``.htm`` (visible text only), ``.pdf`` (text layer, page
offsets kept) and ``.jsonl`` (one ``{"id", "title", "text"}`` document per line).

Bad files never stop a run: each one is skipped with a one-line warning naming it, and the
caller decides what an empty result means.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .errors import DocumentError, InputError
from .models import Document

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


def decode_text(data: bytes, name: str) -> str:
    """Decode bytes as text, refusing binary content with a clear error."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError(f"{name}: binary file (contains NUL bytes), skipped")
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return clean_text(data.decode(codec))
            except UnicodeDecodeError:
                break
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name}: not UTF-8 text (byte {exc.start}), skipped") from None
    return clean_text(text)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Drop control characters and lone surrogates, normalise newlines; keeps everything else."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


_HTML_BLOCKS = ["address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div",
                "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
                "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
                "table", "td", "th", "tr", "ul"]


def _drop_unclosed_comment(html: str) -> str:
    """``html`` cut at a ``<!--`` that is never closed (browsers hide the rest of the page)."""
    pos = 0
    while (i := html.find("<!--", pos)) != -1:
        if html.startswith(("<!-->", "<!--->"), i):  # empty comments, closed at once
            pos = i + 4
            continue
        j = html.find("-->", i + 4)
        if j == -1:
            return html[:i]
        pos = j + 3
    return html


def html_to_text(html: str) -> tuple[str, str]:
    """Visible text and title of an HTML page: no scripts, styles, or hidden elements."""
    from bs4 import BeautifulSoup

    # Lone surrogates make bs4 raise; an unterminated comment is hidden by browsers but
    # html.parser would return it (and everything after it) as visible text.
    soup = BeautifulSoup(_drop_unclosed_comment(clean_text(html)), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "head", "iframe", "object", "svg"]):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed:  # inside an element removed earlier in this loop
            continue
        attrs = tag.attrs or {}
        style = str(attrs.get("style", "")).replace(" ", "").lower()
        if "hidden" in attrs or attrs.get("aria-hidden") == "true" or "display:none" in style \
                or "visibility:hidden" in style:
            tag.decompose()
    # Only block elements break lines: <b>, <a>, <span> ... stay inside their sentence.
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    blocks = []
    for line in soup.get_text("").split("\n"):
        line = " ".join(line.split())
        if line:
            blocks.append(line)
    return clean_text("\n\n".join(blocks)), title


MAX_PDF_CONTENT_BYTES = 24 * 1024 * 1024
"""Decompressed page content (drawing instructions) one PDF may hold. Text extraction runs
at roughly 0.1 MB of content per second, so this bounds a PDF to minutes, not hours."""
MAX_PDF_EXPANSION = 50
"""Past 1 MB, page content over this many times the file's size is a decompression bomb:
text pages compress a few times, a bomb a thousand (10 KB became 3.3 MB and 30 s of CPU)."""


class _PdfBudget:
    """Counts decompressed page content and refuses a bomb before its text is extracted."""

    def __init__(self, size: int, name: str):
        self.size, self.name, self.total = size, name, 0

    def charge(self, page, number: int) -> None:
        contents = page.get_contents()  # decompressed by pypdf (capped at 75 MB a stream)
        self.total += len(contents.get_data()) if contents is not None else 0
        if self.total > MAX_PDF_CONTENT_BYTES or \
                (self.total > 1024 * 1024 and self.total > MAX_PDF_EXPANSION * self.size):
            raise DocumentError(f"{self.name}: PDF expands to over {self.total / 1e6:.0f} MB of page content "
                                f"by page {number} ({self.size / 1e3:.0f} KB file): looks like a "
                                "decompression bomb, skipped")


def _open_pdf(data: bytes, name: str):
    import io
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise DocumentError(f"{name}: encrypted PDF, skipped")
    return reader


def _pdf_failure(exc: Exception, name: str) -> DocumentError:
    if type(exc).__name__ == "LimitReachedError":  # pypdf's own decompression cap
        return DocumentError(f"{name}: a PDF stream decompresses past pypdf's limit: looks like a "
                             "decompression bomb, skipped")
    return DocumentError(f"{name}: unreadable PDF ({type(exc).__name__}), skipped")


def check_pdf(data: bytes, name: str) -> None:
    """Raise DocumentError for an unreadable, encrypted or bomb PDF, without extracting text."""
    try:
        budget = _PdfBudget(len(data), name)
        for number, page in enumerate(_open_pdf(data, name).pages, start=1):
            budget.charge(page, number)
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many types for broken files
        raise _pdf_failure(exc, name) from None


def pdf_to_text(data: bytes, name: str) -> tuple[str, tuple[int, ...]]:
    """Text layer of a PDF, pages separated by blank lines, and each page's start offset."""
    try:
        reader = _open_pdf(data, name)
        budget = _PdfBudget(len(data), name)
        for number, page in enumerate(reader.pages, start=1):  # all pages before any extraction
            budget.charge(page, number)
        parts: list[str] = []
        starts: list[int] = []
        offset = 0
        for page in reader.pages:
            page_text = clean_text(page.extract_text() or "").strip()
            starts.append(offset)
            parts.append(page_text)
            offset += len(page_text) + 2
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many types for broken files
        raise _pdf_failure(exc, name) from None
    text = "\n\n".join(parts)
    if not text.strip():
        raise DocumentError(f"{name}: PDF has no text layer (scanned?), skipped")
    return text, tuple(starts)


def title_from_text(text: str, fallback: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:80]
    return fallback


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


def read_corpus(path: Path, label: str, skipped: list[str]) -> Iterator[Document]:
    """Documents of a JSON Lines corpus; malformed lines are reported with their number."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        skipped.append(f"{label}: unreadable ({exc.strerror or exc}), skipped")
        return
    with handle:
        for lineno, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
                doc_id = record.get("id")
                text = record.get("text")
                if not isinstance(doc_id, (str, int)) or str(doc_id) == "":
                    raise ValueError('missing "id"')
                if not isinstance(text, str):
                    raise ValueError('missing or non-string "text"')
                if not text.strip():
                    raise ValueError('empty "text"')
                title = record.get("title") or ""
                if not isinstance(title, str):
                    title = str(title)
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else \
                    "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                skipped.append(f"{label}:{lineno}: malformed corpus line ({reason}), skipped")
                continue
            doc_id = str(doc_id)
            yield Document(doc_id=doc_id, text=clean_text(text), source=f"{label}#{doc_id}",
                           title=clean_text(title))


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
