"""PDF lines reflowed into prose: wrapped lines joined, real breaks kept, furniture dropped.

:func:`reflow` turns the lines of every page (see :mod:`rag.ingest.layout`) into one text:

- lines that wrap inside a paragraph are joined with a space, across page breaks too;
- a paragraph ends at a vertical gap, an indented first line, a list bullet, a heading (a
  larger font), or a short line that ends a sentence; paragraphs are separated by a blank line;
- code (monospaced lines), table rows (wide gaps between words) and hex dumps stay blocks,
  one line each, never merged into sentences;
- a hyphen at the end of a line is dropped when it splits a word ("inter-" + "national")
  and kept when the hyphenated word is a real one ("glob-deleteall" spelt so elsewhere);
- running headers, footers and bare page numbers are dropped, and so are the entries of a
  table of contents or an index (words, dot leaders, a page number): navigation, not text.

Nothing else changes: each kept line's text appears in the output whole and in order (less
a dropped end-of-line hyphen), and :attr:`Reflowed.pieces` says where, so every output
character maps back to its page and line. ``page_starts[i]`` is the offset of page i+1's
first character, so a sentence that crosses a page break belongs to its first page.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .layout import Line, Metrics, Page, body_metrics, find_furniture

_BULLET = re.compile(r"^([•◦▪‣∙·○●■□–—*-]\s|\(?(\d{1,3}|[a-zA-Z]|[ivx]{1,4})[.)]\s)")
_HEX = re.compile(r"^([0-9a-fA-F]{4,16}[:\s]\s*)?([0-9a-fA-F]{2}\s+){5,}")
_LEADERS = re.compile(r"(\.\s?){5,}\s*\d+$")
_LABEL = re.compile(r"^[\w*.-]+( [\w*.-]+){0,2}: ")
_WORDS = re.compile(r"[A-Za-z][\w-]*")
_ENDS_SENTENCE = ".!?:"
DROP_HYPHEN = "\x00"
"""Separator meaning: join the lines and drop the hyphen that ends the first one."""


@dataclass(frozen=True)
class Piece:
    page: int
    """0-based page index."""
    line: int
    """0-based line index within the page."""
    length: int
    """Characters of the line kept (its text, less a dropped end-of-line hyphen)."""
    out: int
    """Where they start in :attr:`Reflowed.text`."""


@dataclass(frozen=True)
class Reflowed:
    text: str
    page_starts: tuple[int, ...]
    pieces: tuple[Piece, ...]
    dropped: frozenset[tuple[int, int]]
    """(page, line) of the running headers, footers, page numbers and contents lines left out."""


def is_block(line: Line, m: Metrics, prev: Line | None = None) -> bool:
    """Is ``line`` kept as a line of its own: code, a table row, a hex dump, a contents line
    with dot leaders? Code is monospaced and ragged: a monospaced line that runs to the right
    margin, or that goes on (in lower case) or ends (with a full stop) a sentence that a
    prose line left open, is prose full of identifiers."""
    if line.gapped or _HEX.match(line.text):
        return True
    if not line.mono or line.x1 >= m.right - 2 * m.size:
        return False
    if prev is not None and not prev.mono and prev.text[-1:] not in _ENDS_SENTENCE \
            and (line.text[:1].islower() or line.text.endswith(".")):
        return False  # a prose sentence that goes on, or ends, on a line of identifiers
    return True


def _is_heading(line: Line, m: Metrics) -> bool:
    text = line.text
    if line.size >= 1.15 * m.size and len(text) < 150:
        return True
    return line.bold and len(text) < 90 and text[-1:] not in ".,;" and not line.mono


def _word_counts(pages: list[Page]) -> Counter:
    counts: Counter = Counter()
    for page in pages:
        for line in page.lines:
            counts.update(w.lower() for w in _WORDS.findall(line.text))
    return counts


def _keeps_hyphen(a: str, b: str, words: Counter, mono: bool) -> bool:
    """``a`` ends in '-' and ``b`` goes on: is the hyphen part of the word?"""
    head = re.search(r"[\w-]*-$", a)
    tail = re.match(r"[\w-]*", b)
    if mono or head is None or not head.group()[:-1] or not tail.group():
        return True
    joined = (head.group()[:-1] + tail.group()).lower()
    hyphenated = (head.group() + tail.group()).lower()
    if words[hyphenated] and not words[joined]:
        return True
    if words[joined] and not words[hyphenated]:
        return False
    return not b[:1].islower()  # "TCP-" + "IP": a capital after a line-end hyphen is no split word


def _separator(a: Line, b: Line, same_page: bool, m: Metrics, words: Counter,
               block_a: bool, block_b: bool) -> str:
    """What goes between kept lines ``a`` and ``b``: a join ('' or ' '), or a break."""
    if block_a or block_b:
        together = block_a and block_b and same_page and a.mono == b.mono \
            and 0 < b.top - a.top <= 1.45 * m.leading
        return "\n" if together else "\n\n"  # lines of one block, or two blocks
    if _is_heading(a, m) or _is_heading(b, m):
        if _is_heading(a, m) and _is_heading(b, m) and abs(a.size - b.size) < 0.5 and same_page \
                and 0 < b.top - a.top < 1.6 * a.size:
            return " "  # a heading wrapped over two lines
        return "\n\n"
    if _BULLET.match(b.text) or (_LABEL.match(b.text) and b.x0 > m.left + 0.8 * m.size):
        return "\n\n"  # a list item, or a "term: description" entry
    text = a.text
    ends = text[-1:] in _ENDS_SENTENCE or text.endswith((".)", '."', ".”", ".’"))
    if same_page:
        gap = b.top - a.top
        if gap > 1.45 * m.leading or gap < -0.5 * m.size:  # a vertical gap, or a new column
            return "\n\n"
        if b.x0 > a.x0 + 0.8 * m.size and (ends or a.x1 < m.right - 3 * m.size):
            return "\n\n"  # an indented first line
    if b.x0 > m.left + 0.8 * m.size and ends:
        return "\n\n"
    if ends and a.x1 < m.right - 4 * m.size:
        return "\n\n"  # a short last line of a paragraph
    if ends and not same_page and not b.text[:1].islower():
        return "\n\n"
    if text.endswith("-") and len(text) > 1 and text[-2].isalpha() and b.text[:1].isalnum():
        return "" if _keeps_hyphen(text, b.text, words, a.mono) else DROP_HYPHEN
    if text.endswith(("_", "/")) and b.text[:1].isalnum():
        return ""  # an identifier or path broken after its separator
    return " "


def is_contents_line(line: Line) -> bool:
    """A table-of-contents or index entry: words, dot leaders, a page number."""
    return bool(_LEADERS.search(line.text))


def reflow(pages: list[Page]) -> Reflowed:
    """One text for all ``pages``; see the module docstring for the rules."""
    dropped = find_furniture(pages) | {(p, i) for p, page in enumerate(pages)
                                       for i, line in enumerate(page.lines) if is_contents_line(line)}
    m = body_metrics(pages, dropped)
    words = _word_counts(pages)
    out: list[str] = []
    length = 0
    starts: list[int] = []
    pieces: list[Piece] = []
    prev: tuple[Line, int, bool] | None = None
    for p, page in enumerate(pages):
        first_on_page = True
        for i, line in enumerate(page.lines):
            if (p, i) in dropped or not line.text.strip():
                continue
            keep = line.text
            block = is_block(line, m, prev[0] if prev else None)
            if prev is not None:
                sep = _separator(prev[0], line, prev[1] == p, m, words, prev[2], block)
                if sep == DROP_HYPHEN:  # a word split at the line end: join it whole
                    out[-1] = out[-1][:-1]
                    length -= 1
                    last = pieces[-1]
                    pieces[-1] = Piece(last.page, last.line, last.length - 1, last.out)
                    sep = ""
                out.append(sep)
                length += len(sep)
            if first_on_page:
                while len(starts) <= p:
                    starts.append(length)
                first_on_page = False
            pieces.append(Piece(p, i, len(keep), length))
            out.append(keep)
            length += len(keep)
            prev = (line, p, block)
    while len(starts) < len(pages):
        starts.append(length)
    return Reflowed("".join(out), tuple(starts), tuple(pieces), frozenset(dropped))
