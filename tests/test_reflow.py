"""PDF reflow: the rules on hand-made layouts, and properties over generated ones."""

from hypothesis import given, settings, strategies as st

from rag.ingest import chunk_document
from rag.ingest.layout import EDGE_LINES, Line, Page, find_furniture
from rag.ingest.reflow import is_contents_line, reflow
from rag.models import Document

BODY = dict(size=10.0, x1=500.0)


def para(top: float, *texts: str, x0: float = 72.0, indent: float = 15.0, **kw) -> list[Line]:
    """Lines of one paragraph at 12 pt spacing, the first one indented."""
    return [Line(text=t, x0=x0 + (indent if i == 0 else 0), top=top + 12 * i, **{**BODY, **kw})
            for i, t in enumerate(texts)]


def page(*groups, header: str | None = None, number: int | None = None) -> Page:
    lines = [Line(text=header, x0=72, x1=300, top=40, size=9)] if header else []
    for g in groups:
        lines.extend(g)
    if number is not None:
        lines.append(Line(text=str(number), x0=300, x1=306, top=760, size=9))
    return Page(lines=tuple(lines))


def test_wrapped_lines_join_and_paragraphs_stay_apart():
    p = page(para(100, "The default weight value is", "50, and the maximum is 100."),
             para(130, "A second paragraph starts", "here."))
    out = reflow([p]).text
    assert out == "The default weight value is 50, and the maximum is 100.\n\nA second paragraph starts here."


def test_running_header_footer_and_page_numbers_are_dropped_and_sentences_cross_pages():
    pages = [page(para(100, f"Body text of page {n} goes on and", "on until the line"),
                  header="The Grand Specification", number=n) for n in range(1, 5)]
    flowed = reflow(pages)
    assert "Grand Specification" not in flowed.text
    assert not any(line.strip().isdigit() for line in flowed.text.split("\n"))
    # The last line of page 1 ends mid-sentence: page 2's first line continues it.
    assert "until the line Body text of page 2" in flowed.text
    assert flowed.page_starts[1] == flowed.text.index("Body text of page 2")
    doc = Document("d", flowed.text, "d.pdf", page_starts=flowed.page_starts)
    assert doc.page_at(flowed.text.index("until the line Body text of page 2")) == 1


def test_hyphenation_undone_but_real_hyphens_kept():
    words = Line(text="Use glob-deleteall to clear them all, says the manual.", x0=72, top=300, **BODY)
    p = page(para(100, "An inter-", "national standard, and glob-", "deleteall removes every glob."), [words])
    out = reflow([p]).text
    assert "international standard" in out and "glob-deleteall removes" in out


def test_code_blocks_tables_and_headings_stay_blocks():
    code = [Line(text=t, x0=90, x1=200, top=160 + 12 * i, size=10, mono=True)
            for i, t in enumerate(["int main(void) {", "return 0;", "}"])]
    table = [Line(text="Name   Size", x0=72, x1=400, top=220, size=10, gapped=True),
             Line(text="alpha  12", x0=72, x1=400, top=232, size=10, gapped=True)]
    heading = [Line(text="2.1 Syntax", x0=72, x1=200, top=80, size=14, bold=True)]
    p = page(heading, para(100, "The example below", "shows it:"), code, table)
    out = reflow([p]).text
    assert out == ("2.1 Syntax\n\nThe example below shows it:\n\nint main(void) {\nreturn 0;\n}"
                   "\n\nName   Size\nalpha  12")


def test_list_items_are_their_own_paragraphs():
    p = page(para(100, "Features:"), [Line(text="• fast and", x0=80, top=124, **BODY),
                                      Line(text="small;", x0=90, top=136, **BODY),
                                      Line(text="• free.", x0=80, top=148, **BODY)])
    assert reflow([p]).text == "Features:\n\n• fast and small;\n\n• free."


# ---------------------------------------------------------------------------- properties
_word = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDE0123456789.,:;-•_/() "),
                min_size=1, max_size=9)
_text = st.lists(_word, min_size=1, max_size=8).map(" ".join)
_line = st.builds(Line, text=_text, x0=st.sampled_from([72.0, 80.0, 90.0, 300.0]),
                  x1=st.sampled_from([200.0, 480.0, 500.0]), top=st.floats(30, 780),
                  size=st.sampled_from([9.0, 10.0, 10.0, 14.0]), mono=st.booleans(),
                  bold=st.booleans(), gapped=st.booleans())
_page = st.lists(_line, max_size=12).map(lambda ls: Page(lines=tuple(sorted(ls, key=lambda l: l.top))))


@settings(max_examples=300, deadline=None)
@given(st.lists(_page, min_size=1, max_size=6))
def test_reflow_keeps_every_character_in_order_and_maps_it_back(pages):
    flowed = reflow(pages)
    text = flowed.text
    kept = [(p, i) for p, pg in enumerate(pages) for i, line in enumerate(pg.lines)
            if (p, i) not in flowed.dropped and line.text.strip()]
    assert [(pc.page, pc.line) for pc in flowed.pieces] == kept  # every kept line, in order
    pos = 0
    for pc in flowed.pieces:
        line = pages[pc.page].lines[pc.line].text
        # Whole, or less one end-of-line hyphen; nothing but white space between pieces.
        assert pc.length == len(line) or (pc.length == len(line) - 1 and line.endswith("-"))
        assert text[pc.out:pc.out + pc.length] == line[:pc.length]
        assert pc.out >= pos and not text[pos:pc.out].strip()
        pos = pc.out + pc.length
    assert not text[pos:].strip()
    # Only lines at a page's edges are dropped as headers, footers or page numbers, and
    # contents lines (dot leaders and a page number) anywhere.
    furniture = find_furniture(pages)
    for p, i in flowed.dropped:
        assert (p, i) in furniture or is_contents_line(pages[p].lines[i])
    for p, i in furniture:
        assert i < EDGE_LINES or i >= len(pages[p].lines) - EDGE_LINES
    assert furniture <= flowed.dropped
    # Page starts: in order, and each at its page's first kept character.
    assert list(flowed.page_starts) == sorted(flowed.page_starts) and len(flowed.page_starts) == len(pages)
    for pc in flowed.pieces:
        if pc is next(x for x in flowed.pieces if x.page == pc.page):
            assert flowed.page_starts[pc.page] == pc.out


@settings(max_examples=100, deadline=None)
@given(st.lists(_page, min_size=1, max_size=6), st.integers(5, 40))
def test_chunk_offsets_slice_back_and_pages_match_the_document(pages, words):
    flowed = reflow(pages)
    if not flowed.text.strip():
        return
    doc = Document("d.pdf", flowed.text, "d.pdf", page_starts=flowed.page_starts)
    for chunk in chunk_document(doc, chunk_words=words, overlap=0):
        assert doc.text[chunk.start:chunk.end] == chunk.text
        for offset in range(chunk.start, chunk.end, 7):
            assert chunk.page_at(offset) == doc.page_at(offset)


def test_slide_titles_at_the_same_height_are_kept_but_small_running_heads_go():
    slides = [Page(lines=(Line(text=f"Slide title {n}", x0=72, x1=400, top=60, size=24),
                          Line(text=f"Point {n} of the talk.", x0=72, top=140, **BODY)))
              for n in range(1, 5)]
    out = reflow(slides).text
    assert all(f"Slide title {n}" in out for n in range(1, 5))
    heads = [Page(lines=(Line(text=f"Chapter {n}: Part {n}", x0=72, x1=300, top=40, size=9),
                         Line(text=f"Body of page {n} says a thing.", x0=72, x1=500, top=100, size=10)))
             for n in range(1, 5)]
    assert "Chapter" not in reflow(heads).text


def _tag(n: int) -> str:
    return "z" + "".join("abcdefghij"[int(d)] for d in str(n)) + "q"


_plain = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=2, max_size=8)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.lists(_plain, min_size=1, max_size=9).map(" ".join), min_size=1, max_size=8),
                min_size=1, max_size=4),
       st.lists(st.sampled_from([14.0, 14.0, 30.0]), min_size=40, max_size=40))
def test_a_real_pdf_keeps_every_word_in_order(pages, steps):
    """Through PDFium: words drawn on the pages (lines at mixed spacings, none repeated) come
    out all, in order, and each page's start offset is where its first word is."""
    from pdf_builder import layout_pdf
    from rag.ingest.pdf import read_pdf

    # Each line ends in a word of its own: lines repeated on most pages are running heads.
    pages = [[f"{line} {_tag(p * 10 + i)}" for i, line in enumerate(lines)] for p, lines in enumerate(pages)]
    drawn = []
    for lines in pages:
        y, page = 80.0, []
        for i, line in enumerate(lines):
            page.append((72, y, 11, "sans", line))
            # Paragraph gaps inside the page; the first and last lines are not set apart
            # (a line set apart at the same height on most pages is a running head).
            y += steps[i] if 0 < i < len(lines) - 2 else 14.0
        drawn.append(page)
    pdf = read_pdf(layout_pdf(drawn), "p.pdf")
    assert pdf.text.split() == [w for lines in pages for line in lines for w in line.split()]
    for number, lines in enumerate(pages):
        assert pdf.text[pdf.page_starts[number]:].startswith(lines[0].split()[0])
