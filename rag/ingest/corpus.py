"""JSON Lines corpora: one ``{"id", "title", "text"}`` document per line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from ..models import Document
from .text import clean_text


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
