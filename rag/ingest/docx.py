"""Word documents (``.docx``) read with python-docx: paragraphs, headings, lists and tables.

Each paragraph, heading and list item becomes a paragraph of its own (list items marked
"• "); a table becomes a block of one line per row, each cell named by its column header
("Name: alpha; Size: 12"), so a row read alone still says what its numbers are. The body
is read in document order; headers, footers and comments are left out.
"""

from __future__ import annotations

import io
import zipfile

from ..errors import DocumentError


def _is_list_item(paragraph) -> bool:
    ppr = paragraph._p.pPr
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    return (ppr is not None and ppr.numPr is not None) or style.lower().startswith("list")


def _table_lines(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if not cells or text != cells[-1] or not text:  # merged cells repeat their text
                cells.append(text)
        rows.append(cells)
    if not rows:
        return []
    header = rows[0]
    lines = [" | ".join(c for c in header if c)] if any(header) else []
    for cells in rows[1:]:
        pairs = [f"{h}: {c}" if h else c for h, c in zip(header + [""] * len(cells), cells) if c]
        if pairs:
            lines.append("; ".join(pairs))
    return [line for line in lines if line]


def read_docx(data: bytes, name: str) -> tuple[str, str]:
    """Text and title of a .docx file; DocumentError for a corrupt or empty one."""
    import docx

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DocumentError(f"{name}: not a DOCX file (not a zip archive), skipped")
    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if hasattr(item, "rows"):
                lines = _table_lines(item)
                if lines:
                    blocks.append("\n".join(lines))
                continue
            text = " ".join(item.text.split())
            if text:
                blocks.append(f"• {text}" if _is_list_item(item) else text)
        title = (document.core_properties.title or "").strip()
    except DocumentError:
        raise
    except Exception as exc:  # python-docx and lxml raise many types for broken packages
        raise DocumentError(f"{name}: corrupt DOCX ({type(exc).__name__}: {str(exc)[:80]}), skipped") from None
    text = "\n\n".join(blocks)
    if not text.strip():
        raise DocumentError(f"{name}: DOCX has no text, skipped")
    return text, title
