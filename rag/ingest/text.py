"""Text hygiene shared by every reader: decoding bytes, dropping control characters, titles."""

from __future__ import annotations

import re

from ..errors import DocumentError


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



def title_from_text(text: str, fallback: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:80]
    return fallback
