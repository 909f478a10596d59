"""Rendering answers for the chat UI: chat markdown with clickable ``[n]`` and the sources panel.

Everything here works on ``Answer.to_dict()`` dictionaries (what the UI keeps per message)
and returns strings; it knows nothing about gradio. Every piece of text that comes from a
document, the model or the user is HTML-escaped (and markdown-escaped in chat), so a
document cannot inject markup or script into the page.

Anchors: the source card of citation ``n`` of turn ``t`` has the id ``src-t-n``, and the
``[n]`` link in that turn's answer points at ``#src-t-n``. The page script (:data:`PAGE_JS`)
scrolls the card into view and flashes it.
"""

from __future__ import annotations

import html
import re
from typing import Any, Iterable

from .page_assets import CSS, PAGE_JS  # noqa: F401  (the page's style and script, for app.py)


MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*\]")
"""One bracket holding one or more passage numbers (the same grammar as rag.answer.citations)."""
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~$:@])")
"""Markdown syntax, plus ``:`` and ``@`` so URLs and e-mail addresses are not auto-linked
(``<`` ``>`` ``&`` are HTML-escaped instead)."""
_WWW = re.compile(r"(?i)\b(www)\.")


def escape_markdown(text: str) -> str:
    """Text that markdown shows literally and that contains no live HTML."""
    return html.escape(_WWW.sub(r"\1\\.", _MD_SPECIAL.sub(r"\\\1", text)), quote=False)


def esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def anchor_id(turn: int, n: int) -> str:
    return f"src-{int(turn)}-{int(n)}"


def _cite_link(turn: int, n: int, supported: bool) -> str:
    title = f"Show source {n}" if supported else f"Source {n}: this sentence was not confirmed by the passage"
    link = f'<a href="#{anchor_id(turn, n)}" class="rag-cite" title="{esc(title)}">[{n}]</a>'
    return link if supported else link + '<sup title="not supported by the cited passage">⚠</sup>'


def render_streaming(text: str) -> str:
    """A partial answer while it streams: literal text and a cursor."""
    return escape_markdown(text) + " ▍"


def render_answer(answer: dict, turn: int) -> str:
    """The chat markdown of a finished answer: links for valid ``[n]``, refusals and errors marked."""
    citations = {int(c["n"]): c for c in answer.get("citations") or []}
    text = answer.get("text") or ""
    parts: list[str] = []
    pos = 0
    lead = s if (s := answer.get("short_answer")) and not answer.get("refused") and text.startswith(s + " [") else None
    for i, m in enumerate(MARKER.finditer(text)):
        piece = escape_markdown(text[pos:m.start()])
        if lead and i == 0:  # the short answer, bold; its evidence sentence follows on a new line
            piece = f"**{escape_markdown(lead)}** "
        elif lead and i == 1 and piece.lstrip().startswith("."):
            piece, parts[-1] = "  \n" + piece.lstrip(". "), parts[-1] + "."
        parts.append(piece)
        numbers = [int(x) for x in re.findall(r"\d+", m.group(1))]
        links = [_cite_link(turn, n, bool(citations[n].get("supported", True)))
                 for n in numbers if n in citations]
        parts.append("".join(links))  # markers pointing at no given passage are dropped
        pos = m.end()
    parts.append(escape_markdown(text[pos:]))
    body = "".join(parts).strip()
    lines = []
    if answer.get("refused"):
        lines.append("**Not found in the documents.**")
        if body:
            lines.append(body)
    elif answer.get("error"):  # the text only restates the error; the passages are the content
        lines.append(f"⚠️ **The language model failed:** {escape_markdown(answer['error'])}  \n"
                     "The retrieved passages are shown under *Sources*.")
    else:
        lines.append(body or "*(empty answer)*")
    timings = answer.get("timings") or {}
    if (timings.get("total") or 0) >= 100:
        lines.append(f"<sub>{timings['total'] / 1000:.1f} s</sub>")
    return "\n\n".join(lines)


def render_error(message: str) -> str:
    """An inline error in place of an answer."""
    return f"⚠️ **Could not answer:** {escape_markdown(message)}"


def _highlighted(text: str, sentence: str, rel_start: int | None) -> str:
    """The passage with ``sentence`` wrapped in <mark>, located by offset or by search."""
    start = None
    if sentence:
        if rel_start is not None and 0 <= rel_start <= len(text) and \
                text[rel_start:rel_start + len(sentence)] == sentence:
            start = rel_start
        else:
            found = text.find(sentence)
            start = found if found >= 0 else None
    if start is None:
        return esc(text)
    end = start + len(sentence)
    return f"{esc(text[:start])}<mark>{esc(text[start:end])}</mark>{esc(text[end:])}"


def _where(item: dict) -> str:
    bits = [item.get("source") or item.get("doc_id") or ""]
    if item.get("page"):
        bits.append(f"page {item['page']}")
    return " · ".join(b for b in bits if b)


def _card(turn: int, n: int, item: dict, body: str, score: float | None, supported: bool | None,
          suffix: str = "") -> str:
    badge = ""
    if supported is False:
        badge = '<span class="rag-badge rag-unsupported" title="the cited sentence was not confirmed by this passage">unsupported</span>'
    score_html = f'<span class="rag-score">score {score:.3f}</span>' if score is not None else ""
    title = item.get("title") or item.get("doc_id") or "untitled"
    return (f'<div class="rag-card" id="{anchor_id(turn, n)}{suffix}">'
            f'<div class="rag-card-head"><span class="rag-n">[{n}]</span> '
            f'<span class="rag-title">{esc(title)}</span> {badge}</div>'
            f'<div class="rag-meta"><span class="rag-where">{esc(_where(item))}</span> {score_html}</div>'
            f'<div class="rag-passage">{body}</div></div>')


def render_sources(answer: dict | None, turn: int | None) -> str:
    """The sources panel for one answer: a card per citation with its sentence highlighted.

    Without citations (a refusal, an LLM failure) the retrieved passages are listed instead,
    labelled as not cited.
    """
    if not answer or turn is None:
        return ('<div class="rag-sources rag-empty">Ask a question: the passages each answer '
                'cites appear here, with the supporting sentence highlighted.</div>')
    question = answer.get("question") or ""
    head = f'<div class="rag-sources-head">Sources for: <q>{esc(question[:160])}</q></div>'
    cards: list[str] = []
    citations = answer.get("citations") or []
    if citations:
        for c in sorted(citations, key=lambda c: int(c["n"])):
            rel = int(c.get("sentence_start", 0)) - int(c.get("start", 0)) if c.get("sentence_end") else None
            body = _highlighted(c.get("text") or "", c.get("sentence") or "", rel)
            cards.append(_card(turn, int(c["n"]), c, body, float(c.get("score") or 0.0),
                               bool(c.get("supported", True))))
        passages = answer.get("passages") or []
        cited = {c.get("chunk_id") for c in citations}
        others = [p for p in passages if p.get("chunk_id") not in cited]
        if others:
            cards.append(f'<details class="rag-more"><summary>{len(others)} more retrieved passage'
                         f'{"s" if len(others) != 1 else ""} (not cited)</summary>'
                         + "".join(_passage_cards(turn, others)) + "</details>")
    else:
        passages = answer.get("passages") or []
        if not passages:
            cards.append('<div class="rag-empty">No passages were retrieved.</div>')
        else:
            label = "Closest passages (none was used)" if answer.get("refused") else "Retrieved passages (not cited)"
            cards.append(f'<div class="rag-note">{label}</div>')
            cards.extend(_passage_cards(turn, passages))
    return f'<div class="rag-sources" data-turn="{int(turn)}">{head}{"".join(cards)}</div>'


def _passage_cards(turn: int, passages: Iterable[dict]) -> list[str]:
    """Cards of uncited passages; their ids end in ``-p`` so no ``[n]`` link lands on them."""
    return [_card(turn, int(p.get("rank", i + 1)), p, esc(p.get("text") or ""), float(p.get("score") or 0.0),
                  None, suffix="-p") for i, p in enumerate(passages)]


def render_status(status: dict) -> str:
    """One line: LLM, embedding model, documents and chunks (and indexing state)."""
    line = (f"**LLM:** {escape_markdown(status.get('llm', '?'))} · "
            f"**Embeddings:** {escape_markdown(status.get('embedder', '?'))} · "
            f"**Index:** {int(status.get('documents', 0))} documents, {int(status.get('chunks', 0))} chunks")
    if status.get("store"):
        line += f" · **Store:** {escape_markdown(status['store'])}"
    if status.get("store_error"):
        line += " · *database unavailable*"
    if status.get("indexing"):
        line += " · *indexing…*"
    return line


def status_text(status: dict) -> str:
    """The status line as plain text, for the terminal."""
    return (f"LLM: {status.get('llm', '?')} · embeddings: {status.get('embedder', '?')} · "
            f"index: {int(status.get('documents', 0))} documents, {int(status.get('chunks', 0))} chunks"
            + (f" in {status['store']}" if status.get("store") else ""))


def documents_table(documents: list[dict], uploads: Iterable[str], watched: Iterable[str] = ()) -> list[list]:
    """Rows for the documents list: title, source, chunks, origin (uploaded, watched or built in)."""
    uploaded, watched = set(uploads), set(watched)
    rows = []
    for d in documents:
        source = d.get("source") or d.get("doc_id")
        owner = str(source).split("#", 1)[0]
        origin = "uploaded" if owner in uploaded else "watched" if owner in watched else "built in"
        rows.append([d.get("title") or d.get("doc_id"), source, int(d.get("chunks", 0)), origin])
    return rows
