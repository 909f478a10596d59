"""Ingestion: every supported format, and every kind of bad input skipped or refused cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag import cli
from rag.ingest.chunking import chunk_document
from rag.config import Settings
from rag.ingest.documents import load_documents
from rag.testing import HashEmbedder
from rag.errors import EmptyCorpusError, InputError
from rag.index.indexing import index_paths
from pdf_builder import layout_pdf

ROOT = Path(__file__).resolve().parent.parent


def make_pdf(pages: list[str]) -> bytes:
    """A real PDF with one line of 12-pt Helvetica per page (tests/pdf_builder.py writes it)."""
    return layout_pdf([[(72, 72, 12, "sans", text)] for text in pages])


def load(paths, warnings=None):
    return load_documents(paths, warn=(warnings.append if warnings is not None else None))


def test_txt_and_md_with_relative_sources_and_titles(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("Plain text file.\r\nSecond line.")
    (tmp_path / "sub" / "notes.md").write_text("# Notes\n\nMarkdown body.")
    (tmp_path / ".hidden.txt").write_text("dot files are ignored")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n")
    result = load([tmp_path])
    docs = {d.doc_id: d for d in result.documents}
    assert set(docs) == {"a.txt", "sub/notes.md"}
    assert docs["a.txt"].text == "Plain text file.\nSecond line."
    assert docs["a.txt"].source == "a.txt" and docs["a.txt"].title == "a"
    assert docs["sub/notes.md"].text == "# Notes\n\nMarkdown body."
    assert result.skipped == []  # unsupported types inside a folder are ignored quietly


def test_html_keeps_visible_text_only(tmp_path):
    (tmp_path / "page.html").write_text("""<html><head><title>My Page</title>
        <style>.x { color: red }</style><script>var secret = "SCRIPT";</script></head>
        <body><h1>Visible heading</h1><p>Visible <b>bold</b> sentence, <a href="#">linked</a>.</p>
        <div hidden>HIDDEN-ATTR</div><div style="display: none">HIDDEN-STYLE</div>
        <span aria-hidden="true">HIDDEN-ARIA</span><noscript>NOSCRIPT</noscript>
        <template>TEMPLATE</template><ul><li>Item one</li><li>Item two</li></ul></body></html>""")
    [d] = load([tmp_path]).documents
    assert d.title == "My Page"
    for gone in ("SCRIPT", "color", "HIDDEN", "NOSCRIPT", "TEMPLATE", "<", "secret"):
        assert gone not in d.text
    assert d.text.split("\n\n") == ["Visible heading", "Visible bold sentence, linked.", "Item one", "Item two"]


def test_pdf_text_layer_with_page_numbers_reaching_the_chunks(tmp_path):
    (tmp_path / "report.pdf").write_bytes(make_pdf(["Apples grow on trees. Apples are red.",
                                                    "Pears are green. Pears are sweet."]))
    [d] = load([tmp_path]).documents
    assert d.doc_id == "report.pdf" and d.title == "report"
    assert "Apples grow on trees." in d.text and "Pears are sweet." in d.text
    assert len(d.page_starts) == 2
    chunks = chunk_document(d, chunk_words=4, overlap=0)
    pages = {c.text: c.page for c in chunks}
    assert pages["Apples grow on trees."] == 1 and pages["Pears are sweet."] == 2
    for c in chunks:
        assert d.text[c.start:c.end] == c.text


def test_pdf_page_numbers_reach_the_index(tmp_path, embedder):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "r.pdf").write_bytes(make_pdf(["Page one words here.", "Page two words here."]))
    data, _ = index_paths([tmp_path / "docs"], Settings(index_dir=tmp_path / "idx", chunk_words=4), embedder,
                          log=lambda m: None)
    assert sorted((c.text, c.page) for c in data.chunks) == [("Page one words here.", 1),
                                                             ("Page two words here.", 2)]


def test_jsonl_corpus_with_a_malformed_line_reports_its_number(tmp_path):
    lines = [json.dumps({"id": "d1", "title": "One", "text": "First document."}),
             '{"id": "d2", "title": "Two", "text": ',
             json.dumps({"id": "d3", "text": "No title here."}),
             json.dumps({"id": "d4", "title": "Empty", "text": "  "}),
             json.dumps(["not", "an", "object"]),
             "",
             json.dumps({"id": 7, "title": "Numeric id", "text": "Seventh."})]
    (tmp_path / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    warnings: list[str] = []
    result = load([tmp_path / "corpus.jsonl"], warnings)
    assert [(d.doc_id, d.title, d.source) for d in result.documents] == [
        ("d1", "One", "corpus.jsonl#d1"), ("d3", "", "corpus.jsonl#d3"), ("7", "Numeric id", "corpus.jsonl#7")]
    assert [w.split(":")[:2] for w in warnings] == [["corpus.jsonl", "2"], ["corpus.jsonl", "4"],
                                                     ["corpus.jsonl", "5"]]
    assert all("malformed corpus line" in w and "\n" not in w for w in warnings)


def test_binary_file_is_skipped_with_one_line_naming_it(tmp_path):
    (tmp_path / "good.txt").write_text("Readable text.")
    (tmp_path / "blob.txt").write_bytes(b"abc\x00\x01\x02" * 100)
    warnings: list[str] = []
    result = load([tmp_path], warnings)
    assert [d.doc_id for d in result.documents] == ["good.txt"]
    assert len(warnings) == 1 and warnings[0].startswith("blob.txt:") and "binary" in warnings[0]
    assert result.skipped == warnings


def test_undecodable_file_is_skipped(tmp_path):
    (tmp_path / "good.txt").write_text("Readable text.")
    (tmp_path / "latin.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    warnings: list[str] = []
    assert [d.doc_id for d in load([tmp_path], warnings).documents] == ["good.txt"]
    assert len(warnings) == 1 and warnings[0].startswith("latin.txt:") and "UTF-8" in warnings[0]


def test_unreadable_file_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "good.txt").write_text("Readable text.")
    secret = tmp_path / "secret.txt"
    secret.write_text("You cannot read me.")
    secret.chmod(0)
    real = Path.read_bytes

    def read_bytes(self):  # root ignores chmod 000, so refuse the read the way the OS would
        if self.name == "secret.txt":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    warnings: list[str] = []
    try:
        docs = load([tmp_path], warnings).documents
    finally:
        secret.chmod(0o644)
    assert [d.doc_id for d in docs] == ["good.txt"]
    assert warnings == ["secret.txt: unreadable (Permission denied), skipped"]


def test_broken_pdf_and_empty_file_are_skipped(tmp_path):
    (tmp_path / "good.md").write_text("Readable text.")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    (tmp_path / "fake.pdf").write_text("plain text pretending")
    (tmp_path / "empty.txt").write_text("   \n")
    warnings: list[str] = []
    assert [d.doc_id for d in load([tmp_path], warnings).documents] == ["good.md"]
    assert sorted(w.split(":")[0] for w in warnings) == ["broken.pdf", "empty.txt", "fake.pdf"]


def test_empty_input_raises_empty_corpus_error(tmp_path, embedder):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "blob.txt").write_bytes(b"\x00\x00")
    with pytest.raises(EmptyCorpusError, match="no readable documents"):
        index_paths([tmp_path / "docs"], Settings(index_dir=tmp_path / "idx"), embedder, log=lambda m: None)


def test_nonexistent_path_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        load_documents([tmp_path / "nope"])


@pytest.mark.parametrize("make", ["empty_dir", "missing"])
def test_cli_bad_input_exits_2_with_one_stderr_line(tmp_path, make):
    target = tmp_path / "in"
    if make == "empty_dir":
        target.mkdir()
    proc = subprocess.run([sys.executable, "-m", "rag", "index", str(target), "--index-dir", str(tmp_path / "idx")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in proc.stderr
    assert ("no readable documents" if make == "empty_dir" else "no such file or folder") in lines[0]


def test_cli_index_warns_and_goes_on(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_embedder", lambda settings: HashEmbedder())
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("Readable text.")
    (docs / "blob.txt").write_bytes(b"\x00binary")
    assert cli.main(["index", str(docs), "--index-dir", str(tmp_path / "idx")]) == 0
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "blob.txt" in line] == \
        ["warning: blob.txt: binary file (contains NUL bytes), skipped"]


def test_nonexistent_input_does_not_create_the_index_folder(tmp_path, embedder):
    with pytest.raises(InputError):
        index_paths([tmp_path / "nope"], Settings(index_dir=tmp_path / "idx"), embedder, log=lambda m: None)
    assert not (tmp_path / "idx").exists()
