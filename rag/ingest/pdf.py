"""PDF text layers, with page offsets, and the checks that refuse bombs and encrypted files."""

from __future__ import annotations

import io
import logging
from functools import lru_cache

from ..errors import DocumentError
from .text import clean_text


@lru_cache(maxsize=1)
def _quiet_pypdf() -> None:
    """pypdf logs a warning for every small defect of a real-world PDF; ours are one line per
    skipped file, so its logger is set to errors only, once per process."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)


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
    from pypdf import PdfReader

    _quiet_pypdf()
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
