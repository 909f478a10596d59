"""Sentence-aware chunking with exact character offsets.

A document is split into sentences (spans into its text). Sentences are packed into chunks
of about ``chunk_words`` words. A chunk ends before the last heading (:func:`is_heading`)
past its first quarter, so a section stays with the heading that names it, else at a
paragraph break when one falls in its second half; otherwise it ends at a sentence boundary and the next
chunk repeats the last ``overlap`` sentences. Chunks never span two documents, and ``doc.text[start:end]`` is
always exactly the chunk's text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..models import Chunk, Document

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "u.s", "u.k",
    "no", "gen", "col", "lt", "sgt", "capt", "inc", "ltd", "co", "corp", "fig", "vol", "approx",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ca",
    "mt", "ft", "rev", "gov", "sen", "rep", "dept", "est", "al", "cf", "op", "pp",
}
# End punctuation, optional closing quotes/brackets, then white space.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_WORD = re.compile(r"\S+")

CHUNKER = "sentences-headings/2"
"""The chunking rules' version, in the index manifest: other rules give other chunks."""
HEADING_WORDS = 8
"""A heading is a paragraph of one sentence of at most this many words, unpunctuated at its end."""


def is_heading(text: str, start: int, end: int) -> bool:
    """Is ``text[start:end]`` (one sentence) a heading ("3.1 Invoking asn1Parser", "asn1 dup
    node")? A paragraph of its own (a blank line, or the text's edge, on both sides), at most
    ``HEADING_WORDS`` words, with no end punctuation."""
    if text[end - 1:end] in ".!?:;,)\"'”’" or len(_WORD.findall(text, start, end)) > HEADING_WORDS:
        return False
    before, after = text[:start].rstrip(" \t"), text[end:].lstrip(" \t")
    return (not before or before.endswith("\n\n")) and (not after or after.startswith("\n\n"))


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    paragraph_start: bool
    """True when a line break separates this sentence from the previous one."""
    words: int


def _is_abbreviation(text: str, dot: int) -> bool:
    """Is the '.' at ``dot`` the end of an abbreviation or an initial?"""
    if text[dot] != ".":
        return False
    i = dot
    while i > 0 and not text[i - 1].isspace() and text[i - 1] not in "(\"'“":
        i -= 1
    token = text[i:dot].lower()
    if not token:
        return False
    if token in _ABBREVIATIONS:
        return True
    # Single letters (initials, "J. Smith") and dotted acronyms ("U.N.").
    return len(token.replace(".", "")) == 1 and token[-1].isalpha()


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]``, trimmed of white space, in text coordinates."""
    return [(s.start, s.end) for s in _sentences(text, start, len(text) if end is None else end)]


def _continues(text: str, gap: str, prev_end: int, a: int) -> bool:
    """Does the line at ``a`` go on with the sentence the line before left open? Only across a
    single line break, after a line with no end punctuation, into a lowercase word ("... and
    generate\na C array ..." in a kept block, a hard-wrapped text file)."""
    return (gap.count("\n") == 1 and prev_end > 0 and text[prev_end - 1] not in ".!?…:;\"'”’)]"
            and text[a].islower())


def _sentences(text: str, lo: int, hi: int) -> list[Sentence]:
    spans: list[tuple[int, int, bool]] = []
    line_start = lo
    para = True
    prev_end = 0
    # Lines first: a line break is a sentence (and paragraph) boundary, unless the next line
    # just goes on with a sentence the line before left open (:func:`_continues`).
    for line in re.finditer(r"[^\n]+", text[lo:hi]):
        a, b = lo + line.start(), lo + line.end()
        while a < b and text[a] in " \t":
            a += 1
        if a >= b:
            continue
        gap = text[line_start:a]
        cut = a
        if spans and _continues(text, gap, prev_end, a):
            cut, _, para = spans.pop()  # the open sentence resumes here
        else:
            para = para or "\n" in gap
        for m in _BOUNDARY.finditer(text, a, b):
            stop = m.end()
            nxt = stop
            while nxt < b and text[nxt].isspace():
                nxt += 1
            if nxt >= b:
                break
            if _is_abbreviation(text, m.start()) and m.end() - m.start() == 1:
                continue
            if not (text[nxt].isupper() or text[nxt].isdigit() or text[nxt] in "\"'“‘([" or not text[nxt].isalpha()):
                continue
            spans.append((cut, stop, para))
            para = False
            cut = nxt
        spans.append((cut, b, para))
        para = False
        line_start = b
        prev_end = b
        while prev_end > a and text[prev_end - 1].isspace():
            prev_end -= 1
    out = []
    for a, b, p in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append(Sentence(a, b, p, len(_WORD.findall(text, a, b))))
    return out


def _split_long(text: str, s: Sentence, max_words: int) -> list[Sentence]:
    """Cut a sentence longer than ``max_words`` at word boundaries."""
    words = list(_WORD.finditer(text, s.start, s.end))
    pieces = []
    for i in range(0, len(words), max_words):
        group = words[i:i + max_words]
        pieces.append(Sentence(group[0].start(), group[-1].end(), s.paragraph_start and i == 0, len(group)))
    return pieces


def chunk_id(doc_id: str, text: str) -> str:
    return hashlib.sha1(f"{doc_id}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def chunk_document(doc: Document, chunk_words: int = 120, overlap: int = 1) -> list[Chunk]:
    """Split one document into chunks; see the module docstring for the rules."""
    if chunk_words < 1:
        raise ValueError("chunk_words must be at least 1")
    sentences: list[Sentence] = []
    for s in _sentences(doc.text, 0, len(doc.text)):
        sentences.extend(_split_long(doc.text, s, chunk_words) if s.words > chunk_words else [s])
    groups: list[list[Sentence]] = []
    current: list[Sentence] = []
    words = 0
    for s in sentences:
        # A loop: a paragraph cut may leave too much in ``current`` for ``s`` to fit.
        while current and words + s.words > chunk_words:
            # Prefer a paragraph break in the second half of the chunk, and before that the
            # last heading after its first quarter (a section is not cut from its heading).
            cut = heading_cut = None
            running = 0
            for i, c in enumerate(current):
                if i > 0 and c.paragraph_start and running >= chunk_words // 4 and is_heading(doc.text, c.start, c.end):
                    heading_cut = i
                if i > 0 and c.paragraph_start and running >= chunk_words // 2:
                    cut = i
                running += c.words
            cut = heading_cut if heading_cut is not None else cut
            if cut is not None:
                groups.append(current[:cut])
                current = current[cut:]
            else:
                groups.append(current)
                keep = current[-overlap:] if overlap and len(current) > overlap else []
                # Overlap only within a paragraph: none when ``s`` starts a new one, and
                # none from before a break inside ``keep``. Otherwise a later paragraph
                # cut could emit a chunk made of nothing but the repeated sentences.
                if s.paragraph_start:
                    keep = []
                for j in range(len(keep) - 1, 0, -1):
                    if keep[j].paragraph_start:
                        keep = keep[j:]
                        break
                if keep and sum(k.words for k in keep) + s.words > chunk_words:
                    keep = []
                current = list(keep)
            words = sum(c.words for c in current)
        current.append(s)
        words += s.words
    if current:
        groups.append(current)

    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for group in groups:
        start, end = group[0].start, group[-1].end
        text = doc.text[start:end]
        cid = chunk_id(doc.doc_id, text)
        if cid in seen:  # identical text twice in one document
            seen[cid] += 1
            cid = f"{cid}-{seen[cid]}"
        else:
            seen[cid] = 1
        chunks.append(Chunk(chunk_id=cid, doc_id=doc.doc_id, text=text, start=start, end=end,
                            source=doc.source, title=doc.title, page=doc.page_at(start),
                            page_breaks=tuple(b for b in doc.page_starts if start < b < end)))
    return chunks
