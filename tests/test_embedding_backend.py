"""The embedding backend setting: torch | onnx | onnx-int8, the ONNX export cache, the
fallback to torch, and (integration) that ONNX vectors match torch's."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

from rag.index import onnx_model
from rag.config import Settings
from rag.index import EmbedderOptions, build_embedder
from rag.index.onnx_embedder import OnnxEmbedder
from rag.index.torch_embedder import SentenceTransformerEmbedder
from rag.testing import HashEmbedder
from rag.errors import EmbedderUnavailableError, InputError
from rag.index.indexing import index_paths, stale_reason

from conftest import write_corpus


# --- the setting ----------------------------------------------------------------------

def test_backend_defaults_to_onnx_and_reads_the_environment():
    assert Settings.from_env({}).embed_backend == "onnx"
    assert Settings.from_env({"RAG_EMBED_BACKEND": "torch"}).embed_backend == "torch"
    assert Settings.from_env({"RAG_EMBED_BACKEND": "onnx-int8"}).embed_backend == "onnx-int8"
    with pytest.raises(InputError, match="embedding backend must be one of .*onnx.*not 'tensorrt'"):
        build_embedder(Settings.from_env({"RAG_EMBED_BACKEND": "tensorrt"}))  # names come from the registry


def test_build_embedder_picks_the_backend():
    torch_one = build_embedder(Settings(embed_backend="torch", embed_batch_size=8, embed_query_threads=1))
    assert isinstance(torch_one, SentenceTransformerEmbedder) and torch_one.batch_size == 8
    onnx = build_embedder(Settings(embed_backend="onnx", embed_batch_size=8, embed_max_seq_length=128))
    assert isinstance(onnx, OnnxEmbedder)
    assert (onnx.variant, onnx.batch_size, onnx.max_seq_length) == ("fp32", 8, 128)
    assert build_embedder(Settings(embed_backend="onnx-int8")).variant == "int8"


# --- fallback -------------------------------------------------------------------------

def _broken_export(monkeypatch, calls: list):
    def fail(*args, **kwargs):
        calls.append(args)
        raise EmbedderUnavailableError("onnxruntime is not installed (pip install onnxruntime)")

    monkeypatch.setattr(onnx_model, "onnx_model_path", fail)


def test_onnx_falls_back_to_torch_with_one_warning(monkeypatch, caplog):
    calls: list = []
    _broken_export(monkeypatch, calls)
    fallback = HashEmbedder(dim=384, name="all-MiniLM-L6-v2")
    embedder = OnnxEmbedder(EmbedderOptions(model_path="/nonexistent"), fallback=lambda: fallback)
    with caplog.at_level(logging.WARNING, logger="rag.index.embedding"):
        vectors = embedder.embed_batch(["Paris is in France.", "Rome is in Italy."])
        query = embedder.embed_query("capital of France")
    np.testing.assert_array_equal(vectors, HashEmbedder(dim=384).embed_batch(["Paris is in France.",
                                                                                "Rome is in Italy."]))
    np.testing.assert_array_equal(query, HashEmbedder(dim=384).embed_query("capital of France"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "onnxruntime is not installed" in warnings[0] and "torch" in warnings[0]
    assert len(calls) == 1  # the failed export is not retried on every call
    assert embedder.backend == "torch"


def test_without_a_fallback_the_error_is_raised(monkeypatch):
    _broken_export(monkeypatch, [])
    with pytest.raises(EmbedderUnavailableError, match="onnxruntime"):
        OnnxEmbedder(EmbedderOptions(model_path="/nonexistent")).embed_query("x")


def test_int8_name_differs_so_its_index_is_stale_for_the_others(monkeypatch, tmp_path):
    """fp32 ONNX gives torch's vectors, so it keeps torch's name (existing indexes stay valid);
    int8 vectors differ, so an index built with them must count as stale for fp32 / torch."""
    fp32 = OnnxEmbedder(EmbedderOptions(name="all-MiniLM-L6-v2"), variant="fp32")
    assert fp32.name == SentenceTransformerEmbedder(EmbedderOptions(name="all-MiniLM-L6-v2")).name
    int8 = OnnxEmbedder(EmbedderOptions(name="all-MiniLM-L6-v2"), variant="int8")
    assert int8.name == "all-MiniLM-L6-v2+int8"
    assert int8._session is None  # reading the name loaded (and exported) nothing

    settings = Settings(index_dir=tmp_path / "index", chunk_words=40)
    fake_int8 = HashEmbedder(name=int8.name)
    data, _ = index_paths([write_corpus(tmp_path / "docs")], settings, fake_int8, log=lambda m: None)
    assert stale_reason(data.manifest, settings, fake_int8) is None
    reason = stale_reason(data.manifest, settings, HashEmbedder(name=fp32.name))
    assert reason and "all-MiniLM-L6-v2+int8" in reason


def test_int8_that_fell_back_reports_torchs_name(monkeypatch):
    _broken_export(monkeypatch, [])
    embedder = OnnxEmbedder(variant="int8", fallback=lambda: HashEmbedder(name="all-MiniLM-L6-v2"))
    assert embedder.name == "all-MiniLM-L6-v2+int8" and embedder.backend == "onnx-int8"  # not loaded yet
    embedder.load()
    assert embedder.name == "all-MiniLM-L6-v2"  # its vectors are torch's, so is its name


# --- batching, with a fake session ------------------------------------------------------

class _CountingSession:
    """Returns, per row, [real tokens, first token id, padded width, 0, ...] and records batch widths."""

    def __init__(self):
        self.widths: list[tuple[int, int]] = []

    def run(self, outputs, feed):
        ids, mask = feed["input_ids"], feed["attention_mask"]
        assert ids.dtype == np.int64 and ids.shape == mask.shape
        assert np.all(ids[mask == 0] == 0)  # padding is [PAD] = 0 under a zero mask
        self.widths.append(ids.shape)
        out = np.zeros((len(ids), 384), dtype=np.float32)
        out[:, 0] = mask.sum(1)
        out[:, 1] = ids[:, 0]
        out[:, 2] = ids.shape[1]
        return [out]


def _fake_loaded(embedder: OnnxEmbedder, session) -> OnnxEmbedder:
    from rag.index import bundled_model_path

    tokenizer = onnx_model.load_tokenizer(bundled_model_path(), embedder.max_seq_length)
    tokenizer.no_padding()
    embedder._tokenizer, embedder._session = tokenizer, session
    return embedder


def test_batches_are_sorted_by_length_and_rows_come_back_in_order():
    session = _CountingSession()
    embedder = _fake_loaded(OnnxEmbedder(EmbedderOptions(batch_size=2, max_seq_length=16)), session)
    texts = ["one two three four five six seven", "hi", "a b c", "word " * 40, "x y"]
    done: list[int] = []
    out = embedder.embed_batch(texts, progress=done.append)
    lengths = [len(embedder._tokenizer.encode(t).ids) for t in texts]
    assert lengths[3] == 16  # truncated at max_seq_length, [SEP] kept
    np.testing.assert_array_equal(out[:, 0], lengths)  # row i is text i, mask covers its tokens
    assert np.all(out[:, 1] == 101)  # [CLS] first
    assert [w for _, w in session.widths] == sorted(w for _, w in session.widths)  # short batches first
    assert [n for n, _ in session.widths] == [2, 2, 1] and sum(done) == len(texts)
    assert embedder.embed_batch([]).shape == (0, 384)


def test_query_uses_its_own_narrow_session(monkeypatch):
    made: list[int] = []

    def new_session(path, threads=0, spin=False):
        made.append(threads)
        return _CountingSession()

    monkeypatch.setattr(onnx_model, "new_session", new_session)
    batch_session = _CountingSession()
    embedder = _fake_loaded(OnnxEmbedder(EmbedderOptions(threads=2, query_threads=1)), batch_session)
    vec = embedder.embed_query("Where is Paris?")
    assert vec.shape == (384,) and made == [1] and not batch_session.widths
    embedder.embed_query("again")
    assert made == [1]  # made once


# --- the export cache -------------------------------------------------------------------

def test_export_is_cached_and_written_atomically(monkeypatch, tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    exports: list = []

    def fake_export(src, work, variant):
        exports.append(variant)
        assert work.parent == tmp_path / "models" and work.name.startswith(".")  # hidden temp dir
        (work / "model.onnx").write_bytes(b"onnx bytes")

    monkeypatch.setattr(onnx_model, "export", fake_export)
    path = onnx_model.onnx_model_path(model_dir, "fp32", cache_dir=tmp_path)
    assert path.read_bytes() == b"onnx bytes" and path.parent == tmp_path / "models"
    assert onnx_model.onnx_model_path(model_dir, "fp32", cache_dir=tmp_path) == path
    assert exports == ["fp32"]
    assert os.listdir(tmp_path / "models") == [path.name]  # no temp leftovers
    int8 = onnx_model.onnx_model_path(model_dir, "int8", cache_dir=tmp_path)
    assert int8 != path and exports == ["fp32", "int8"]
    (model_dir / "config.json").write_text('{"changed": 1}')  # new weights/config -> new export
    assert onnx_model.onnx_model_path(model_dir, "fp32", cache_dir=tmp_path) != path


def test_failed_export_leaves_nothing_and_says_why(monkeypatch, tmp_path):
    def fake_export(src, work, variant):
        (work / "raw.onnx").write_bytes(b"half")
        raise RuntimeError("Exporting the operator 'aten::foo' is not supported")

    monkeypatch.setattr(onnx_model, "export", fake_export)
    with pytest.raises(EmbedderUnavailableError, match="could not export .*'aten::foo'"):
        onnx_model.onnx_model_path(tmp_path, "fp32", cache_dir=tmp_path / "cache")
    assert os.listdir(tmp_path / "cache" / "models") == []


def test_missing_onnxruntime_is_a_clear_error(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(EmbedderUnavailableError, match="pip install onnxruntime"):
        onnx_model.onnx_model_path(tmp_path, "fp32", cache_dir=tmp_path)


# --- the real thing -------------------------------------------------------------------------

TEXTS = [
    "Super Bowl 50\nSuper Bowl 50 was an American football game to determine the champion of the National "
    "Football League (NFL) for the 2015 season. The American Football Conference (AFC) champion Denver "
    "Broncos defeated the National Football Conference (NFC) champion Carolina Panthers 24-10.",
    "Warsaw\nWarsaw is the capital and largest city of Poland.",
    "short",
    "",
    "Ünïcödé text — with dashes, 3.14 numbers and émojis ☃",
    "word " * 400,  # longer than max_seq_length: truncated the same way
]


@pytest.mark.integration
def test_onnx_vectors_match_torch():
    settings = Settings()
    torch_embedder = build_embedder(settings.replace(embed_backend="torch"))
    onnx_embedder = build_embedder(settings.replace(embed_backend="onnx"))
    want = torch_embedder.embed_batch(TEXTS)
    got = onnx_embedder.embed_batch(TEXTS)
    assert onnx_embedder.backend == "onnx"  # did not fall back
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.abs(got - want).max() < 1e-4
    for question in ("Who won Super Bowl 50?", "What is the capital of Poland?"):
        assert np.abs(onnx_embedder.embed_query(question) - torch_embedder.embed_query(question)).max() < 1e-4
