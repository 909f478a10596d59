"""The quality gate: ``--fail-under METRIC=VALUE`` (repeatable) for CI pipelines.

A run fails the gate when any named metric is below its minimum, or missing from the
report (a gate on a metric the run can't compute must not pass silently). Metrics where
lower is better (false refusal, latency, errors) are gated with ``--fail-over``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError, RagError


class GateFailedError(RagError):
    """One or more metrics crossed their ``--fail-under``/``--fail-over`` limits."""

    exit_code = 3


@dataclass(frozen=True)
class Limit:
    metric: str
    value: float
    lower_is_better: bool = False

    def __str__(self) -> str:
        return f"{self.metric}{'<=' if self.lower_is_better else '>='}{self.value:g}"


def parse_limit(spec: str, lower_is_better: bool = False) -> Limit:
    """``"answer_match=0.3"`` -> Limit; bad specs raise InputError (exit 2)."""
    flag = "--fail-over" if lower_is_better else "--fail-under"
    name, sep, raw = spec.partition("=")
    name = name.strip()
    if not sep or not name:
        raise InputError(f"{flag} needs METRIC=VALUE, not {spec!r}")
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{flag} {spec!r}: {raw!r} is not a number") from None
    return Limit(name, value, lower_is_better)


def check(metrics: dict, limits: list[Limit]) -> list[str]:
    """One line per failing limit (empty when the gate passes)."""
    failures = []
    for limit in limits:
        value = metrics.get(limit.metric)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            known = ", ".join(sorted(k for k, v in metrics.items() if isinstance(v, (int, float))))
            failures.append(f"{limit.metric} is not in this run's metrics (has: {known})")
        elif (value > limit.value) if limit.lower_is_better else (value < limit.value):
            word = "above" if limit.lower_is_better else "below"
            failures.append(f"{limit.metric} = {value:.4g} is {word} the limit {limit.value:g}")
    return failures


def enforce(metrics: dict, limits: list[Limit]) -> None:
    failures = check(metrics, limits)
    if failures:
        raise GateFailedError("quality gate failed: " + "; ".join(failures))
