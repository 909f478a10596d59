"""FAISS index choice: exact below the threshold, HNSW above it, with recall checked
against exact search on clustered vectors shaped like real embeddings."""

import numpy as np
import pytest

from rag.index import dense
faiss = pytest.importorskip("faiss")


def clustered(n: int, dim: int = 64, centres: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    v = c[rng.integers(0, centres, n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_exact_below_threshold_hnsw_above():
    v = clustered(300)
    assert dense.kind(dense.build(v, threshold=1000)) == "IndexFlatIP"
    assert dense.kind(dense.build(v, threshold=100)) == "IndexHNSWFlat"


def test_hnsw_recall_at_10_against_exact(tmp_path):
    v = clustered(20_000)
    queries = clustered(100, seed=1)
    exact = faiss.IndexFlatIP(v.shape[1])
    exact.add(v)
    approx = dense.build(v, threshold=10_000)
    assert dense.kind(approx) == "IndexHNSWFlat"
    dense.save(approx, tmp_path / "d.faiss")
    approx = dense.load(tmp_path / "d.faiss")  # efSearch is restored on load
    assert approx.hnsw.efSearch == dense.HNSW_EF_SEARCH
    hits = 0
    for q in queries:
        _, want = dense.search(exact, q, 10)
        _, got = dense.search(approx, q, 10)
        hits += len(set(want) & set(got))
    assert hits / (10 * len(queries)) >= 0.95


def test_search_drops_missing_ids_and_caps_n():
    v = clustered(5)
    scores, ids = dense.search(dense.build(v), v[0], 10)
    assert len(ids) == 5 and ids[0] == 0 and scores[0] == pytest.approx(1.0, abs=1e-5)
