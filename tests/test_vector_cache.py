import numpy as np

from rag.testing import HashEmbedder
from rag.retrieve import CachedEmbedder


def test_hits_return_the_vectors_a_miss_computed():
    inner = HashEmbedder(dim=16)
    cache = CachedEmbedder(inner, max_items=10)
    first = cache.embed_batch(["alpha beta", "gamma", "alpha beta"])
    assert inner.calls == [2]  # the repeated text is embedded once
    again = cache.embed_batch(["gamma", "delta", "alpha beta"])
    assert inner.calls == [2, 1]  # only "delta" is new
    np.testing.assert_array_equal(again[0], first[1])
    np.testing.assert_array_equal(again[2], first[0])
    np.testing.assert_array_equal(again[1], inner.embed_batch(["delta"])[0])
    assert cache.hits == 2 and cache.misses == 3


def test_queries_are_cached_apart_from_sentences():
    inner = HashEmbedder(dim=16)
    cache = CachedEmbedder(inner, max_items=10)
    q1 = cache.embed_query("who won?")
    q2 = cache.embed_query("who won?")
    assert q1 is q2 and not q1.flags.writeable  # callers can't corrupt a cached vector
    np.testing.assert_array_equal(q1, inner.embed_query("who won?"))


def test_bounded_least_recently_used_first_out():
    inner = HashEmbedder(dim=8)
    cache = CachedEmbedder(inner, max_items=2)
    cache.embed_batch(["a"]); cache.embed_batch(["b"]); cache.embed_batch(["a"]); cache.embed_batch(["c"])
    assert list(cache._texts) == ["a", "c"]  # "b" was least recently used
    for i in range(50):
        cache.embed_query(f"q{i}")
    assert len(cache._queries) == 2


def test_large_batches_bypass_the_cache():
    inner = HashEmbedder(dim=8)
    cache = CachedEmbedder(inner, max_items=100, passthrough=3)
    texts = [f"text {i}" for i in range(5)]
    seen = []
    out = cache.embed_batch(texts, progress=seen.append)
    assert out.shape == (5, 8) and not cache._texts and sum(seen) == 5
    assert cache.name == inner.name and cache.dim == 8
