"""Uploaded documents: validation, safe storage in the app's own folder, and removal.

Nothing the user sends is trusted as a path: a file is stored under a sanitized version of
its base name, inside ``Settings.upload_dir`` only, after a size check and a type check by
extension *and* content (a PDF must start with ``%PDF``; text formats must be UTF-8 without
NUL bytes; a ``.jsonl`` corpus must hold at least one ``{"id", "text"}`` line). Files are
written under a hidden temporary name and renamed into place, so the indexer (which skips
dot-files) never reads a half-written upload.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..config import Settings
from .docx import read_docx
from .documents import (CORPUS_SUFFIXES, DOCX_SUFFIXES, HTML_SUFFIXES, PDF_SUFFIXES, TABLE_SUFFIXES,
                        TEXT_SUFFIXES)
from .pdf import check_pdf
from .tabular import parse_table
from ..errors import DocumentError, InputError

ALLOWED_SUFFIXES = (TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | CORPUS_SUFFIXES | DOCX_SUFFIXES
                    | TABLE_SUFFIXES)
"""Extensions accepted for upload (.txt, .md, .html, .pdf, .docx, .csv, .tsv, .jsonl and aliases)."""
KINDS = ".txt, .md, .html, .pdf, .docx, .csv, .tsv or .jsonl"
MAX_NAME_CHARS = 100


class UploadError(InputError):
    """A file was rejected; the message names it and says why."""


@dataclass(frozen=True)
class SavedUpload:
    name: str
    """The sanitized file name inside the upload folder (also its document id)."""
    path: Path
    bytes: int
    replaced: bool
    """True when an earlier upload of the same name was overwritten."""


def sanitize_name(name: str) -> str:
    """A safe base name: no directories, no leading dots, only ``[A-Za-z0-9._-]``.

    ``../../etc/passwd.txt`` -> ``passwd.txt``; ``Ré sumé (1).PDF`` -> ``Re_sume_1.pdf``.
    Raises UploadError when nothing usable is left.
    """
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")
    stem = re.sub(r"_+", "_", stem)
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix).lower()
    if not stem:
        stem = "upload"
    clean = f"{stem[:MAX_NAME_CHARS]}.{suffix}" if suffix else stem[:MAX_NAME_CHARS]
    if not suffix:
        raise UploadError(f"{base or name!r}: no file extension; upload {KINDS}")
    return clean


def check_content(data: bytes, name: str) -> None:
    """Raise UploadError unless ``data`` really is what the extension of ``name`` says."""
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise UploadError(f"{name}: unsupported file type {suffix or '(none)'}; upload {KINDS}")
    if not data.strip():
        raise UploadError(f"{name}: the file is empty")
    if suffix in PDF_SUFFIXES:
        if not data.startswith(b"%PDF-"):
            raise UploadError(f"{name}: not a PDF (no %PDF header)")
        try:
            check_pdf(data, name)  # unreadable, encrypted, or a decompression bomb
        except DocumentError as exc:
            raise UploadError(str(exc).removesuffix(", skipped")) from None
        return
    if suffix in DOCX_SUFFIXES:
        try:
            read_docx(data, name)
        except DocumentError as exc:
            raise UploadError(str(exc).removesuffix(", skipped")) from None
        return
    if b"\x00" in data:
        raise UploadError(f"{name}: binary content (NUL bytes) in a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError(f"{name}: not UTF-8 text (bad byte at {exc.start})") from None
    if suffix in TABLE_SUFFIXES:
        try:
            parse_table(text, name, "," if suffix == ".csv" else "\t")
        except DocumentError as exc:
            raise UploadError(str(exc).removesuffix(", skipped")) from None
        return
    if suffix in CORPUS_SUFFIXES:
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise UploadError(f"{name}: line {lineno} is not JSON; a .jsonl corpus holds one "
                                  '{"id", "title", "text"} object per line') from None
            if not isinstance(record, dict) or "id" not in record or "text" not in record:
                raise UploadError(f'{name}: line {lineno} lacks "id" or "text"')
            return  # the first record decides; the loader reports later bad lines itself


def _inside(folder: Path, name: str) -> Path:
    folder = folder.resolve()
    target = (folder / name).resolve()
    if target.parent != folder:
        raise UploadError(f"{name!r}: not a plain file name")
    return target


def save_upload(source: Path | str, original_name: str, settings: Settings,
                reserved: Iterable[str] = ()) -> SavedUpload:
    """Validate the file at ``source`` and store it in ``settings.upload_dir``.

    ``original_name`` is only used (sanitized) to name the stored copy. ``reserved`` are
    document ids used elsewhere (e.g. the seeds); a clashing name gets a ``-2``, ``-3``...
    suffix so both documents stay indexed. An earlier upload of the same name is replaced.
    """
    name = sanitize_name(original_name)
    source = Path(source)
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise UploadError(f"{name}: upload unreadable ({exc.strerror or exc})") from None
    if size > settings.max_upload_bytes:
        raise UploadError(f"{name}: {size / 1e6:.1f} MB is over the "
                          f"{settings.max_upload_bytes / 1e6:.0f} MB upload limit")
    data = source.read_bytes()
    if len(data) > settings.max_upload_bytes:  # grew after stat
        raise UploadError(f"{name}: over the {settings.max_upload_bytes / 1e6:.0f} MB upload limit")
    check_content(data, name)
    reserved = set(reserved)
    stem, suffix = name.rsplit(".", 1)
    n = 1
    while name in reserved:
        n += 1
        name = f"{stem}-{n}.{suffix}"
    folder = Path(settings.upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = _inside(folder, name)
    replaced = target.exists()
    tmp = target.with_name(f".{name}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return SavedUpload(name=name, path=target, bytes=len(data), replaced=replaced)


def list_uploads(settings: Settings) -> list[str]:
    """Names of the stored uploads (hidden and partial files excluded), sorted."""
    folder = Path(settings.upload_dir)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in ALLOWED_SUFFIXES)


def remove_upload(name: str, settings: Settings) -> Path:
    """Delete one stored upload by name; only names that :func:`list_uploads` shows are accepted."""
    if name not in list_uploads(settings):
        raise UploadError(f"{name!r} is not an uploaded document")
    target = _inside(Path(settings.upload_dir), name)
    target.unlink()
    return target


def owner_file(doc: dict) -> str:
    """The file a document (as in ``Engine.documents()``) came from: ``a.jsonl#7`` -> ``a.jsonl``."""
    source = str(doc.get("source") or doc.get("doc_id") or "")
    return source.split("#", 1)[0]
