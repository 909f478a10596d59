"""BM25 tokenizer: the per-word stem cache gives exactly what stemming every word gives."""

from rag.index import lexical
from rag.index.lexical import BM25Index, Tokenizer

TEXT = ("The Normans were the people who in the 10th and 11th centuries gave their name to "
        "Normandy, a region in France. They were descended from Norse raiders and pirates; "
        "running, runs and ran: 3 forms, 1 root? Fußball naïve CAFÉ café 2018's")


def reference(text: str) -> list[str]:
    """The uncached rule: lower-case word tokens, stop words dropped, Snowball stems."""
    stop = lexical._stopwords()
    words = [w for w in lexical._TOKEN.findall(text.lower()) if w not in stop]
    return lexical._stemmer().stemWords(words)


def test_cached_tokens_equal_stemming_every_word_twice_over():
    tok = Tokenizer()
    first = tok(TEXT)
    assert first == reference(TEXT)
    assert tok(TEXT) == first  # second pass served from the cache
    assert "norman" in first and "run" in first and "the" not in first


def test_stop_words_are_remembered_as_dropped_not_as_stems():
    tok = Tokenizer()
    assert tok("the the and") == []
    assert tok._cache["the"] is None


def test_cache_is_bounded_and_stays_correct_after_it_is_cleared(monkeypatch):
    monkeypatch.setattr(lexical, "_CACHE_MAX", 5)
    tok = Tokenizer()
    text = "alpha bravo charlie delta echo foxtrot golf hotel india running"
    assert tok(text) == reference(text)
    assert len(tok._cache) <= 5
    assert tok(text) == reference(text)


def test_index_scores_the_document_with_the_stemmed_query_words_highest():
    index = BM25Index.build(["Dogs are running in the park.", "Cats sleep all day.", "A quiet empty room."])
    scores = index.scores("Which animals run?")
    assert scores.argmax() == 0 and scores[0] > 0
    assert not index.scores("the and of").any()  # only stop words: no evidence at all
