"""HTML pages reduced to their visible text (no scripts, styles or hidden elements)."""

from __future__ import annotations

from .text import clean_text

_HTML_BLOCKS = ["address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div",
                "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
                "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
                "table", "td", "th", "tr", "ul"]


def _drop_unclosed_comment(html: str) -> str:
    """``html`` cut at a ``<!--`` that is never closed (browsers hide the rest of the page)."""
    pos = 0
    while (i := html.find("<!--", pos)) != -1:
        if html.startswith(("<!-->", "<!--->"), i):  # empty comments, closed at once
            pos = i + 4
            continue
        j = html.find("-->", i + 4)
        if j == -1:
            return html[:i]
        pos = j + 3
    return html


def html_to_text(html: str) -> tuple[str, str]:
    """Visible text and title of an HTML page: no scripts, styles, or hidden elements."""
    from bs4 import BeautifulSoup

    # Lone surrogates make bs4 raise; an unterminated comment is hidden by browsers but
    # html.parser would return it (and everything after it) as visible text.
    soup = BeautifulSoup(_drop_unclosed_comment(clean_text(html)), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "head", "iframe", "object", "svg"]):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed:  # inside an element removed earlier in this loop
            continue
        attrs = tag.attrs or {}
        style = str(attrs.get("style", "")).replace(" ", "").lower()
        if "hidden" in attrs or attrs.get("aria-hidden") == "true" or "display:none" in style \
                or "visibility:hidden" in style:
            tag.decompose()
    # Only block elements break lines: <b>, <a>, <span> ... stay inside their sentence.
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    blocks = []
    for line in soup.get_text("").split("\n"):
        line = " ".join(line.split())
        if line:
            blocks.append(line)
    return clean_text("\n\n".join(blocks)), title
