"""Readers per format through load_documents: PDF layout, DOCX, CSV/TSV, HTML manuals, and
the bad input of each (one line, the rest indexed)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from pdf_builder import encrypted, layout_pdf, paragraph
from rag.ingest import chunk_document
from rag.ingest import load_documents
from rag.ingest.uploads import UploadError, check_content

LIBTASN1 = Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf")
BODY = ["This is the first line of a paragraph that", "wraps onto a second line and then a third",
        "one, where it ends."]


def spec_pages(n: int = 3) -> list[list[tuple]]:
    pages = []
    for i in range(1, n + 1):
        pages.append([(72, 40, 9, "sans", "The Grand Specification")]
                     + paragraph(100, BODY)
                     + paragraph(160, ["An inter-", "national standard is here."])
                     + [(90, 200, 10, "mono", "int main(void) {"), (102, 212, 10, "mono", "return 0;"),
                        (90, 224, 10, "mono", "}")]
                     + paragraph(260, [f"The weight of page {i} is", f"{50 + i}, and the maximum is 100."])
                     + paragraph(300, ["Last paragraph goes on and on and on until it", "reaches the end of"])
                     + [(300, 760, 9, "sans", str(i))])
    return pages


def load(folder: Path):
    warnings: list[str] = []
    return load_documents([folder], warn=warnings.append), warnings


def test_pdf_reads_as_prose_with_pages(tmp_path):
    (tmp_path / "spec.pdf").write_bytes(layout_pdf(spec_pages()))
    result, warnings = load(tmp_path)
    [doc] = result.documents
    assert warnings == []
    text = doc.text
    assert "Grand Specification" not in text  # the running header
    assert not any(line.strip().isdigit() for line in text.split("\n"))  # the page numbers
    assert "The weight of page 2 is 52, and the maximum is 100." in text  # a wrapped sentence, whole
    assert "An international standard is here." in text  # hyphenation undone
    assert "int main(void) {\nreturn 0;\n}" in text  # code kept as a block of lines
    # The last paragraph of page 1 goes on at the top of page 2: one sentence, page 1.
    crossing = text.index("until it reaches the end of This is the first line")
    assert doc.page_at(crossing) == 1 and doc.page_at(text.index("The weight of page 2")) == 2
    for chunk in chunk_document(doc, chunk_words=30, overlap=0):
        assert text[chunk.start:chunk.end] == chunk.text
        at = chunk.text.find("The weight of page 3")
        if at >= 0:
            assert chunk.page_at(chunk.start + at) == 3


@pytest.mark.parametrize("name, data, reason", [
    ("locked.pdf", encrypted(layout_pdf(spec_pages(1))), "encrypted PDF"),
    ("scan.pdf", layout_pdf([[], []]), "no text layer"),
    ("cut.pdf", layout_pdf(spec_pages(1))[:300], "unreadable PDF"),
])
def test_bad_pdfs_get_one_line_and_the_rest_is_indexed(tmp_path, name, data, reason):
    (tmp_path / name).write_bytes(data)
    (tmp_path / "ok.txt").write_text("A fine document.")
    result, warnings = load(tmp_path)
    assert [d.doc_id for d in result.documents] == ["ok.txt"]
    assert len(warnings) == 1 and warnings[0].startswith(f"{name}: ") and reason in warnings[0]
    assert "\n" not in warnings[0]
    if reason != "no text layer":  # an image-only PDF is a valid PDF: uploaded, then skipped so
        with pytest.raises(UploadError, match=reason):
            check_content(data, name)


def make_docx() -> bytes:
    import docx

    d = docx.Document()
    d.core_properties.title = "Release notes"
    d.add_heading("Release notes", level=1)
    d.add_paragraph("The new parser is faster. It reads every file twice as quickly.")
    d.add_paragraph("first change", style="List Bullet")
    d.add_paragraph("second change", style="List Number")
    table = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Version", "Date"), ("4.19", "2022-08-18"), ("4.20", "2025-02-08")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    d.add_paragraph("After the table.")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_docx_paragraphs_headings_lists_and_tables(tmp_path):
    (tmp_path / "notes.docx").write_bytes(make_docx())
    result, warnings = load(tmp_path)
    [doc] = result.documents
    assert warnings == [] and doc.title == "Release notes"
    assert doc.text.split("\n\n") == [
        "Release notes", "The new parser is faster. It reads every file twice as quickly.",
        "• first change", "• second change",
        "Version | Date\nVersion: 4.19; Date: 2022-08-18\nVersion: 4.20; Date: 2025-02-08", "After the table."]
    check_content(make_docx(), "notes.docx")


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("data, reason", [
    (b"this is not a zip", "not a DOCX file"),
    (None, "not a DOCX file"),  # cut short: the zip's directory is missing
    (_zip({"hello.txt": b"a zip, but no Word document in it"}), "corrupt DOCX"),
    (_zip({"[Content_Types].xml": b"<Types", "word/document.xml": b"<w:document"}), "corrupt DOCX"),
])
def test_corrupt_docx_gets_one_line(tmp_path, data, reason):
    data = make_docx()[:2000] if data is None else data
    (tmp_path / "bad.docx").write_bytes(data)
    (tmp_path / "ok.txt").write_text("A fine document.")
    result, warnings = load(tmp_path)
    assert [d.doc_id for d in result.documents] == ["ok.txt"]
    assert len(warnings) == 1 and warnings[0].startswith("bad.docx: ") and reason in warnings[0]
    with pytest.raises(UploadError, match=reason):
        check_content(data, "bad.docx")


CSV = "version,codename,release\n12,Bookworm,2023-06-10\n13,\"Trixie, the next\",2025-08-09\n"


def test_csv_one_document_per_row_with_the_header_repeated(tmp_path):
    (tmp_path / "debian.csv").write_text(CSV)
    (tmp_path / "t.tsv").write_text("a\tb\n1\t2\n")
    result, warnings = load(tmp_path)
    docs = {d.doc_id: d.text for d in result.documents}
    assert warnings == []
    assert docs == {"debian.csv#1": "Version: 12; Codename: Bookworm; Release: 2023-06-10.",
                    "debian.csv#2": "Version: 13; Codename: Trixie, the next; Release: 2025-08-09.",
                    "t.tsv#1": "A: 1; B: 2."}


def test_csv_one_document_per_file(tmp_path):
    (tmp_path / "debian.csv").write_text(CSV)
    [doc] = load_documents([tmp_path], table_rows=False).documents
    assert doc.doc_id == "debian.csv" and doc.text.count("\n\n") == 1 and doc.text.count("Codename:") == 2


@pytest.mark.parametrize("text, line", [("a,b\n\"open,1\n2,3\n", 3), ("a,b\n\"x\"y,1\n", 2)])
def test_csv_with_broken_quoting_gets_one_line(tmp_path, text, line):
    (tmp_path / "bad.csv").write_text(text)
    (tmp_path / "ok.txt").write_text("A fine document.")
    result, warnings = load(tmp_path)
    assert [d.doc_id for d in result.documents] == ["ok.txt"]
    assert warnings == [warnings[0]] and warnings[0].startswith(f"bad.csv: broken CSV quoting at line {line}")
    with pytest.raises(UploadError, match="broken CSV quoting"):
        check_content(text.encode(), "bad.csv")


def test_html_manual_pre_blocks_and_no_navigation(tmp_path):
    (tmp_path / "manual.html").write_text("""<html><head><title>2. Usage</title></head><body>
      <div><table class="nav" summary="Navigation header"><tr><td><a href="a.html">Prev</a></td>
      <th>Valgrind User Manual</th><td><a href="b.html">Next</a></td></tr></table></div>
      <nav>Home | Up</nav><header>Site banner</header>
      <div class="toc"><dl><dt><a href="#x">2.1. What it does</a></dt></dl></div>
      <p>You invoke it
      like this, on one wrapped
      source line after another:</p>
      <pre class="programlisting">valgrind --tool=memcheck ls -l
  more args</pre>
      <article><header>Article title</header><p>Body.</p></article>
      <table><tr><td>Name</td><td>Size</td></tr><tr><td>alpha</td><td>12</td></tr></table>
      <footer>Copyright footer</footer></body></html>""")
    [doc] = load(tmp_path)[0].documents
    for gone in ("Prev", "Valgrind User Manual", "Home", "Site banner", "2.1. What it does", "Copyright"):
        assert gone not in doc.text
    assert doc.text.split("\n\n") == [
        "You invoke it like this, on one wrapped source line after another:",
        "valgrind --tool=memcheck ls -l\nmore args", "Article title", "Body.", "Name Size\nalpha 12"]


@pytest.mark.skipif(not LIBTASN1.exists(), reason="needs Debian's libtasn1-doc (see batteries/libtasn1/README.md)")
def test_the_libtasn1_manual_reads_as_prose():
    from rag.ingest.pdf import read_pdf

    pdf = read_pdf(LIBTASN1.read_bytes(), "libtasn1.pdf")
    text = pdf.text
    doc_pages = len(pdf.page_starts)
    assert doc_pages == 36
    assert "Chapter 2: ASN.1 structure handling" not in text  # running headers
    assert not any(line.strip().isdigit() for line in text.split("\n"))
    assert ". . . ." not in text  # contents and index entries
    wrapped = "The parser is case sensitive. The comments begin with -- and end either with another --, " \
              "or at the end of the respective line, whichever comes first."
    at = text.index(wrapped)
    from rag.models import Document

    doc = Document("libtasn1.pdf", text, "libtasn1.pdf", page_starts=pdf.page_starts)
    assert doc.page_at(at) == 5
    assert "Creates a file containing a C vector" in text  # "contain-" + "ing" joined
    import re

    assert re.search(r"\nBEGIN\n+<type and constants definitions>\n+END\n", text)  # the syntax block kept


def test_a_pdf_answer_cites_the_page_everywhere(tmp_path, settings):
    """The cited sentence's page reaches `ask --json`, results.jsonl (with the same citation
    fields) and the UI's source card; page_match scores it."""
    from rag.serve import presenting
    from rag.evaluate.battery import Question
    from rag.testing import HashEmbedder
    from rag.engine import Engine
    from rag.evaluate.runner import answer_result
    from rag.testing import FakeLLM

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "spec.pdf").write_bytes(layout_pdf(spec_pages(4)))
    engine = Engine(settings.replace(chunk_words=25, refusal_threshold=0.0), embedder=HashEmbedder(),
                    llm=FakeLLM(default=" 53"), inputs=[docs], log=lambda m: None)
    ans = engine.answer("What is the weight of page 3?")
    assert ans.citations and not ans.refused
    lead = ans.citations[0]
    assert "The weight of page 3 is 53" in lead.sentence and lead.page == 3
    result = answer_result(Question(id="q", question="w", answers=("53",), pages=(3,)), ans)
    assert result["citations"][0] == ans.citations[0].to_dict() == ans.to_dict()["citations"][0]
    assert result["page"] == [3] and result["metrics"]["page_match"] == 1.0
    assert result["metrics"]["sentence_whole"] == 1.0
    assert "spec.pdf · page 3" in presenting.render_sources(ans.to_dict(), 0)
