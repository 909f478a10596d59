"""Battery files: fields parsed, malformed lines reported as file:line, fatal cases are input errors."""

from __future__ import annotations

import json

import pytest

from rag.evaluate.battery import load_battery
from rag.errors import InputError


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_fields_and_file_line_errors(tmp_path):
    path = write(tmp_path / "b.jsonl", [
        json.dumps({"id": "q1", "question": " What? ", "answers": ["A", 3], "gold": ["d1"]}),
        "{not json",
        json.dumps({"id": "q2"}),
        json.dumps({"id": "q3", "question": "Why?", "expect_refusal": "yes"}),
        "",
        json.dumps({"question": "Who?", "history": [{"role": "user", "content": "hi"}], "expect_refusal": True}),
        json.dumps({"id": "q5", "question": "How?", "gold": "d1"}),
        json.dumps({"id": "q1", "question": "Duplicate id"}),
    ])
    b = load_battery([path])
    q1, who, dup = b.questions
    assert (q1.id, q1.question, q1.answers, q1.gold, q1.source) == ("q1", "What?", ("A", "3"), ("d1",), f"{path}:1")
    assert who.id == "b-6" and who.expect_refusal and who.history == ({"role": "user", "content": "hi"},)
    assert [e.split(": ", 1)[0] for e in b.errors] == [f"{path}:{n}" for n in (2, 3, 4, 7, 8)]
    assert "invalid JSON" in b.errors[0] and "question" in b.errors[1] and "duplicate" in b.errors[4]
    assert len(b.sha256) == 64


def test_strict_makes_malformed_lines_fatal(tmp_path):
    path = write(tmp_path / "b.jsonl", [json.dumps({"question": "ok"}), "[1, 2]"])
    with pytest.raises(InputError, match=rf"{path}:2: not a JSON object"):
        load_battery([path], strict=True)


def test_csv_battery(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("id,question,answers,gold\nc1,What?,x|y,d1\nc2,,z,\nc3,Who?,,\n")
    b = load_battery([path])
    assert [(q.id, q.answers, q.gold) for q in b.questions] == [("c1", ("x", "y"), ("d1",)), ("c3", (), ())]
    assert b.errors == [f"{path}:3: missing or empty \"question\""]


@pytest.mark.parametrize("content, needle", [
    (None, "cannot read battery"),
    ("", "no valid questions"),
    ("garbage\n", "no valid questions (1 malformed; first:"),
    (b"\xff\xfe\x00bad\n", "no valid questions"),
])
def test_unusable_battery_is_an_input_error(tmp_path, content, needle):
    path = tmp_path / "b.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as info:
        load_battery([path])
    assert needle in str(info.value)


def test_csv_without_question_column(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("id,text\n1,x\n")
    with pytest.raises(InputError, match="'question' column"):
        load_battery([path])
