"""Citation markers, the support check and evidence-sentence choice (pure functions)."""

from __future__ import annotations

from rag.answer import citations as cit
from rag.models import Chunk

PASSAGE = ("Iranian President Ebrahim Raisi said trade with Iraq amounted to more than 10 billion "
           "euros in a year. This came during a joint press conference in Tehran. "
           "Rashid is on a one-day state visit.")


def chunk(text: str = PASSAGE, start: int = 100) -> Chunk:
    return Chunk(chunk_id="c1", doc_id="d", text=text, start=start, end=start + len(text), source="d.txt")


def test_parse_markers_tricky_strings():
    assert cit.parse_markers("Yes [1][2].", 3) == [1, 2]
    assert cit.parse_markers("See [12] and [ 3 ].", 3) == [3]  # [12] was never given
    assert cit.parse_markers("See [12].", 12) == [12]
    assert cit.parse_markers("[2] then [1] then [2] again", 2) == [2, 1]
    assert cit.parse_markers("[0] [4] [-1] [a]", 3) == []
    assert cit.parse_markers("both [1, 3]", 3) == [1, 3]


def test_clean_markers_removes_absent_passages_and_normalises():
    assert cit.clean_markers("Paris [ 1 ][7].", 2) == "Paris [1]."
    assert cit.clean_markers("It is 1889 [9] .", 2) == "It is 1889."
    assert cit.clean_markers("A [1, 5, 2].", 3) == "A [1][2]."


def test_split_claims_attaches_trailing_markers():
    claims = cit.split_claims("Trade is 10 billion euros [1]. The visit lasted one day. [2]")
    assert claims == [("Trade is 10 billion euros.", [1]), ("The visit lasted one day.", [2])]
    # a marker left at the start of the next sentence belongs to the one before it
    assert cit.split_claims("Trade is 10 billion euros. [1] The visit lasted one day [2].") == \
        [("Trade is 10 billion euros.", [1]), ("The visit lasted one day.", [2])]


def test_support_check_words_and_numbers():
    assert cit.is_supported("Trade with Iraq amounted to 10 billion euros.", PASSAGE)
    assert not cit.is_supported("Trade with Iraq amounted to 12 billion euros.", PASSAGE)  # wrong number
    assert not cit.is_supported("The Denver Broncos won Super Bowl 50.", PASSAGE)
    assert cit.support("There was a joint press conference in Tehran", PASSAGE) == 1.0
    assert cit.support("Raisi praised football", PASSAGE) < cit.SUPPORT_THRESHOLD


def test_a_possessive_number_supports_the_number():
    fay = "Jacksonville also suffered damage from 2008's Tropical Storm Fay."
    assert cit.numbers(fay) == {"2008"} and cit.numbers("the 1990’s boom") == {"1990"}
    assert cit.valid_citations("2008 [1].", [fay]) and not cit.valid_citations("2009 [1].", [fay])


def test_valid_citations():
    texts = [PASSAGE, "The Denver Broncos won Super Bowl 50."]
    assert cit.valid_citations("The Broncos won Super Bowl 50 [2].", texts)
    assert not cit.valid_citations("The Broncos won Super Bowl 50 [1].", texts)  # wrong passage
    assert not cit.valid_citations("The Broncos won [3].", texts)  # passage never given


def test_best_sentence_offsets_in_document_frame():
    c = chunk()
    s = cit.best_sentence(c, "How long is Rashid's state visit?")
    assert s.text == "Rashid is on a one-day state visit."
    assert PASSAGE[s.start - 100:s.end - 100] == s.text
    s2 = cit.best_sentence(c, "Where was it?", answer="Tehran")
    assert "Tehran" in s2.text


def test_contains_answer_ignores_case_and_punctuation():
    assert cit.contains_answer(PASSAGE, "10 billion Euros")
    assert cit.contains_answer(PASSAGE, "one-day")
    assert not cit.contains_answer(PASSAGE, "billion dollars")
    assert not cit.contains_answer(PASSAGE, "")


def test_a_currency_the_passage_does_not_name_is_not_supported():
    from rag.answer.citations import contains_answer, is_supported

    passage = "Raisi said the trade volume amounts to more than 10 billion euros."
    assert contains_answer(passage, "10 billion euros") and not contains_answer(passage, "$10 billion")
    assert not is_supported("Trade is $10 billion.", passage) and not is_supported("Trade is 10 billion dollars.", passage)
    assert is_supported("Trade is more than 10 billion euros.", passage)


def test_a_marker_and_full_stop_end_a_claim_before_a_lowercase_quote():
    from rag.answer.citations import split_claims

    text = "The main type is asn1_node [1]. described in the DEFINITIONS file, and printed [3]."
    assert split_claims(text) == [("The main type is asn1_node.", [1]),
                                  ("described in the DEFINITIONS file, and printed.", [3])]
