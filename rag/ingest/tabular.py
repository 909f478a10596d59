"""CSV and TSV files: one document per row (the default) or one per file.

Every row is written out with its column headers repeated ("Codename: Bookworm; Release:
2023-06-10."), so a row read alone, or retrieved alone, still says what each value is.
``per_row`` (``RAG_TABLE_DOCS=row``) makes each row a document of its own, ``<file>#<row>``;
otherwise the file is one document whose rows are paragraphs. Which is better was measured
on a small battery over Debian's distro-info CSVs (see the README's "Formats" section).

Quoting is read strictly: a broken quote makes the file fail with the line it is on.
"""

from __future__ import annotations

import csv
import io

from ..errors import DocumentError
from ..models import Document


def row_text(header: list[str], row: list[str]) -> str:
    pairs = []
    for i, value in enumerate(row):
        value = " ".join(value.split())
        if not value:
            continue
        key = " ".join(header[i].split()) if i < len(header) else ""
        key = key[:1].upper() + key[1:]  # a row reads as a sentence: "Codename: Bookworm; ..."
        pairs.append(f"{key}: {value}" if key else value)
    text = "; ".join(pairs)
    return text if not text or text[-1] in ".!?" else text + "."


def parse_table(text: str, name: str, delimiter: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) rows; DocumentError naming the line of bad quoting."""
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        header: list[str] | None = None
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = cells
                continue
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise DocumentError(f"{name}: broken CSV quoting at line {reader.line_num} ({exc}), skipped") from None
    if header is None or not rows:
        raise DocumentError(f"{name}: no rows under the header, skipped")
    return header, rows


def read_table(text: str, name: str, title: str, per_row: bool = True) -> list[Document]:
    """Documents of one CSV (``.csv``) or TSV (``.tsv``, ``.tab``) file's decoded text."""
    delimiter = "," if name.lower().endswith(".csv") else "\t"
    header, rows = parse_table(text, name, delimiter)
    lines = [(n, row_text(header, cells)) for n, cells in rows]
    lines = [(n, t) for n, t in lines if t]
    if per_row:
        return [Document(doc_id=f"{name}#{i}", text=t, source=f"{name}#{i}", title=title)
                for i, (_, t) in enumerate(lines, start=1)]
    return [Document(doc_id=name, text="\n\n".join(t for _, t in lines), source=name, title=title)]
