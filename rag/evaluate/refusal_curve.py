"""The refusal curve: refusal accuracy against false refusal as the answerability threshold
moves (the ROC-style trade-off of :mod:`rag.answer.answerability`), recomputed from each
result's recorded P(answerable), with the run's own threshold marked."""

from __future__ import annotations

from typing import Sequence

from . import run_stats as rs
from .svg_plots import line_chart


def curve(results: Sequence[dict], steps: int = 51, thresholds: Sequence[float] | None = None) -> list[dict]:
    """Per threshold t: refused = P(answerable) < t, or refused before the model was consulted
    (the off-topic floor: no answerability recorded) at every t. Empty unless the battery has
    both kinds of question and the run recorded answerability."""
    rows = [(r.get("answerability"), rs.expects_refusal(r)) for r in results
            if rs.m(r).get("answer_match") is not None or rs.expects_refusal(r)]
    unanswerable = [p for p, e in rows if e]
    answerable = [p for p, e in rows if not e]
    if not unanswerable or not answerable or all(p is None for p, _ in rows):
        return []

    def refused_at(p, t):
        return p is None or p < t

    return [{"threshold": t,
             "refusal_accuracy": sum(refused_at(p, t) for p in unanswerable) / len(unanswerable),
             "false_refusal": sum(refused_at(p, t) for p in answerable) / len(answerable)}
            for t in (thresholds if thresholds is not None else [i / (steps - 1) for i in range(steps)])]


def figure(report: dict, results: Sequence[dict]) -> list[tuple[str, str]]:
    """[(svg, caption)] of the curve, or [] when the run can't draw one."""
    points = curve(results)
    if not points:
        return []
    chosen = (report.get("config") or {}).get("answerability_threshold")
    at = curve(results, thresholds=[chosen])[0] if isinstance(chosen, (int, float)) else None
    svg = line_chart([p["false_refusal"] for p in points],
                     {"refusal accuracy": [p["refusal_accuracy"] for p in points]},
                     title="Refusal accuracy against false refusal (answerability threshold)",
                     y_label="unanswerable refused", x_label="false refusal (answerable refused)",
                     marker_x=at["false_refusal"] if at else None,
                     marker_label=(f"threshold {chosen:.3f}: refusal {at['refusal_accuracy']:.2f}, "
                                   f"false refusal {at['false_refusal']:.2f}") if at else "")
    return [(svg, "Each point is a threshold t from 0 to 1: refused = P(answerable) < t (questions the "
                  "off-topic floor refused stay refused). The dashed line is this run's threshold; "
                  "report.json records it as config.answerability_threshold.")]
