"""Battery tooling: metric arithmetic, battery parsing errors, selection, run statistics,
the quality gate, run comparison, the HTML report, ordered workers, the remote answer codec."""

from __future__ import annotations

import json
import socket
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rag.evaluate import metrics

from rag.evaluate import run_stats
from rag.evaluate.battery import Question, load_battery, select
from rag.evaluate.compare import compare, format_comparison, load_run
from rag.errors import InputError
from rag.evaluate.gate import GateFailedError, check, enforce, parse_limit
from rag.models import Answer, Chunk, Citation, Passage
from rag.evaluate.parallel import map_ordered
from rag.evaluate.remote import answer_from_dict
from rag.evaluate.report_html import render


# ------------------------------------------------------------------ metric arithmetic
def test_hit_at_k_and_mrr_by_hand():
    docs = ["d3", "d1", "d7", "d1", "d9"]
    rank = metrics.first_gold_rank(docs, ["d7", "d9"])
    assert rank == 3  # the first gold document, not the best-scoring one
    assert [metrics.hit_at(rank, k) for k in (1, 2, 3, 5)] == [0.0, 0.0, 1.0, 1.0]
    assert metrics.reciprocal_rank(rank) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank(11, cutoff=10) == 0.0
    assert metrics.first_gold_rank(docs, []) is None
    assert metrics.hit_at(None, 10) == 0.0 and metrics.reciprocal_rank(None) == 0.0
    # MRR over three questions ranked 1, 4 and missing: (1 + 1/4 + 0) / 3
    assert metrics.mean([metrics.reciprocal_rank(r) for r in (1, 4, None)]) == pytest.approx(1.25 / 3)


def test_normalization_edge_cases():
    assert metrics.normalize("The  Eiffel-Tower!") == "eiffeltower"
    assert metrics.normalize("An apple, a pear") == "apple pear"
    assert metrics.normalize("Theatre of the absurd") == "theatre of absurd"  # 'the' only as a word
    assert metrics.normalize("") == "" and metrics.normalize("  ...  ") == ""
    assert metrics.normalize("ÉCOLE") == "école"


def test_answer_match_and_f1_by_hand():
    assert metrics.answer_match("It began in October 1973 [1].", ["October 1973"]) == 1.0
    assert metrics.answer_match("In 19733.", ["1973"]) == 0.0  # whole words only
    assert metrics.answer_match("anything", []) == 0.0  # no references: never a match
    assert metrics.answer_match("anything", ["", "the"]) == 0.0  # references that normalise to nothing
    # pred "paris is capital" vs ref "capital paris": overlap 2, P = 2/3, R = 1 -> F1 = 0.8
    assert metrics.f1("Paris is the capital", "the capital, Paris") == pytest.approx(0.8)
    assert metrics.f1("", "") == 1.0 and metrics.f1("x", "") == 0.0 and metrics.f1("", "x") == 0.0
    assert metrics.best_f1("Paris [2]", ["London", "Paris"]) == 1.0
    assert metrics.best_f1("Paris", []) == 0.0


def test_percentile_interpolates():
    assert metrics.percentile([4, 1, 3, 2], 50) == 2.5
    assert metrics.percentile([10], 95) == 10
    assert metrics.percentile([], 50) is None


# ------------------------------------------------------------------ battery parsing
def test_jsonl_errors_carry_file_and_line(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text('{"id": "a", "question": "Q1?"}\n'
                    '\n'
                    '{"id": "b", "question": \n'
                    '{"id": "c"}\n'
                    '{"id": "d", "question": "Q4?", "answers": "not a list"}\n'
                    '[1, 2]\n'
                    '{"id": "a", "question": "dup?"}\n', encoding="utf-8")
    battery = load_battery([path])
    assert [q.id for q in battery.questions] == ["a", "a"]
    assert battery.errors[0].startswith(f"{path}:3: invalid JSON")
    assert battery.errors[1] == f'{path}:4: missing or empty "question"'
    assert battery.errors[2] == f'{path}:5: "answers" must be a list of strings'
    assert battery.errors[3] == f"{path}:6: not a JSON object"
    assert battery.errors[4] == f"{path}:7: duplicate id 'a'"
    with pytest.raises(InputError, match=r"b.jsonl:3: invalid JSON"):
        load_battery([path], strict=True)


def test_csv_battery_lists_and_errors(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("id,question,answers,gold,expect_refusal\n"
                    'q1,"Where, exactly?",Paris | the city of Paris,paris.txt,\n'
                    "q2,Unanswerable?,,,true\n"
                    "q3,,x,,\n"
                    "q4,Bad flag?,,,maybe\n"
                    "q5,Too,many,fields,false,extra\n", encoding="utf-8")
    battery = load_battery([path])
    q1, q2 = battery.questions
    assert q1.question == "Where, exactly?" and q1.answers == ("Paris", "the city of Paris")
    assert q1.gold == ("paris.txt",) and not q1.expect_refusal
    assert q2.expect_refusal and q2.answers == ()
    assert battery.errors == [f'{path}:4: missing or empty "question"',
                              f'{path}:5: "expect_refusal" must be true or false',
                              f"{path}:6: more fields than the header has"]
    assert q1.source == f"{path}:2"


def test_csv_without_question_column_and_empty_battery(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("query,answers\nx,y\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs a 'question' column"):
        load_battery([bad])
    empty = tmp_path / "e.jsonl"
    empty.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no valid questions \(1 malformed; first: .*e.jsonl:1"):
        load_battery([empty])


def test_several_files_and_hash(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.csv"
    a.write_text('{"question": "One?"}\n', encoding="utf-8")
    b.write_text("question\nTwo?\n", encoding="utf-8")
    battery = load_battery([a, b])
    assert [q.question for q in battery.questions] == ["One?", "Two?"]
    assert [q.id for q in battery.questions] == ["a-1", "b-2"]
    assert battery.sha256 == load_battery([a, b]).sha256 != load_battery([b, a]).sha256


def test_select_is_a_fixed_sample_in_battery_order():
    qs = [Question(id=str(i), question=f"q{i}") for i in range(100)]
    s1, s2 = select(qs, sample=10, seed=3), select(qs, sample=10, seed=3)
    assert s1 == s2 and len(s1) == 10
    assert [int(q.id) for q in s1] == sorted(int(q.id) for q in s1)
    assert select(qs, sample=10, seed=4) != s1
    assert select(qs, sample=10, seed=3, limit=4) == s1[:4]
    assert select(qs, sample=500) == qs


# ------------------------------------------------------------------ run statistics
def result(qid, *, rank="absent", match=None, refused=False, evidence=0.5, expect_refusal=False,
           supported=True, ms=100.0):
    mm = {}
    if rank != "absent":
        mm["gold_rank"] = rank
        mm["hit@1"], mm["hit@5"] = metrics.hit_at(rank, 1), metrics.hit_at(rank, 5)
    if expect_refusal:
        mm["refusal_correct"] = float(refused)
    elif match is not None:
        mm["answer_match"] = match
    mm["citation_valid"] = None if refused else float(supported)
    return {"id": qid, "question": f"question {qid}?", "answer": "no" if refused else f"answer {qid} [1]",
            "refused": refused, "evidence": evidence, "metrics": mm, "answers": ["ref"],
            "gold": ["g"], "expect_refusal": expect_refusal, "timings": {"total": ms},
            "retrieved": [{"doc_id": "g" if rank == i + 1 else f"d{i}", "score": 0.9 - 0.05 * i} for i in range(10)]}


def test_hit_curve_by_hand():
    rs = [result("a", rank=1), result("b", rank=3), result("c", rank=None), result("d", rank=10), result("e")]
    curve = run_stats.hit_curve(rs)
    assert curve[0] == 0.25 and curve[1] == 0.25 and curve[2] == 0.5 and curve[8] == 0.5 and curve[9] == 0.75
    assert run_stats.hit_curve([result("x")]) == [None] * 10


def test_threshold_sweep_recomputes_refusal_from_evidence():
    rs = [result("u1", expect_refusal=True, evidence=0.1, refused=True),
          result("u2", expect_refusal=True, evidence=0.5),
          result("a1", match=1.0, evidence=0.3),
          result("a2", match=0.0, evidence=0.6),
          result("a3", match=1.0, evidence=0.8)]
    sweep = run_stats.threshold_sweep(rs, steps=5)  # thresholds 0, 0.25, 0.5, 0.75, 1.0
    by_t = {round(row["threshold"], 2): row for row in sweep}
    assert by_t[0.0] == {"threshold": 0.0, "refusal_accuracy": 0.0, "false_refusal": 0.0,
                         "answered_correct": pytest.approx(2 / 3)}
    assert by_t[0.25]["refusal_accuracy"] == 0.5 and by_t[0.25]["false_refusal"] == 0.0
    assert by_t[0.5]["refusal_accuracy"] == 0.5  # 0.5 < 0.5 is false: not refused
    assert by_t[0.5]["false_refusal"] == pytest.approx(1 / 3)
    assert by_t[0.5]["answered_correct"] == pytest.approx(1 / 3)
    assert by_t[1.0] == {"threshold": 1.0, "refusal_accuracy": 1.0, "false_refusal": 1.0, "answered_correct": 0.0}


def test_evidence_buckets_and_histogram():
    rs = [result(str(i), match=float(i >= 5), evidence=i / 10) for i in range(10)]
    buckets = run_stats.evidence_buckets(rs, buckets=2)
    assert [(b["n"], b["answer_match"]) for b in buckets] == [(5, 0.0), (5, 1.0)]
    assert buckets[0]["lo"] == 0.0 and buckets[1]["hi"] == 0.9
    edges, counts = run_stats.histogram([0, 1, 2, 3, 4], bins=2)
    assert edges == [0, 2, 4] and counts == [2, 3]
    assert run_stats.histogram([5, 5]) == ([5, 5], [2])


def test_failure_kinds():
    k = 5
    assert run_stats.failure_kinds(result("ok", rank=1, match=1.0), k) == []
    assert run_stats.failure_kinds(result("w", rank=7, match=0.0), k) == ["wrong answer", "missed gold"]
    assert run_stats.failure_kinds(result("f", match=1.0, refused=True), k) == ["false refusal"]
    assert run_stats.failure_kinds(result("m", expect_refusal=True), k) == ["missed refusal"]
    assert run_stats.failure_kinds(result("c", match=1.0, supported=False), k) == ["unsupported citation"]
    assert run_stats.correct(result("m", expect_refusal=True)) is False
    assert run_stats.correct(result("r", expect_refusal=True, refused=True)) is True
    assert run_stats.correct(result("h", rank=2)) is True  # retrieval-only: gold hit at k


# ------------------------------------------------------------------ the gate
def test_gate_limits():
    limit = parse_limit("answer_match=0.30")
    assert (limit.metric, limit.value) == ("answer_match", 0.3)
    for bad in ("answer_match", "=0.3", "answer_match=high"):
        with pytest.raises(InputError):
            parse_limit(bad)
    m = {"answer_match": 0.25, "hit@5": 0.9, "false_refusal": 0.2, "refusal_accuracy": None}
    assert check(m, [parse_limit("hit@5=0.9")]) == []
    failures = check(m, [parse_limit("answer_match=0.3"), parse_limit("hit@5=0.8"),
                         parse_limit("false_refusal=0.1", lower_is_better=True), parse_limit("mrr@10=0.5"),
                         parse_limit("refusal_accuracy=0.5")])
    assert failures[0] == "answer_match = 0.25 is below the limit 0.3"
    assert failures[1] == "false_refusal = 0.2 is above the limit 0.1"
    assert failures[2].startswith("mrr@10 is not in this run's metrics")
    assert failures[3].startswith("refusal_accuracy is not in this run's metrics")
    with pytest.raises(GateFailedError) as info:
        enforce(m, [parse_limit("answer_match=0.3")])
    assert info.value.exit_code == 3 and "answer_match = 0.25" in str(info.value)


# ------------------------------------------------------------------ comparison
def write_run(folder: Path, metrics_: dict, results: list[dict]) -> Path:
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps({"n": len(results), "metrics": metrics_,
                                                    "battery": {"sha256": "s"}}))
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    return folder


def test_compare_deltas_and_flips(tmp_path):
    a = write_run(tmp_path / "a", {"answer_match": 0.5, "hit@5": 0.75, "llm_errors": 0},
                  [result("q1", match=1.0), result("q2", match=0.0), result("q3", match=1.0),
                   result("u1", expect_refusal=True, refused=True), result("only-a", match=1.0)])
    b = write_run(tmp_path / "b", {"answer_match": 0.25, "hit@5": 0.8, "mrr@10": 0.6},
                  [result("q1", match=0.0), result("q2", match=1.0), result("q3", match=1.0),
                   result("u1", expect_refusal=True, refused=False)])
    c = compare(load_run(a), load_run(b))
    deltas = {name: (va, vb, d) for name, va, vb, d in c.deltas}
    assert deltas["answer_match"] == (0.5, 0.25, -0.25)
    assert deltas["hit@5"][2] == pytest.approx(0.05)
    assert deltas["mrr@10"] == (None, 0.6, None) and deltas["llm_errors"] == (0, None, None)
    assert [r["id"] for r in c.right_to_wrong] == ["q1", "u1"]
    assert [r["id"] for r in c.wrong_to_right] == ["q2"]
    assert (c.common, c.only_a, c.only_b) == (4, 1, 0)
    text = format_comparison(c)
    assert "answer_match" in text and "-0.2500" in text and "+0.0500" in text
    assert "right -> wrong: 2\n  q1  question q1?\n  u1  question u1?" in text
    assert "wrong -> right: 1\n  q2  question q2?" in text
    assert "4 questions in both runs; 1 only in A" in text


def test_compare_rejects_a_non_run(tmp_path):
    with pytest.raises(InputError, match="not a run directory"):
        load_run(tmp_path)


# ------------------------------------------------------------------ the HTML report
class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.stack = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def sample_run(n=40):
    rs = []
    for i in range(n):
        rs.append(result(f"q{i}", rank=(i % 7) + 1 if i % 5 else None, match=float(i % 3 == 0),
                         evidence=i / n, refused=i < 4, ms=200 + 37 * i, supported=i % 11 != 0))
    rs.append(result("u<1>", expect_refusal=True, evidence=0.05, refused=False))
    rs[1]["question"] = "Is <script>alert('x')</script> & co escaped?"
    rs[1]["answer"] = "<img src=x onerror=alert(1)> [1]"
    report = {"n": len(rs), "metrics": {"answer_match": 0.33, "hit@5": 0.8, "refusal_accuracy": None},
              "config": {"k": 5, "mode": "hybrid", "refusal_threshold": 0.1, "llm": "fake <llm>"},
              "battery": {"files": ["b.jsonl"], "sha256": "abc", "malformed_lines": 1,
                          "errors": ["b.jsonl:3: invalid JSON (<bad>)"]}}
    return report, rs


def test_html_report_is_self_contained_and_escaped():
    report, rs = sample_run()
    page = render(report, rs)
    parser = _Collector()
    parser.feed(page)
    tags = [t for t, _ in parser.tags]
    assert tags.count("svg") == 4  # hit@k, latency, answer match by evidence, threshold sweep
    assert "script" not in tags and "img" not in tags  # user text never becomes markup
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in page
    assert not any(v and ("http://" in v or "https://" in v) and k in ("src", "href")
                   for _, attrs in parser.tags for k, v in attrs.items())
    text = " ".join(parser.text)
    for needle in ("hit@k", "Latency", "Answer match by evidence", "Refusal threshold sweep",
                   "wrong answer", "missed gold", "false refusal", "missed refusal", "unsupported citation",
                   "b.jsonl:3: invalid JSON (<bad>)", "fake <llm>"):
        assert needle in text, needle


@pytest.mark.integration
def test_html_report_renders_in_headless_chromium(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian chromium is not installed")
    report, rs = sample_run()
    page_path = tmp_path / "report.html"
    page_path.write_text(render(report, rs), encoding="utf-8")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors, requests = [], []
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda req: requests.append(req.url))
            page.goto(page_path.as_uri())
            assert errors == []
            assert all(url.startswith("file://") or url.startswith("data:") for url in requests)
            assert page.locator("svg").count() == 4
            box = page.locator("svg").first.bounding_box()
            assert box and box["width"] > 300 and box["height"] > 100  # the plots really render
            assert page.locator("details").first.get_attribute("open") is not None
        finally:
            browser.close()


# ------------------------------------------------------------------ ordered workers
def test_map_ordered_keeps_input_order_and_runs_concurrently():
    # Conditions, not sleeps: items 0-2 meet at a barrier (only possible if 3 run at once),
    # and item 0 finishes only after item 2's result has been delivered (so results arrive
    # out of order); the 60 s timeouts turn a missing worker into a failure, not a hang.
    active, peak, lock = [0], [0], threading.Lock()
    three_at_once = threading.Barrier(3, timeout=60)
    item2_delivered = threading.Event()

    def work(x):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        if x < 3:
            three_at_once.wait()
        if x == 0:
            assert item2_delivered.wait(60), "item 2's result was never delivered"
        with lock:
            active[0] -= 1
        return x * x

    seen = []

    def on_result(i, r):
        seen.append(i)
        if i == 2:
            item2_delivered.set()

    out = map_ordered(work, list(range(10)), workers=3, on_result=on_result)
    assert out == [x * x for x in range(10)]
    assert sorted(seen) == list(range(10)) and seen.index(2) < seen.index(0)
    assert peak[0] == 3
    assert map_ordered(lambda x: x * x, [1, 2], workers=1) == [1, 4]


def test_map_ordered_reraises_the_first_error():
    def boom(x):
        if x == 3:
            raise InputError("bad item 3")
        return x

    with pytest.raises(InputError, match="bad item 3"):
        map_ordered(boom, list(range(20)), workers=2)


# ------------------------------------------------------------------ the --server answer codec
def test_answer_round_trips_through_its_json():
    chunk = Chunk("c1", "paris.txt", "Paris is the capital of France.", 0, 31, "paris.txt", "Paris")
    ans = Answer(question="Capital?", text="Paris [1].", refused=False, evidence=0.61,
                 passages=[Passage(1, 0.9, chunk)],
                 citations=[Citation(1, "c1", "paris.txt", "paris.txt", "Paris", None, 0, 31, chunk.text,
                                     chunk.text, 0, 31, supported=False, score=0.4)],
                 timings={"retrieval": 12.0, "total": 340.0})
    back = answer_from_dict(json.loads(json.dumps(ans.to_dict())))
    assert back.text == ans.text and back.evidence == pytest.approx(0.61) and not back.refused
    assert back.passages[0].chunk.doc_id == "paris.txt" and back.passages[0].score == pytest.approx(0.9)
    assert back.citations[0].supported is False and back.citations[0].n == 1
    assert back.timings["total"] == 340.0


# ------------------------------------------------------------------ the eval command, with fakes
from rag import cli
from rag.evaluate import cli as eval_cli
from rag.testing import HashEmbedder  # noqa: E402
from rag.engine import Engine  # noqa: E402
from rag.evaluate.gate import GateFailedError as _Gate  # noqa: E402,F811
from rag.testing import FakeLLM  # noqa: E402

BATTERY = [
    {"id": "eiffel", "question": "Where does the Eiffel Tower stand?", "answers": ["Paris"], "gold": ["paris.txt"]},
    {"id": "berlin", "question": "What is the capital of Germany?", "answers": ["Berlin"], "gold": ["berlin.md"]},
    {"id": "rome", "question": "Which ancient amphitheatre is in Rome?", "answers": ["Colosseum"],
     "gold": ["rome.txt"]},
    {"id": "wine", "question": "What does France export?", "answers": ["wine"], "gold": ["paris.txt"]},
    {"id": "moon", "question": "How many moons does Neptune have?", "expect_refusal": True},
    {"id": "gate", "question": "Which gate is in Berlin?", "answers": ["Brandenburg Gate"], "gold": ["berlin.md"]},
]


def fake_engine_factory(calls=None):
    def reply(prompt: str) -> str:  # deterministic: a word of the last passage shown
        last = prompt.rsplit("Question:", 1)[0].strip().splitlines()[-1]
        words = [w.strip(".,") for w in last.split() if w[:1].isupper()]
        return " " + (words[-1] if words else "unknown")

    def make(settings, inputs, log):
        engine = Engine(settings.replace(chunk_words=40), embedder=HashEmbedder(), llm=FakeLLM(reply),
                        inputs=inputs, log=log)
        if calls is not None:
            calls.append(engine)
        return engine
    return make


def eval_args(*argv):
    return cli.build_parser().parse_args(["eval", *map(str, argv)])


@pytest.fixture
def battery_file(tmp_path):
    path = tmp_path / "battery.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in BATTERY) + "{broken\n", encoding="utf-8")
    return path


def run_eval(tmp_path, *argv, settings=None, calls=None):
    settings = settings or Settings(index_dir=tmp_path / "unused-index")
    logs = []
    code = eval_cli.run(eval_args(*argv), settings, logs.append, make_engine=fake_engine_factory(calls))
    return code, logs


from rag.config import Settings  # noqa: E402


def read_run(out):
    report = json.loads((out / "report.json").read_text())
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return report, results


def test_eval_with_corpus_writes_the_three_files(tmp_path, docs_dir, battery_file, capsys):
    out = tmp_path / "run"
    code, logs = run_eval(tmp_path, battery_file, "--corpus", docs_dir, "--out", out)
    assert code == 0
    assert f"{battery_file}:7: invalid JSON" in " ".join(logs)
    report, results = read_run(out)
    assert [r["id"] for r in results] == [q["id"] for q in BATTERY]
    assert report["n"] == 6 and report["battery"]["malformed_lines"] == 1
    assert report["battery"]["errors"][0].startswith(f"{battery_file}:7:")
    assert report["corpus"]["documents"] == 3 and len(report["corpus"]["sha256"]) == 64
    assert report["corpus"]["paths"] == [str(docs_dir)]
    cfg = report["config"]
    for key in ("k", "mode", "refusal_threshold", "prompt_style", "llm", "code_version", "embed_model", "workers"):
        assert key in cfg, key
    assert cfg["prompt_style"] == "completion" and cfg["llm"] == "fake LLM"
    assert {"answer_match", "hit@1", "hit@5", "mrr@10", "refusal_accuracy", "false_refusal"} <= set(report["metrics"])
    moon = results[4]
    assert moon["expect_refusal"] and "refusal_correct" in moon["metrics"]
    assert results[0]["answers"] == ["Paris"] and results[0]["gold"] == ["paris.txt"]
    assert all("gold_rank@10" in r["metrics"] for r in results if r["gold"])
    assert not (tmp_path / "unused-index").exists()  # the run-local index is not the configured one
    assert not any(p.name == "index" for p in out.iterdir())
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 5 and "fake LLM" in page
    assert "Refusal accuracy against false refusal" in page  # the answerability curve
    assert cfg["answerability_threshold"] == Settings().answerability_threshold  # report.json records it
    assert {"short_em", "short_f1", "answer_words_max"} <= set(report["metrics"])
    printed = capsys.readouterr().out
    assert "6 questions in" in printed and "answer_match" in printed and "report.html" in printed


def test_workers_give_the_same_results_as_serial(tmp_path, docs_dir, battery_file):
    runs = {}
    for workers in (1, 3):
        out = tmp_path / f"w{workers}"
        assert run_eval(tmp_path, battery_file, "--corpus", docs_dir, "--out", out, "--workers", workers)[0] == 0
        report, results = read_run(out)
        for r in results:
            r.pop("timings")
        runs[workers] = (report["metrics"], results)
    m1, r1 = runs[1]
    m3, r3 = runs[3]
    assert r1 == r3
    assert {k: v for k, v in m1.items() if "latency" not in k} == {k: v for k, v in m3.items() if "latency" not in k}


def test_gate_exit_code_and_message(tmp_path, docs_dir, battery_file, capsys):
    out = tmp_path / "run"
    with pytest.raises(_Gate) as info:
        run_eval(tmp_path, battery_file, "--corpus", docs_dir, "--out", out,
                 "--fail-under", "hit@5=1.01", "--fail-under", "hit@1=0", "--fail-over", "llm_errors=-1")
    assert info.value.exit_code == 3
    message = str(info.value)
    assert "hit@5 = " in message and "below the limit 1.01" in message
    assert "llm_errors = 0 is above the limit -1" in message and "hit@1" not in message
    assert (out / "report.json").exists() and (out / "report.html").exists()  # written before the gate
    code, _ = run_eval(tmp_path, battery_file, "--corpus", docs_dir, "--out", tmp_path / "ok",
                       "--fail-under", "hit@5=0.1")
    assert code == 0 and "quality gate passed: hit@5>=0.1" in capsys.readouterr().out


def test_sample_seed_and_strict(tmp_path, docs_dir, battery_file):
    out = tmp_path / "s"
    assert run_eval(tmp_path, battery_file, "--corpus", docs_dir, "--out", out, "--sample", 3, "--seed", 5)[0] == 0
    report, results = read_run(out)
    picked = [q.id for q in select(load_battery([battery_file]).questions, 3, 5)]
    assert [r["id"] for r in results] == picked
    assert report["battery"]["sample"] == 3 and report["battery"]["seed"] == 5
    assert report["battery"]["questions_in_files"] == 6 and report["battery"]["questions_run"] == 3
    with pytest.raises(InputError, match=r"battery.jsonl:7: invalid JSON"):
        run_eval(tmp_path, battery_file, "--corpus", docs_dir, "--strict", "--out", tmp_path / "x")


def test_bad_eval_options_exit_2(tmp_path, battery_file, capsys):
    for argv in (["--workers", "0"], ["--fail-under", "answer_match"], ["--sample", "0"],
                 ["--server", "http://127.0.0.1:9/", "--corpus", str(tmp_path)]):
        assert cli.main(["eval", str(battery_file), *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: "), err


def test_compare_command(tmp_path, docs_dir, battery_file, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_eval(tmp_path, battery_file, "--corpus", docs_dir, "--out", a)[0] == 0
    assert run_eval(tmp_path, battery_file, "--corpus", docs_dir, "--out", b, "--k", 1)[0] == 0
    capsys.readouterr()
    assert cli.main(["eval", "compare", str(a), str(b)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"A: {a}") and "B - A" in text and "right -> wrong:" in text
    assert cli.main(["eval", "compare", str(a), str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_server_unreachable_is_one_clear_error(tmp_path, battery_file, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert cli.main(["eval", str(battery_file), "--server", f"http://127.0.0.1:{port}/",
                     "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("warning: ") and len(err) == 2  # the malformed line, then the error
    assert err[1].startswith("error: cannot reach the app at http://127.0.0.1:") and "Traceback" not in err[1]
