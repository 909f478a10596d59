"""Chunking: exact offsets, paragraphs, overlap, coverage, stable ids, sentence splitting."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from rag.ingest.chunking import chunk_document, chunk_id, is_heading, split_sentences
from rag.models import Document

TWO_PARAGRAPHS = ("Alpha one two. Beta three four five.\n\n"
                  "Gamma six seven. Delta eight nine ten eleven.\nEpsilon twelve.")


def doc(text: str, doc_id: str = "d") -> Document:
    return Document(doc_id=doc_id, text=text, source=doc_id, title="T")


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def check_offsets_and_coverage(d: Document, chunks) -> None:
    covered: set[int] = set()
    for c in chunks:
        assert d.text[c.start:c.end] == c.text
        assert c.doc_id == d.doc_id and c.source == d.source and c.title == d.title
        covered.update(range(c.start, c.end))
    missing = [i for i, ch in enumerate(d.text) if not ch.isspace() and i not in covered]
    assert not missing, f"characters not in any chunk: {missing[:10]}"


def test_known_example_has_exact_offsets():
    d = doc(TWO_PARAGRAPHS)
    chunks = chunk_document(d, chunk_words=8, overlap=1)
    assert [(c.start, c.end) for c in chunks] == [(0, 36), (38, 83), (84, 99)]
    assert [c.text for c in chunks] == [
        "Alpha one two. Beta three four five.",
        "Gamma six seven. Delta eight nine ten eleven.",
        "Epsilon twelve.",
    ]
    check_offsets_and_coverage(d, chunks)


def test_whole_document_fits_in_one_chunk():
    d = doc(TWO_PARAGRAPHS)
    [only] = chunk_document(d, chunk_words=100)
    assert (only.start, only.end, only.text) == (0, len(TWO_PARAGRAPHS), TWO_PARAGRAPHS)


def test_overlap_repeats_last_sentence_when_a_paragraph_is_split():
    text = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    chunks = chunk_document(doc(text), chunk_words=7, overlap=1)
    assert [c.text for c in chunks] == [
        "One two three. Four five six.",
        "Four five six. Seven eight nine.",
        "Seven eight nine. Ten eleven twelve.",
    ]
    assert [(c.start, c.end) for c in chunks] == [(0, 29), (15, 47), (30, 66)]
    no_overlap = chunk_document(doc(text), chunk_words=7, overlap=0)
    assert [c.text for c in no_overlap] == ["One two three. Four five six.", "Seven eight nine. Ten eleven twelve."]


def test_paragraph_break_ends_a_chunk_and_overlap_does_not_cross_it():
    # The break falls in the second half of the chunk: cut there, repeat nothing.
    chunks = chunk_document(doc(TWO_PARAGRAPHS), chunk_words=10, overlap=1)
    assert [c.text for c in chunks] == [
        "Alpha one two. Beta three four five.",
        "Gamma six seven. Delta eight nine ten eleven.\nEpsilon twelve.",
    ]
    for c in chunks:
        assert "\n\n" not in c.text


@pytest.mark.parametrize("words", [3, 4, 5, 8, 10])
def test_no_chunk_is_only_a_repeat_of_the_previous_one(words):
    chunks = chunk_document(doc(TWO_PARAGRAPHS), chunk_words=words, overlap=1)
    for a, b in zip(chunks, chunks[1:]):
        assert b.start > a.start and b.end > a.end, (a.text, b.text)


def test_long_sentence_is_split_at_word_boundaries():
    words = [f"w{i}" for i in range(50)]
    text = " ".join(words) + "."
    d = doc(text)
    chunks = chunk_document(d, chunk_words=10, overlap=1)
    assert len(chunks) == 5
    assert all(len(c.text.split()) <= 10 for c in chunks)
    assert " ".join(c.text for c in chunks) == text
    check_offsets_and_coverage(d, chunks)


def test_no_chunk_spans_two_documents():
    a, b = doc("First document sentence one. Sentence two.", "a"), doc("Second document here. And more.", "b")
    for d in (a, b):
        for c in chunk_document(d, chunk_words=3):
            assert c.doc_id == d.doc_id
            assert d.text[c.start:c.end] == c.text


def test_chunk_ids_are_a_hash_of_doc_id_and_text():
    expected = hashlib.sha1("d\x00Alpha one two.".encode()).hexdigest()[:16]
    assert chunk_id("d", "Alpha one two.") == expected
    assert chunk_id("d", "x") == chunk_id("d", "x")
    assert chunk_id("d", "x") != chunk_id("e", "x")
    assert chunk_id("d", "x") != chunk_id("d", "y")
    # Equal (doc_id, text) gives equal ids wherever the chunk sits in its document.
    first = chunk_document(doc("Same start here. Then one ending."), chunk_words=3, overlap=0)[0]
    second = chunk_document(doc("Same start here. Then another ending."), chunk_words=3, overlap=0)[0]
    assert first.chunk_id == second.chunk_id


def test_chunk_ids_are_stable_across_processes():
    code = ("from rag.ingest.chunking import chunk_document; from rag.models import Document; "
            f"print(' '.join(c.chunk_id for c in chunk_document(Document('d', {TWO_PARAGRAPHS!r}, 'd'), 8)))")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
            for _ in range(2)}
    assert runs == {" ".join(c.chunk_id for c in chunk_document(doc(TWO_PARAGRAPHS), 8))}


def test_repeated_text_in_one_document_gets_distinct_ids():
    text = "Repeat me now.\n\nOther words here.\n\nRepeat me now."
    ids = [c.chunk_id for c in chunk_document(doc(text), chunk_words=3, overlap=0)]
    assert len(ids) == len(set(ids)) == 3


@pytest.mark.parametrize("text, expected", [
    ("Mr. Smith went to Washington. He arrived at 3.5 p.m. on Monday.",
     ["Mr. Smith went to Washington.", "He arrived at 3.5 p.m. on Monday."]),
    ("J. R. R. Tolkien wrote books. The U.S. is large. It grew 3.5 percent.",
     ["J. R. R. Tolkien wrote books.", "The U.S. is large.", "It grew 3.5 percent."]),
    ("Dr. No met Prof. X, e.g. at noon. They talked.", ["Dr. No met Prof. X, e.g. at noon.", "They talked."]),
    ("Pi is 3.14159 exactly. Next.", ["Pi is 3.14159 exactly.", "Next."]),
    ('"Stop!" she said. He stopped.', ['"Stop!" she said.', "He stopped."]),
    ('He said "Go home." Then he left.', ['He said "Go home."', "Then he left."]),
    ("Really? Yes! Fine…  Done.", ["Really?", "Yes!", "Fine…", "Done."]),
    ("A heading without a stop\nThe body starts. It goes on.",
     ["A heading without a stop", "The body starts.", "It goes on."]),
    ("  Leading and trailing space.  \n\n  ", ["Leading and trailing space."]),
    # a line that goes on in lowercase continues the sentence the line before left open
    ("Read FILE with definitions and generate\na C array for it.\n-c, --check checks the syntax only",
     ["Read FILE with definitions and generate\na C array for it.", "-c, --check checks the syntax only"]),
    ("It ends here.\nnext line stays apart", ["It ends here.", "next line stays apart"]),
    ("Open line\n\nafter a blank line", ["Open line", "after a blank line"]),
    ("", []),
])
def test_sentence_splitting(text, expected):
    assert sentences(text) == expected


def test_sentence_spans_are_in_text_coordinates():
    text = "xx. First one. Second one."
    spans = split_sentences(text, 4)
    assert [text[a:b] for a, b in spans] == ["First one.", "Second one."]


def test_page_numbers_follow_the_chunk_start():
    d = Document("p", "Page one text. More one.\n\nPage two text. More two.", "p.pdf", page_starts=(0, 26))
    chunks = chunk_document(d, chunk_words=3, overlap=0)
    assert [(c.text, c.page) for c in chunks] == [
        ("Page one text.", 1), ("More one.", 1), ("Page two text.", 2), ("More two.", 2)]


_word = st.text(alphabet="abcXYZ.!?\"'3,", min_size=1, max_size=8)
_sep = st.sampled_from([" ", " ", " ", "\n", "\n\n", ". ", ".\n\n", "  "])


@hsettings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_word, _sep), max_size=80), st.integers(1, 30), st.integers(0, 2))
def test_any_text_slices_back_and_is_fully_covered(parts, words, overlap):
    text = "".join(w + s for w, s in parts)
    d = doc(text)
    chunks = chunk_document(d, chunk_words=words, overlap=overlap)
    check_offsets_and_coverage(d, chunks)
    for c in chunks:
        assert len(c.text.split()) <= words or len(c.text.split()) == 1
    for a, b in zip(chunks, chunks[1:]):
        assert b.start > a.start and b.end > a.end


def test_headings_are_short_unpunctuated_paragraphs_of_their_own():
    text = "3.1 Invoking asn1Parser\n\nBody text here.\n\nUsage: tool FILE\nRead FILE.\n\nA real sentence."
    spans = {text[a:b]: (a, b) for a, b in split_sentences(text)}
    assert is_heading(text, *spans["3.1 Invoking asn1Parser"])
    assert not is_heading(text, *spans["Usage: tool FILE"])  # a line of a block, not a paragraph
    assert not is_heading(text, *spans["A real sentence."])  # punctuated
    long = "one two three four five six seven eight nine"
    assert not is_heading(long + "\n\nBody.", 0, len(long))


def test_a_chunk_ends_before_a_heading_so_the_section_keeps_it():
    body = " ".join(f"w{i}" for i in range(30)) + "."
    text = f"{body}\n\n{body}\n\nasn1 dup node\n\n{body}\n\nReturns: NULL on failure."
    chunks = chunk_document(doc(text), chunk_words=80)
    assert chunks[1].text.startswith("asn1 dup node") and chunks[1].text.endswith("NULL on failure.")
    check_offsets_and_coverage(doc(text), chunks)
