"""PDF text with its layout, read by PDFium (``pypdfium2``), reflowed into prose.

pypdf, the reader before, gives a page's text but no line positions or font sizes, and it
takes ~18 ms a page in pure Python. PDFium (the PDF engine of Chromium, BSD/Apache) gives
each character's box, font size and font flags, marks the hyphens it saw at line ends, and
is compiled: a page's characters and their layout cost ~6 µs a character through
``pypdfium2``'s ctypes bindings. pdfminer.six/pdfplumber would give the same signals at
~10x the time. pypdf still runs first to refuse decompression bombs before any page is
rendered into text (:func:`check_pdf`).
"""

from __future__ import annotations

import ctypes
import io
import logging
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from ..errors import DocumentError
from .layout import Line, Page
from .reflow import reflow
from .text import clean_text


@lru_cache(maxsize=1)
def _quiet_pypdf() -> None:
    """pypdf logs a warning for every small defect of a real-world PDF; ours are one line per
    skipped file, so its logger is set to errors only, once per process."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)

MAX_PDF_CONTENT_BYTES = 24 * 1024 * 1024
"""Decompressed page content (drawing instructions) one PDF may hold: bounds a PDF's memory
and time to seconds."""
MAX_PDF_EXPANSION = 50
"""Past 1 MB, page content over this many times the file's size is a decompression bomb:
text pages compress a few times, a bomb a thousand (10 KB became 3.3 MB and 30 s of CPU)."""
_FIXED_PITCH, _FORCE_BOLD = 1, 1 << 18
_MONO_NAMES = ("mono", "courier", "consol", "typewriter", "menlo", "inconsolata", "code")


@dataclass(frozen=True)
class PdfText:
    text: str
    page_starts: tuple[int, ...]


def _pdf_failure(exc: Exception, name: str) -> DocumentError:
    if type(exc).__name__ == "LimitReachedError":  # pypdf's own decompression cap
        return DocumentError(f"{name}: a PDF stream decompresses past pypdf's limit: looks like a "
                             "decompression bomb, skipped")
    return DocumentError(f"{name}: unreadable PDF ({type(exc).__name__}), skipped")


def check_pdf(data: bytes, name: str) -> None:
    """Raise DocumentError for an unreadable or bomb PDF, before any text is extracted."""
    from pypdf import PdfReader

    _quiet_pypdf()
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == 0:
            raise DocumentError(f"{name}: encrypted PDF (needs a password), skipped")
        total = 0
        for number, page in enumerate(reader.pages, start=1):
            contents = page.get_contents()  # decompressed by pypdf (capped at 75 MB a stream)
            total += len(contents.get_data()) if contents is not None else 0
            if total > MAX_PDF_CONTENT_BYTES or (total > 1024 * 1024 and total > MAX_PDF_EXPANSION * len(data)):
                raise DocumentError(f"{name}: PDF expands to over {total / 1e6:.0f} MB of page content "
                                    f"by page {number} ({len(data) / 1e3:.0f} KB file): looks like a "
                                    "decompression bomb, skipped")
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many types for broken files
        raise _pdf_failure(exc, name) from None


def _is_mono(font: str, flags: int) -> bool:
    lower = font.lower()
    base = lower.split("+")[-1]
    return bool(flags & _FIXED_PITCH) or any(n in lower for n in _MONO_NAMES) or \
        (base.startswith("cm") and "tt" in base) or base.startswith(("lmmono", "nimbusmon"))


class _LineBuilder:
    """Collects one line's characters and layout while a page's characters are walked."""

    def __init__(self):
        self.chars: list[str] = []
        self.sizes: Counter = Counter()
        self.mono = self.bold = self.seen = 0
        self.x0 = self.x1 = self.top = 0.0
        self.gapped = False
        self.last_right: float | None = None
        self.after_space = False

    def line(self) -> Line | None:
        text = clean_text("".join(self.chars)).strip()
        if not text or not self.seen:
            return None
        return Line(text=text, x0=self.x0, x1=self.x1, top=self.top,
                    size=self.sizes.most_common(1)[0][0], mono=self.mono >= 0.6 * self.seen,
                    bold=self.bold >= 0.8 * self.seen, gapped=self.gapped)


@lru_cache(maxsize=1)
def _text_object_address(raw):
    """FPDFText_GetTextObject returning the object's address as an int: a pointer result
    would need a ctypes.cast per character (a third of the walk's time)."""
    return ctypes.cast(raw.FPDFText_GetTextObject,
                       ctypes.CFUNCTYPE(ctypes.c_void_p, raw.FPDF_TEXTPAGE, ctypes.c_int))


def _page(pdfium_page, raw) -> Page:
    width, height = pdfium_page.get_size()
    tp = pdfium_page.get_textpage()
    try:
        n = tp.count_chars()
        text = tp.get_text_range() if n else ""
        if len(text) != n:  # surrogate pairs: fall back to one code point per character
            text = "".join(chr(raw.FPDFText_GetUnicode(tp, j)) for j in range(n))
        lines: list[Line] = []
        fonts: dict[int, tuple[float, bool, bool]] = {}
        buf = ctypes.create_string_buffer(128)
        flags = ctypes.c_int()
        left, right, bottom, top = (ctypes.c_double() for _ in range(4))
        x, y = ctypes.c_double(), ctypes.c_double()
        cur = _LineBuilder()
        text_object = _text_object_address(raw)

        def box(j):
            raw.FPDFText_GetCharBox(tp, j, left, right, bottom, top)
            return left.value, right.value

        for j, ch in enumerate(text):
            if ch in "\r\n":
                if (done := cur.line()) is not None:
                    lines.append(done)
                cur = _LineBuilder()
                continue
            if ch.isspace():
                cur.chars.append(" ")
                cur.after_space = True
                continue
            if ord(ch) < 32 or ch == "\x7f":
                continue
            obj = text_object(tp, j) or 0
            font = fonts.get(obj)
            if font is None:
                raw.FPDFText_GetFontInfo(tp, j, buf, len(buf), ctypes.byref(flags))
                name = buf.value.decode("latin-1", "replace")
                font = (round(raw.FPDFText_GetFontSize(tp, j), 1), _is_mono(name, flags.value),
                        bool(flags.value & _FORCE_BOLD) or raw.FPDFText_GetFontWeight(tp, j) >= 600
                        or "bold" in name.lower() or name.split("+")[-1].lower().startswith(("cmbx", "cmb1")))
                fonts[obj] = font
            size, mono, bold = font
            cur.sizes[size] += 1
            cur.mono += mono
            cur.bold += bold
            if not cur.seen:
                raw.FPDFText_GetCharOrigin(tp, j, x, y)
                cur.x0, cur.top = box(j)[0], height - y.value
            elif cur.after_space and cur.last_right is not None:
                if box(j)[0] - cur.last_right > 2 * size:
                    cur.gapped = True
            cur.seen += 1
            cur.after_space = False
            if ch == "\ufffe":  # PDFium's mark for a hyphen that ended a printed line
                cur.chars.append("-")
                cur.x1 = box(j)[1]
                if (done := cur.line()) is not None:
                    lines.append(done)
                cur = _LineBuilder()
                continue
            cur.chars.append(ch)
            if j + 1 >= n or text[j + 1].isspace():
                cur.last_right = cur.x1 = box(j)[1]
        if (done := cur.line()) is not None:
            lines.append(done)
        return Page(lines=tuple(lines), width=width, height=height)
    finally:
        tp.close()


def read_pages(data: bytes, name: str) -> list[Page]:
    """Every page's lines with their layout; DocumentError for an encrypted or broken PDF."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DocumentError(f"{name}: encrypted PDF (needs a password), skipped") from None
        raise DocumentError(f"{name}: unreadable PDF ({exc}), skipped") from None
    try:
        pages = []
        for i in range(len(doc)):
            page = doc[i]
            try:
                pages.append(_page(page, raw))
            finally:
                page.close()
        return pages
    finally:
        doc.close()


def read_pdf(data: bytes, name: str) -> PdfText:
    """The PDF's text reflowed into prose, with each page's start offset."""
    if not data.startswith(b"%PDF"):
        raise DocumentError(f"{name}: not a PDF file (no %PDF header), skipped")
    check_pdf(data, name)
    pages = read_pages(data, name)
    flowed = reflow(pages)
    if not flowed.text.strip():
        raise DocumentError(f"{name}: PDF has no text layer (image-only or scanned?), skipped")
    return PdfText(flowed.text, flowed.page_starts)


def pdf_to_text(data: bytes, name: str) -> tuple[str, tuple[int, ...]]:
    """:func:`read_pdf` as (text, page starts), for the reader dispatch."""
    pdf = read_pdf(data, name)
    return pdf.text, pdf.page_starts
