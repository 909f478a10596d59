"""Question batteries: JSON Lines (and CSV) files of questions with optional references.

A line is ``{"id", "question"}`` plus any of ``answers`` (reference answers), ``gold``
(document ids that answer it), ``expect_refusal``, ``history`` (earlier turns) and ``page``
(the PDF page, or list of pages, the answer is printed on).
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..ingest import clean_text
from ..errors import InputError


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...] = ()
    gold: tuple[str, ...] = ()
    expect_refusal: bool = False
    history: tuple[dict, ...] = ()
    pages: tuple[int, ...] = ()
    """For PDFs: the page(s) the answer is printed on (``"page"``: a number or a list)."""
    source: str = ""
    """file:line it came from."""


@dataclass
class Battery:
    questions: list[Question] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """One line per malformed input line: ``file:line: reason``."""
    sha256: str = ""


def _str_list(value, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise ValueError(f'"{name}" must be a list of strings')
    return tuple(str(v) for v in value)


def _history(value) -> tuple[dict, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError('"history" must be a list of {"role", "content"} objects')
    turns = []
    for turn in value:
        if not isinstance(turn, dict) or turn.get("role") not in {"user", "assistant", "system"} \
                or not isinstance(turn.get("content"), str):
            raise ValueError('"history" entries need "role" (user|assistant) and string "content"')
        turns.append({"role": turn["role"], "content": turn["content"]})
    return tuple(turns)


def _pages(value) -> tuple[int, ...]:
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
        raise ValueError('"page" must be a page number (1, 2, ...) or a list of them')
    return tuple(values)


def question_from_record(record, where: str, fallback_id: str) -> Question:
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    text = record.get("question")
    if isinstance(text, str):
        text = clean_text(text)  # control characters and lone surrogates out
    if not isinstance(text, str) or not text.strip():
        raise ValueError('missing or empty "question"')
    qid = record.get("id", fallback_id)
    if not isinstance(qid, (str, int)) or str(qid) == "":
        raise ValueError('"id" must be a non-empty string')
    refusal = record.get("expect_refusal", False)
    if not isinstance(refusal, bool):
        raise ValueError('"expect_refusal" must be true or false')
    return Question(id=str(qid), question=text.strip(), answers=_str_list(record.get("answers"), "answers"),
                    gold=_str_list(record.get("gold"), "gold"), expect_refusal=refusal,
                    history=_history(record.get("history")), pages=_pages(record.get("page")), source=where)


def _parse_jsonl(path: Path, data: bytes, battery: Battery) -> None:
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            record = json.loads(raw.decode("utf-8"))
            battery.questions.append(question_from_record(record, where, f"{path.stem}-{lineno}"))
        except json.JSONDecodeError as exc:
            battery.errors.append(f"{where}: invalid JSON ({exc.msg})")
        except UnicodeDecodeError:
            battery.errors.append(f"{where}: not UTF-8")
        except RecursionError:
            battery.errors.append(f"{where}: invalid JSON (nested too deeply)")
        except ValueError as exc:
            battery.errors.append(f"{where}: {exc}")


def _parse_csv(path: Path, data: bytes, battery: Battery) -> None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    # The default field limit (128 KiB) raises on a long cell; the file size bounds it anyway.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "question" not in reader.fieldnames:
        raise InputError(f"{path}: a CSV battery needs a 'question' column")
    for row in reader:
        lineno = reader.line_num
        where = f"{path}:{lineno}"
        try:
            if None in row:
                raise ValueError("more fields than the header has")

            def split(name):
                value = (row.get(name) or "").strip()
                return [v.strip() for v in value.split("|") if v.strip()] if value else None

            refusal = (row.get("expect_refusal") or "").strip().lower()
            if refusal not in {"", "true", "false", "1", "0", "yes", "no"}:
                raise ValueError('"expect_refusal" must be true or false')
            record = {"question": row.get("question") or "", "answers": split("answers"),
                      "gold": split("gold"), "expect_refusal": refusal in {"true", "1", "yes"}}
            if split("page"):
                if not all(v.isdigit() for v in split("page")):
                    raise ValueError('"page" must be a page number (1, 2, ...) or a list of them')
                record["page"] = [int(v) for v in split("page")]
            if (row.get("id") or "").strip():
                record["id"] = row["id"].strip()
            battery.questions.append(question_from_record(record, where, f"{path.stem}-{lineno}"))
        except ValueError as exc:
            battery.errors.append(f"{where}: {exc}")


def load_battery(paths: list[Path | str], strict: bool = False) -> Battery:
    """Parse battery files. Malformed lines are collected (or fatal with ``strict``)."""
    battery = Battery()
    digest = hashlib.sha256()
    for raw in paths:
        path = Path(raw)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read battery {path}: {exc.strerror or exc}") from None
        digest.update(data)
        if path.suffix.lower() == ".csv":
            _parse_csv(path, data, battery)
        else:
            _parse_jsonl(path, data, battery)
    battery.sha256 = digest.hexdigest()
    if strict and battery.errors:
        raise InputError(f"{len(battery.errors)} malformed battery line(s); first: {battery.errors[0]}")
    seen: set[str] = set()
    for q in battery.questions:
        if q.id in seen:
            battery.errors.append(f"{q.source}: duplicate id {q.id!r}")
        seen.add(q.id)
    if not battery.questions:
        raise InputError("the battery has no valid questions"
                         + (f" ({len(battery.errors)} malformed; first: {battery.errors[0]})" if battery.errors else ""))
    return battery


def select(questions: list[Question], sample: int | None = None, seed: int = 0,
           limit: int | None = None) -> list[Question]:
    """A fixed random sample of ``sample`` questions (same seed, same questions, kept in
    battery order), then the first ``limit`` of them."""
    import random

    if sample is not None and sample < len(questions):
        keep = set(random.Random(seed).sample(range(len(questions)), sample))
        questions = [q for i, q in enumerate(questions) if i in keep]
    if limit is not None:
        questions = questions[:limit]
    return questions
