"""Lines of a page as a reader sees them, and what the whole document says about its layout.

A :class:`Line` is one printed line of a PDF page: its text (the text layer, untouched) with
the signals a person reads layout from: where it starts and ends, its font size, whether it
is set in a monospaced or bold face, and whether it has wide gaps between words (a table
row). :func:`find_furniture` finds the running headers, footers and bare page numbers;
:func:`body_metrics` the body text's size, line spacing and margins.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    text: str
    x0: float = 0.0
    x1: float = 0.0
    top: float = 0.0
    """Distance of the baseline from the top of the page (points, growing downwards)."""
    size: float = 10.0
    mono: bool = False
    bold: bool = False
    gapped: bool = False
    """Has a gap of over two ems between two words: a table row or aligned columns."""


@dataclass(frozen=True)
class Page:
    lines: tuple[Line, ...]
    width: float = 612.0
    height: float = 792.0


@dataclass(frozen=True)
class Metrics:
    size: float
    leading: float
    left: float
    right: float


_PAGE_NUMBER = re.compile(r"(?i)^[-–—\s]*(page\s+)?(\d{1,4}|(?=[ivx])x{0,3}(ix|iv|v?i{0,3}))(\s*(of|/)\s*\d{1,4})?[-–—\s]*$")
"""A bare page number: 12, - 12 -, Page 3, 3 of 20, 3/20, or a roman one up to xxxix (front
matter); a word made of roman letters ("mild", "dim") is no page number."""
_DIGITS = re.compile(r"\d+")
EDGE_LINES = 2
"""How many lines at the top and at the bottom of a page may be running headers/footers."""


def is_page_number(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(text.strip()))


def _key(text: str) -> str:
    return _DIGITS.sub("#", " ".join(text.lower().split()))


def body_metrics(pages: list[Page], dropped: set[tuple[int, int]] = frozenset()) -> Metrics:
    """Body font size (the size most characters are set in), its line spacing and margins."""
    sizes: Counter = Counter()
    for p, page in enumerate(pages):
        for i, line in enumerate(page.lines):
            if (p, i) not in dropped:
                sizes[round(line.size, 1)] += len(line.text)
    size = sizes.most_common(1)[0][0] if sizes else 10.0
    steps, lefts, rights = [], [], []
    for p, page in enumerate(pages):
        prev = None
        for i, line in enumerate(page.lines):
            if (p, i) in dropped or abs(line.size - size) > 0.5 or line.mono:
                prev = None
                continue
            lefts.append(line.x0)
            rights.append(line.x1)
            if prev is not None and 0 < line.top - prev.top < 3 * size:
                steps.append(line.top - prev.top)
            prev = line
    steps.sort()
    rights.sort()
    lefts.sort()
    leading = steps[len(steps) // 2] if steps else 1.2 * size
    left = lefts[int(0.1 * (len(lefts) - 1))] if lefts else 0.0  # the margin, not an indent
    right = rights[int(0.9 * (len(rights) - 1))] if rights else 0.0
    return Metrics(size=size, leading=leading, left=left, right=right)


def _edges(page: Page) -> list[tuple[int, str, int | None]]:
    """Edge lines of a page, outermost first: (index, "top"/"bottom", index of the next line inwards)."""
    n = len(page.lines)
    out = []
    for k in range(min(EDGE_LINES, n)):
        out.append((k, "top", k + 1 if k + 1 < n else None))
    for k in range(min(EDGE_LINES, n)):
        i = n - 1 - k
        if i >= EDGE_LINES:
            out.append((i, "bottom", i - 1 if i - 1 >= 0 else None))
    return out


def find_furniture(pages: list[Page]) -> set[tuple[int, int]]:
    """(page, line) indexes of running headers, footers and bare page numbers.

    Working inwards from each edge of a page (at most ``EDGE_LINES`` lines, and a line only
    when the one outside it is furniture too), a line is furniture when it is a bare page
    number, when its text recurs at that edge on at least half the pages (and three): the
    very same text on the outermost line, or set apart from the body by a gap and no larger
    than the body text, with numbers changing; or when it sits in a band
    at the top or bottom that the edge lines of at least half the pages share, set apart
    from the body by a gap wider than two body lines."""
    n_pages = len(pages)
    exact: Counter = Counter()
    loose: Counter = Counter()
    for page in pages:
        exact.update({(w, " ".join(page.lines[i].text.split())) for i, w, _ in _edges(page)})
        loose.update({(w, _key(page.lines[i].text)) for i, w, _ in _edges(page)})
    need = max(3, (n_pages + 1) // 2)
    body = body_metrics(pages).size
    out: set[tuple[int, int]] = set()
    for p, page in enumerate(pages):
        outer_ok = {"top": True, "bottom": True}
        outermost = {"top": 0, "bottom": len(page.lines) - 1}
        for i, where, inner in _edges(page):
            line = page.lines[i]
            apart = inner is None or abs(page.lines[inner].top - line.top) > 1.5 * line.size
            furniture = outer_ok[where] and (
                is_page_number(line.text) or (n_pages >= 3 and (
                    (i == outermost[where] and exact[(where, " ".join(line.text.split()))] >= need)
                    or (apart and line.size <= body + 0.5 and loose[(where, _key(line.text))] >= need))))
            if furniture:
                out.add((p, i))
            outer_ok[where] = furniture
    if n_pages >= 3:
        out |= _banded(pages, out)
    return out


def _banded(pages: list[Page], known: set[tuple[int, int]]) -> set[tuple[int, int]]:
    size = body_metrics(pages, known).size
    out: set[tuple[int, int]] = set()
    for where in ("top", "bottom"):
        bands: Counter = Counter()
        for page in pages:
            if len(page.lines) >= 2:
                line = page.lines[0] if where == "top" else page.lines[-1]
                bands[round(line.top / 2)] += 1
        if not bands:
            continue
        band, count = bands.most_common(1)[0]
        if count < max(3, (len(pages) + 1) // 2):
            continue
        apart = []
        for p, page in enumerate(pages):
            if len(page.lines) < 2:
                continue
            i, j = (0, 1) if where == "top" else (len(page.lines) - 1, len(page.lines) - 2)
            line, other = page.lines[i], page.lines[j]
            # Running heads are set no larger than the body: a larger line there is a title
            # (every slide of a deck has one at the same height).
            if abs(line.top / 2 - band) <= 1 and abs(line.top - other.top) > 2.2 * size \
                    and len(line.text) <= 120 and line.size <= size + 0.5:
                apart.append((p, i))
        # The band is a running head's only when it is set apart on most pages: the body's
        # own first line sits at the same height on every page, and is apart only now and then.
        if len(apart) >= max(3, (count + 1) // 2):
            out.update(apart)
    return out
