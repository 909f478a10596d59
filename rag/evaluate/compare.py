"""``python -m rag eval compare RUN_A RUN_B``: did a change help?

Reads two run directories (``report.json`` + ``results.jsonl``), and reports the metric
deltas (B minus A) and the questions, matched by id, that flipped from right to wrong and
from wrong to right. "Right" is the per-question verdict of :func:`run_stats.correct`:
the expected refusal for unanswerable questions, answer match otherwise, gold hit at k for
retrieval-only runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .run_stats import correct


@dataclass
class Run:
    path: Path
    report: dict
    results: list[dict]


@dataclass
class Comparison:
    a: Run
    b: Run
    deltas: list[tuple[str, float | None, float | None, float | None]] = field(default_factory=list)
    """(metric, A, B, B - A) for every metric either run has."""
    right_to_wrong: list[dict] = field(default_factory=list)
    wrong_to_right: list[dict] = field(default_factory=list)
    common: int = 0
    only_a: int = 0
    only_b: int = 0


def load_run(path: Path | str) -> Run:
    path = Path(path)
    report_path, results_path = path / "report.json", path / "results.jsonl"
    if not report_path.is_file() or not results_path.is_file():
        raise InputError(f"{path} is not a run directory (needs report.json and results.jsonl)")
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{report_path}: not valid JSON ({exc})") from None
    results = []
    for lineno, line in enumerate(results_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            results.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(f"{results_path}:{lineno}: not valid JSON ({exc.msg})") from None
    return Run(path, report, results)


def _numeric(report: dict) -> dict[str, float]:
    return {k: float(v) for k, v in (report.get("metrics") or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def compare(a: Run, b: Run) -> Comparison:
    out = Comparison(a, b)
    ma, mb = _numeric(a.report), _numeric(b.report)
    for name in list(ma) + [n for n in mb if n not in ma]:
        va, vb = ma.get(name), mb.get(name)
        out.deltas.append((name, va, vb, vb - va if va is not None and vb is not None else None))
    by_id_a = {str(r.get("id")): r for r in a.results}
    by_id_b = {str(r.get("id")): r for r in b.results}
    out.only_a = len(set(by_id_a) - set(by_id_b))
    out.only_b = len(set(by_id_b) - set(by_id_a))
    for qid, ra in by_id_a.items():
        rb = by_id_b.get(qid)
        if rb is None:
            continue
        out.common += 1
        ca, cb = correct(ra), correct(rb)
        if ca is True and cb is False:
            out.right_to_wrong.append(rb)
        elif ca is False and cb is True:
            out.wrong_to_right.append(rb)
    return out


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def format_comparison(c: Comparison, max_listed: int = 50) -> str:
    lines = [f"A: {c.a.path}  ({c.a.report.get('n', len(c.a.results))} questions)",
             f"B: {c.b.path}  ({c.b.report.get('n', len(c.b.results))} questions)"]
    if c.a.report.get("battery", {}).get("sha256") != c.b.report.get("battery", {}).get("sha256"):
        lines.append("note: the two runs used different batteries; flips are over the common ids")
    lines.append("")
    width = max([len(d[0]) for d in c.deltas] + [6])
    lines.append(f"{'metric':{width}s}  {'A':>10s}  {'B':>10s}  {'B - A':>10s}")
    for name, va, vb, delta in c.deltas:
        lines.append(f"{name:{width}s}  {_fmt(va):>10s}  {_fmt(vb):>10s}  {_fmt(delta, True):>10s}")
    lines.append("")
    lines.append(f"{c.common} questions in both runs"
                 + (f"; {c.only_a} only in A" if c.only_a else "") + (f"; {c.only_b} only in B" if c.only_b else ""))
    for label, rows in (("right -> wrong", c.right_to_wrong), ("wrong -> right", c.wrong_to_right)):
        lines.append(f"{label}: {len(rows)}")
        for r in rows[:max_listed]:
            lines.append(f"  {r.get('id')}  {str(r.get('question', ''))[:90]}")
        if len(rows) > max_listed:
            lines.append(f"  ... {len(rows) - max_listed} more")
    return "\n".join(lines)
