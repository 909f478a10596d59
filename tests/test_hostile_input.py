"""Hostile uploads and questions: bombs, disguised files, path tricks, control characters.

tests/test_ui.py covers the everyday upload rules (sanitized names, a wrong header, the
size limit); here the inputs are built to hurt: PDFs that decompress into minutes of CPU,
archives and executables under document extensions, names that try to leave the folder.
"""

from __future__ import annotations

import os
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

from rag import answer as qa
from rag.serve.chat import check_question
from rag.config import Settings
from rag.ingest.documents import load_documents
from rag.errors import InputError
from rag.ingest.uploads import UploadError, save_upload


def make_pdf(content: bytes, pages: int = 1) -> bytes:
    """A valid PDF whose pages all draw ``content`` (Flate-compressed), Helvetica as /F1."""
    payload = zlib.compress(content, 9)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()]
    for i in range(pages):
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 "
                    f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents {4 + 2 * i} 0 R >>"
                    .encode())
        objs.append(f"<< /Length {len(payload)} /Filter /FlateDecode >>\nstream\n".encode() + payload
                    + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer << /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


TEXT_OP = b"BT /F1 12 Tf 72 700 Td (hello world from a pdf) Tj ET\n"


@pytest.fixture
def cfg(tmp_path) -> Settings:
    return Settings(upload_dir=tmp_path / "uploads", index_dir=tmp_path / "index", max_upload_bytes=2 * 1024 * 1024)


def _upload(tmp_path, cfg, name, data):
    src = tmp_path / "incoming.bin"
    src.write_bytes(data)
    return save_upload(src, name, cfg)


def _stored(cfg) -> list[str]:
    folder = Path(cfg.upload_dir)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------------- PDFs
@pytest.fixture
def extractions(monkeypatch) -> list[int]:
    """Every page whose text is extracted (through PDFium: the step a bomb makes take minutes
    of CPU); pypdf only measures the decompressed content before it."""
    from rag.ingest import pdf

    calls: list[int] = []
    real = pdf._page

    def counting(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(pdf, "_page", counting)
    return calls


def test_a_small_real_pdf_is_accepted_and_read(tmp_path, cfg, extractions):
    saved = _upload(tmp_path, cfg, "report.pdf", make_pdf(TEXT_OP * 20))
    assert saved.name == "report.pdf"
    doc = load_documents([saved.path]).documents[0]
    assert "hello world from a pdf" in doc.text
    assert len(extractions) == 1  # one page read once: the spy below sees real extractions


@pytest.mark.parametrize("content,pages,why", [
    (TEXT_OP * 60_000, 1, "decompression bomb"),      # 3.3 MB of text drawing from ~10 KB: 30 s of CPU
    (TEXT_OP * 8_000, 40, "decompression bomb"),      # the same spread over many small pages
    (b" " * 80_000_000, 1, "decompression bomb"),     # one stream past pypdf's own 75 MB cap
], ids=["text-bomb", "many-pages", "huge-stream"])
def test_pdf_decompression_bombs_are_rejected_quickly(tmp_path, cfg, extractions, content, pages, why):
    # "Quickly" means: refused before any text is extracted (extraction is what takes 30 s of
    # CPU and more); the 60 s bounds only guard against a hang, far above any loaded machine.
    data = make_pdf(content, pages)
    assert len(data) < 200_000
    t0 = time.perf_counter()
    with pytest.raises(UploadError, match=why) as info:
        _upload(tmp_path, cfg, "innocent.pdf", data)
    assert extractions == [], "the bomb's text was extracted before it was refused"
    assert time.perf_counter() - t0 < 60
    assert str(info.value).startswith("innocent.pdf: ")
    assert _stored(cfg) == []
    # Already on disk (a seed folder): skipped with the same reason, not read for minutes.
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "innocent.pdf").write_bytes(data)
    t0 = time.perf_counter()
    result = load_documents([tmp_path / "seeds"])
    assert extractions == [], "the bomb's text was extracted before it was skipped"
    assert time.perf_counter() - t0 < 60
    assert not result.documents and why in result.skipped[0]


def _zip_bomb() -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.txt", b"\x00" * 50_000_000)
    return buf.getvalue()


@pytest.mark.parametrize("name,data,why", [
    ("report.pdf", _zip_bomb(), "not a PDF"),
    ("report.pdf", b"%PDF-1.4\n" + _zip_bomb(), "unreadable PDF"),
    ("notes.txt", _zip_bomb(), "binary content"),
    ("corpus.jsonl", _zip_bomb(), "binary content"),
    ("page.html", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64, "binary content"),
    ("readme.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
    ("readme.md", b"\xff\xd8\xff\xe0 JFIF \xff\xdb", "not UTF-8"),
    ("doc.txt", "naïve".encode("latin-1"), "not UTF-8"),
    ("data.jsonl", b"id,text\n1,hello\n", "not JSON"),
    ("archive.zip", b"PK\x03\x04", "unsupported file type"),
    ("script.js", b"alert(1)", "unsupported file type"),
    ("empty.txt", b"   \n\t ", "empty"),
], ids=["zip-as-pdf", "zip-behind-pdf-header", "zip-as-txt", "zip-as-jsonl", "elf-as-html", "png-as-md",
        "jpeg-as-md", "latin1-txt", "csv-as-jsonl", "zip", "js", "blank"])
def test_wrong_content_is_rejected_by_content_not_extension(tmp_path, cfg, name, data, why):
    with pytest.raises(UploadError, match=why):
        _upload(tmp_path, cfg, name, data)
    assert _stored(cfg) == []


def test_oversize_upload_is_rejected_before_it_is_read(tmp_path, cfg):
    with pytest.raises(UploadError, match=r"2\.1 MB is over the 2 MB upload limit"):
        _upload(tmp_path, cfg, "big.txt", b"a " * (1024 * 1024 + 10))
    assert _stored(cfg) == []


# ------------------------------------------------------------------------- names
TRICKS = ["../", "..\\", "/", "\\", "..", ".", "\x00", "~", "%2e%2e%2f", "C:", "/etc/passwd", "\u202e",
          "..%c0%af", "\u2024\u2024/", "\uff0e\uff0e\uff0f", " ", ".hidden", "-rf ", "*", "$HOME", "`id`"]
name_strategy = st.lists(st.one_of(st.sampled_from(TRICKS), st.text(max_size=5)), max_size=8).map("".join).map(
    lambda s: s + ".txt")


@hsettings(max_examples=200, deadline=None)
@given(name=st.one_of(name_strategy, st.text(max_size=40)))
def test_no_name_writes_outside_the_upload_folder(tmp_path_factory, name):
    root = tmp_path_factory.mktemp("root")
    cfg = Settings(upload_dir=root / "box" / "uploads", index_dir=root / "index")
    src = root / "incoming.bin"
    src.write_bytes(b"plain text")
    before = {p for p in root.rglob("*")}
    try:
        saved = save_upload(src, name, cfg)
    except UploadError as exc:
        assert str(exc) and "\n" not in str(exc)
        saved = None
    after = {p for p in root.rglob("*")}
    created = after - before
    upload_dir = Path(cfg.upload_dir).resolve()
    for p in created:
        assert p.resolve() == upload_dir or p.resolve().parent == upload_dir or \
            upload_dir.is_relative_to(p.resolve()), f"{name!r} created {p}"
    if saved:
        assert saved.path.parent.resolve() == upload_dir
        assert not saved.name.startswith(".") and "/" not in saved.name and "\\" not in saved.name
        assert saved.path.read_bytes() == b"plain text"


def test_a_symlink_planted_in_the_upload_folder_is_not_followed(tmp_path, cfg):
    outside = tmp_path / "victim.txt"
    outside.write_text("do not overwrite")
    Path(cfg.upload_dir).mkdir(parents=True)
    os.symlink(outside, Path(cfg.upload_dir) / "notes.txt")
    with pytest.raises(UploadError, match="not a plain file name"):
        _upload(tmp_path, cfg, "notes.txt", b"attacker text")
    assert outside.read_text() == "do not overwrite"


# ------------------------------------------------------------------------- questions
@pytest.mark.parametrize("question", ["", "   ", "\n\t\r ", None, "\x00\x01\x1b", "\u202e\u2066"])
def test_empty_questions_get_a_clear_message(question):
    with pytest.raises(InputError, match="Type a question first"):
        check_question(question, Settings())


def test_question_length_limit():
    cfg = Settings(max_question_chars=50)
    assert check_question("q" * 50, cfg) == "q" * 50
    with pytest.raises(InputError, match="51 characters long; the limit is 50"):
        check_question("q" * 51, cfg)
    assert check_question("  " + "q" * 50 + "\x00\x00  ", cfg) == "q" * 50


def test_question_control_characters_are_stripped():
    raw = "Who\x00 visited\x1b[2J Tehran\x7f?\r\nAnd \u202ewhen\u202c?\ud800\ufeff\x85"
    # the UI cleans as the answer path does (qa.clean_question): line breaks fold to a space
    assert check_question(raw, Settings()) == "Who visited[2J Tehran? And when?"
    assert check_question(raw, Settings()) == qa.clean_question(raw, Settings())


@hsettings(max_examples=300, deadline=None)
@given(question=st.text(alphabet=st.characters(codec=None, categories=None), max_size=60))
def test_any_question_is_cleaned_or_refused(question):
    try:
        q = check_question(question, Settings(max_question_chars=40))
    except InputError as exc:
        assert "Type a question first" in str(exc) or "the limit is 40" in str(exc)
        return
    assert q == q.strip() and q and len(q) <= 40
    assert q == qa.clean_question(question, Settings(max_question_chars=40))
    q.encode("utf-8")
    assert not any(ord(c) < 32 and c not in "\t\n" for c in q)
