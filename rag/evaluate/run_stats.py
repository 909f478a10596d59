"""Figures derived from a run's per-question results: the data behind report.html.

Everything here reads the ``results.jsonl`` records (plain dicts) and returns plain data:
the hit@k curve, latencies, answer match by evidence bucket, the refusal-threshold sweep
and the failures. Records from retrieval-only runs (no answer) are handled too.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from . import metrics

FAILURE_KINDS = ("wrong answer", "missed gold", "false refusal", "missed refusal",
                 "unsupported citation", "error")


# ------------------------------------------------------------------ field access
def m(result: dict) -> dict:
    return result.get("metrics") or {}


def answer_text(result: dict) -> str | None:
    answer = result.get("answer")
    if isinstance(answer, dict):
        answer = answer.get("text")
    return answer if isinstance(answer, str) else None


def references(result: dict) -> list[str]:
    refs = result.get("answers", result.get("references", []))
    return [str(r) for r in refs] if isinstance(refs, list) else []


def expects_refusal(result: dict) -> bool:
    return bool(result.get("expect_refusal")) or "refusal_correct" in m(result)


def is_answered_run(results: Sequence[dict]) -> bool:
    return any(answer_text(r) is not None for r in results)


def latency_ms(result: dict) -> float | None:
    timings = result.get("timings") or {}
    for key in ("total", "answer", "retrieval"):
        if isinstance(timings.get(key), (int, float)):
            return float(timings[key])
    return None


def correct(result: dict) -> bool | None:
    """Right or wrong for this question: refusal when one is expected, else answer match,
    else (retrieval-only) gold hit at k. None when the question can't be scored."""
    mm = m(result)
    if expects_refusal(result):
        if "refusal_correct" in mm:
            return mm["refusal_correct"] >= 1.0
        return bool(result.get("refused")) if "refused" in result else None
    if "answer_match" in mm and mm["answer_match"] is not None:
        return mm["answer_match"] >= 1.0 and not result.get("refused")
    hit_keys = sorted((k for k in mm if k.startswith("hit@") and k != "hit@1"), key=lambda k: int(k[4:]))
    if hit_keys:
        return mm[hit_keys[0]] >= 1.0
    return None


# ------------------------------------------------------------------ curves
def hit_curve(results: Iterable[dict], max_k: int = 10) -> list[float | None]:
    """hit@k for k = 1..max_k over the questions with gold documents.

    Uses ``gold_rank@10`` (answer runs: the gold document placed 10 deep) when present, else
    ``gold_rank`` within the retrieved list; k beyond what was retrieved is None (unknown)."""
    results = list(results)
    ranks, depth = [], max_k
    for r in results:
        mm = m(r)
        if "gold_rank@10" in mm:
            ranks.append(mm["gold_rank@10"])
        elif "gold_rank" in mm:
            ranks.append(mm["gold_rank"])
            retrieved = r.get("retrieved")
            if isinstance(retrieved, list) and len(retrieved) < max_k:
                depth = min(depth, len(retrieved)) if retrieved else depth
    if not ranks:
        return [None] * max_k
    return [sum(metrics.hit_at(rank, k) for rank in ranks) / len(ranks) if k <= depth else None
            for k in range(1, max_k + 1)]


def histogram(values: Sequence[float], bins: int = 12) -> tuple[list[float], list[int]]:
    """Equal-width bins over [min, max]: (edges (bins+1), counts)."""
    if not values:
        return [], []
    lo, hi = min(values), max(values)
    if hi == lo:
        return [lo, hi], [len(values)]
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    return [lo + width * i for i in range(bins + 1)], counts


def evidence_buckets(results: Sequence[dict], buckets: int = 6) -> list[dict]:
    """Answer match by evidence score, in buckets of (nearly) equal question counts.

    Only answerable questions with reference answers count. Each bucket:
    ``{"lo", "hi", "n", "answer_match", "refused"}``."""
    rows = sorted((float(r["evidence"]), m(r)["answer_match"], bool(r.get("refused")))
                  for r in results
                  if isinstance(r.get("evidence"), (int, float)) and m(r).get("answer_match") is not None
                  and not expects_refusal(r))
    if not rows:
        return []
    buckets = max(1, min(buckets, len(rows) // 5 or 1))
    out = []
    for b in range(buckets):
        part = rows[len(rows) * b // buckets: len(rows) * (b + 1) // buckets]
        if not part:
            continue
        out.append({"lo": part[0][0], "hi": part[-1][0], "n": len(part),
                    "answer_match": sum(x[1] for x in part) / len(part),
                    "refused": sum(x[2] for x in part) / len(part)})
    return out


def threshold_sweep(results: Sequence[dict], steps: int = 41) -> list[dict]:
    """What refusing below threshold t would give, recomputed from each question's evidence.

    Per t: ``refusal_accuracy`` (share of expect-refusal questions refused; None if the battery
    has none), ``false_refusal`` (share of answerable questions refused) and ``answered_correct``
    (share of answerable questions answered and matching a reference; an answer this run
    refused counts as wrong, since its text is unknown)."""
    scored = [r for r in results if isinstance(r.get("evidence"), (int, float))]
    if not scored:
        return []
    values = [float(r["evidence"]) for r in scored]
    lo, hi = min(values + [0.0]), max(values)
    hi = hi + (hi - lo) / (steps - 1) if hi > lo else lo + 1.0
    unanswerable = [r for r in scored if expects_refusal(r)]
    answerable = [r for r in scored if not expects_refusal(r)]
    out = []
    for i in range(steps):
        t = lo + (hi - lo) * i / (steps - 1)
        row = {"threshold": t,
               "refusal_accuracy": (sum(r["evidence"] < t for r in unanswerable) / len(unanswerable)
                                    if unanswerable else None),
               "false_refusal": (sum(r["evidence"] < t for r in answerable) / len(answerable)
                                 if answerable else None)}
        with_refs = [r for r in answerable if m(r).get("answer_match") is not None]
        row["answered_correct"] = (sum(1 for r in with_refs if r["evidence"] >= t and not r.get("refused")
                                       and m(r)["answer_match"] >= 1.0) / len(with_refs)
                                   if with_refs else None)
        out.append(row)
    return out


# ------------------------------------------------------------------ failures
def failure_kinds(result: dict, k: int) -> list[str]:
    mm = m(result)
    kinds = []
    if result.get("error") and not isinstance(result.get("error"), bool):
        kinds.append("error")
    refused = bool(result.get("refused"))
    if expects_refusal(result):
        if "refused" in result and not refused:
            kinds.append("missed refusal")
    else:
        if refused:
            kinds.append("false refusal")
        elif mm.get("answer_match") is not None and mm["answer_match"] < 1.0:
            kinds.append("wrong answer")
    rank = mm.get("gold_rank", "absent")
    if rank != "absent" and (rank is None or rank > k):
        kinds.append("missed gold")
    cites = result.get("citations") or []
    if any(isinstance(c, dict) and c.get("supported") is False for c in cites) \
            or (mm.get("citation_valid") is not None and mm["citation_valid"] < 1.0):
        kinds.append("unsupported citation")
    return kinds


def failures(results: Sequence[dict], k: int) -> dict[str, list[dict]]:
    """Questions grouped by failure kind (a question can fail in several ways)."""
    out: dict[str, list[dict]] = {kind: [] for kind in FAILURE_KINDS}
    for r in results:
        for kind in failure_kinds(r, k):
            out[kind].append(r)
    return out
