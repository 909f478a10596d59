"""HTML pages reduced to the text a reader sees, in paragraphs and blocks.

Scripts, styles and hidden elements go; so do a page's navigation, header and footer
(``<nav>``, ``<header>``, ``<footer>``, ARIA landmarks, and the navigation tables and
contents lists of DocBook, gtk-doc, texinfo and Sphinx manuals such as the HTML manuals of
Debian's documentation packages). Source line breaks inside a paragraph are white space,
not breaks; block elements make paragraphs; ``<pre>`` keeps its lines, as one block.
"""

from __future__ import annotations

import re

from .text import clean_text

BLOCKS = ["address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div",
          "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
          "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "section", "summary",
          "table", "ul"]
"""Elements that make a paragraph of their own. A table is one block, a line per row."""
_BREAK, _LINE = "\x1f", "\x1e"  # control characters: clean_text removed any the page had
_NAV_CLASS = re.compile(r"(?i)^(nav|navigation|navheader|navfooter|nav-panel|navbar|header|footer|"
                        r"toc|related|sphinxsidebar|breadcrumbs?|skip-?link|menu)$")
_NAV_ROLES = {"navigation", "banner", "contentinfo", "search"}


def drop_unclosed_comment(html: str) -> str:
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


def _is_furniture(tag) -> bool:
    if tag.name in ("nav",):
        return True
    attrs = tag.attrs or {}
    if str(attrs.get("role", "")).lower() in _NAV_ROLES:
        return True
    if tag.name in ("header", "footer") and not tag.find_parent(["article", "section", "main"]):
        return True  # the page's header/footer; an article's own header is content
    classes = attrs.get("class") or []
    if isinstance(classes, str):
        classes = classes.split()
    if any(_NAV_CLASS.match(c) for c in classes):
        return True
    return "navigation" in str(attrs.get("summary", "")).lower()


def _hidden(tag) -> bool:
    attrs = tag.attrs or {}
    style = str(attrs.get("style", "")).replace(" ", "").lower()
    return "hidden" in attrs or attrs.get("aria-hidden") == "true" or "display:none" in style \
        or "visibility:hidden" in style


def html_to_text(html: str) -> tuple[str, str]:
    """Visible text and title of an HTML page (see the module docstring)."""
    from bs4 import BeautifulSoup

    # Lone surrogates make bs4 raise; an unterminated comment is hidden by browsers but
    # html.parser would return it (and everything after it) as visible text.
    soup = BeautifulSoup(drop_unclosed_comment(clean_text(html)), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "head", "iframe", "object", "svg"]):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed:  # inside an element removed earlier in this loop
            continue
        if _hidden(tag) or _is_furniture(tag):
            tag.decompose()
    for tag in soup.find_all("pre"):
        lines = [" ".join(line.split()) for line in tag.get_text("").split("\n")]
        tag.replace_with(_BREAK + _LINE.join(line for line in lines if line) + _BREAK)
    for tag in soup.find_all("br"):
        tag.replace_with(_LINE)
    for tag in soup.find_all(["td", "th"]):
        tag.insert_after(" ")
    for tag in soup.find_all("tr"):
        tag.insert_before(_LINE)
        tag.insert_after(_LINE)
    for tag in soup.find_all(BLOCKS):
        tag.insert_before(_BREAK)
        tag.insert_after(_BREAK)
    blocks = []
    for block in soup.get_text("").split(_BREAK):
        lines = [" ".join(line.split()) for line in block.split(_LINE)]
        text = "\n".join(line for line in lines if line)
        if text:
            blocks.append(text)
    return clean_text("\n\n".join(blocks)), title
