"""Plain data types shared by every stage: documents, chunks, retrieved passages, answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    doc_id: str
    """Stable id: the path relative to the indexed root, or the corpus id."""
    text: str
    source: str
    """Where it came from: relative file path, or ``corpus.jsonl#id``."""
    title: str = ""
    page_starts: tuple[int, ...] = ()
    """For PDFs: the character offset at which each page (1-based index + 1) starts."""

    def page_at(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        page = 1
        for i, start in enumerate(self.page_starts):
            if offset >= start:
                page = i + 1
        return page


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    source: str
    title: str = ""
    page: int | None = None
    """For PDFs: the page the chunk starts on."""
    page_breaks: tuple[int, ...] = ()
    """Document offsets inside the chunk at which a new page starts (one per page turned)."""

    def __post_init__(self):
        if not isinstance(self.page_breaks, tuple):  # a list, read back from JSON
            object.__setattr__(self, "page_breaks", tuple(self.page_breaks))

    def page_at(self, offset: int) -> int | None:
        """The page of document offset ``offset`` inside this chunk (a sentence's first page)."""
        if self.page is None:
            return None
        return self.page + sum(1 for b in self.page_breaks if b <= offset)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Passage:
    """A retrieved chunk with its rank and score."""

    rank: int
    score: float
    chunk: Chunk
    scores: dict[str, float] = field(default_factory=dict)
    """Per-retriever scores (dense cosine, bm25) for inspection and refusal decisions."""

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "source": c.source,
            "title": c.title,
            "page": c.page,
            "start": c.start,
            "end": c.end,
            "text": c.text,
        }


@dataclass
class Citation:
    n: int
    chunk_id: str
    doc_id: str
    source: str
    title: str
    page: int | None
    start: int
    end: int
    text: str
    """The cited passage text."""
    sentence: str
    """The sentence of the passage that supports the claim."""
    sentence_start: int = 0
    """Offset of ``sentence`` within the document (same frame as ``start``/``end``)."""
    sentence_end: int = 0
    supported: bool = True
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    passages: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    """Milliseconds: retrieval, generation, total."""
    standalone_question: str | None = None
    error: str | None = None
    """Set when the LLM failed; the passages are still returned."""
    evidence: float = 0.0
    """The retrieval evidence score (rag.answer.refusal): the off-topic floor."""
    answerability: float | None = None
    """P(answerable) from rag.answer.answerability; None when the off-topic floor refused first."""
    short_answer: str | None = None
    """At most ten words copied from a cited passage that answer the question, or None."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "text": self.text,
            "short_answer": self.short_answer,
            "citations": [c.to_dict() for c in self.citations],
            "refused": self.refused,
            "evidence": round(float(self.evidence), 4),
            "answerability": None if self.answerability is None else round(float(self.answerability), 4),
            "error": self.error,
            "passages": [p.to_dict() for p in self.passages],
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
        }
