"""The CLI contract: output formats, report files, exit codes, one-line errors (fake embedder in-process)."""

from __future__ import annotations

import json

import pytest

from rag import cli

from rag.index import store
from rag.testing import HashEmbedder

KEYS = ["rank", "score", "chunk_id", "doc_id", "source", "title", "page", "start", "end", "text"]


@pytest.fixture(autouse=True)
def fake_embedder(monkeypatch):
    monkeypatch.setattr(cli, "_embedder", lambda settings: HashEmbedder())


@pytest.fixture
def idx(tmp_path, docs_dir, capsys):
    path = tmp_path / "idx"
    assert cli.main(["index", str(docs_dir), "--index-dir", str(path)]) == 0
    capsys.readouterr()
    return path


def test_index_prints_what_it_did(tmp_path, docs_dir, capsys):
    path = str(tmp_path / "idx")
    assert cli.main(["index", str(docs_dir), "--index-dir", path]) == 0
    out = capsys.readouterr().out
    for part in ("3 added", "0 updated", "0 removed", "0 skipped", "chunks: ", " s"):
        assert part in out
    (docs_dir / "rome.txt").write_text("Rome changed.")
    assert cli.main(["index", str(docs_dir), "--index-dir", path]) == 0
    assert "1 updated" in capsys.readouterr().out
    assert cli.main(["index", str(docs_dir), "--index-dir", path]) == 0
    assert "up to date" in capsys.readouterr().out


def test_search_json_has_exactly_the_contract_keys(idx, capsys):
    assert cli.main(["search", "Brandenburg Gate", "--json", "--k", "2", "--index-dir", str(idx)]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert len(results) == 2
    assert all(list(r) == KEYS for r in results)
    top = results[0]
    assert top["rank"] == 1 and top["doc_id"] == "berlin.md" and top["source"] == "berlin.md"
    assert top["page"] is None and isinstance(top["score"], float)
    text = (idx.parent / "docs" / "berlin.md").read_text()
    assert text[top["start"]:top["end"]] == top["text"]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search_readable_output(idx, capsys, mode):
    assert cli.main(["search", "Eiffel Tower", "--mode", mode, "--index-dir", str(idx)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[1] ") and "paris.txt" in out


def test_eval_retrieval_only_writes_report_and_results(idx, tmp_path, capsys):
    battery = tmp_path / "battery.jsonl"
    battery.write_text("\n".join([
        json.dumps({"id": "q1", "question": "Where is the Eiffel Tower?", "gold": ["paris.txt"]}),
        json.dumps({"id": "q2", "question": "What is the capital of Germany?", "gold": ["berlin.md"]}),
        "{broken json",
        json.dumps({"id": "q3", "question": "Which ancient amphitheatre is in Rome?", "gold": ["rome.txt"]}),
        json.dumps({"id": "q4", "question": "No gold for this one"}),
    ]) + "\n")
    out = tmp_path / "run"
    assert cli.main(["eval", str(battery), "--retrieval-only", "--index-dir", str(idx), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"{battery}:3: invalid JSON" in captured.err
    assert "hit@5" in captured.out
    report = json.loads((out / "report.json").read_text())
    assert report["n"] == 4
    assert {"hit@1", "hit@5", "mrr@10", "latency_p50_ms", "latency_p95_ms"} <= set(report["metrics"])
    assert report["metrics"]["hit@5"] == 1.0 and 0 < report["metrics"]["mrr@10"] <= 1
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2", "q3", "q4"]
    assert rows[0]["metrics"]["gold_rank"] >= 1 and "metrics" not in rows[3]


def test_eval_limit(idx, tmp_path, capsys):
    battery = tmp_path / "b.jsonl"
    battery.write_text("".join(json.dumps({"question": f"capital {i}"}) + "\n" for i in range(5)))
    out = tmp_path / "run"
    assert cli.main(["eval", str(battery), "--retrieval-only", "--limit", "2", "--index-dir", str(idx),
                     "--out", str(out)]) == 0
    assert json.loads((out / "report.json").read_text())["n"] == 2


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize("argv, needle", [
    (["search", "   "], "empty"),
    (["search", "x", "--k", "0"], "k must be"),
    (["eval", "{tmp}/missing.jsonl", "--retrieval-only"], "cannot read battery"),
    (["eval", "{tmp}/bad.jsonl", "--retrieval-only"], "no valid questions"),
    (["index", "{tmp}/nowhere"], "no such file or folder"),
])
def test_bad_input_exits_2(idx, tmp_path, capsys, argv, needle):
    (tmp_path / "bad.jsonl").write_text("not json\n")
    argv = [a.format(tmp=tmp_path) for a in argv] + ["--index-dir", str(idx)]
    assert cli.main(argv) == 2
    assert needle in one_error_line(capsys)


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["search"], ["search", "q", "--mode", "magic"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: ")


def test_missing_index_exits_1_and_says_what_to_run(tmp_path, capsys):
    assert cli.main(["search", "anything", "--index-dir", str(tmp_path / "none")]) == 1
    assert "python -m rag index" in one_error_line(capsys)


def test_corrupt_index_exits_1_and_says_how_to_rebuild(idx, capsys):
    (store.load(idx).path / "vectors.npy").write_bytes(b"junk")
    assert cli.main(["search", "anything", "--index-dir", str(idx)]) == 1
    assert "rebuild it with: python -m rag index" in one_error_line(capsys)


def test_locked_index_exits_1(idx, docs_dir, capsys):
    with store.lock(idx):
        assert cli.main(["index", str(docs_dir), "--index-dir", str(idx)]) == 1
    assert "being indexed" in one_error_line(capsys)


def test_unexpected_error_is_one_line_exit_1(idx, monkeypatch, capsys):
    monkeypatch.delenv("RAG_DEBUG", raising=False)

    def boom(settings):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli, "_embedder", boom)
    assert cli.main(["search", "x", "--index-dir", str(idx)]) == 1
    assert one_error_line(capsys) == "error: unexpected RuntimeError: disk on fire"
