"""report.html: one self-contained page per battery run (inline CSS and SVG, no scripts,
no external URLs), so it opens offline and can be mailed or archived with the run.

Sections: headline metrics, plots (hit@k for k = 1..10, latency distribution, answer match
by evidence bucket, refusal-threshold sweep), the failures with question, answer, reference
and retrieved sources, the configuration and the malformed battery lines.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Sequence

from . import refusal_curve
from . import run_stats as rs
from .svg_plots import bar_chart, line_chart

MAX_ROWS = 100
"""Failures shown per kind; the rest are in results.jsonl."""

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;background:#f9fafb;margin:0}
main{max-width:1240px;margin:0 auto;padding:20px 28px 60px}
h1{font-size:24px;margin:4px 0}h2{font-size:18px;margin:30px 0 10px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.sub{color:#4b5563}.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:14px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:120px}
.card .v{font-size:22px;font-weight:650}.card.small{min-width:96px;padding:6px 12px}.card.small .v{font-size:16px}.card .n{color:#4b5563;font-size:12px}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(600px,1fr));gap:14px}
figure{background:#fff;border:1px solid #e5e7eb;border-radius:8px;margin:0;padding:8px}
figcaption{color:#4b5563;font-size:12px;padding:4px 6px}
svg{max-width:100%;height:auto}
table{border-collapse:collapse;background:#fff;width:100%;font-size:13px}
th,td{border:1px solid #e5e7eb;padding:5px 7px;text-align:left;vertical-align:top}
th{background:#f3f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
details{margin:8px 0;background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:6px 10px}
summary{cursor:pointer;font-weight:600}.gold{font-weight:700;color:#15803d}
table.fail{table-layout:fixed}.src{overflow-wrap:anywhere}.id{font-family:ui-monospace,monospace;font-size:12px;overflow-wrap:anywhere}
table.sweep{max-width:760px}
.empty{color:#6b7280;font-style:italic}code{font-family:ui-monospace,monospace;font-size:12px}
"""


def _num(value, name: str = "") -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name.endswith("_ms") and isinstance(value, (int, float)) and value >= 1000:
        return f"{value / 1000:.1f} s"
    if name.endswith("_ms") and isinstance(value, (int, float)):
        return f"{value:.0f} ms"
    if isinstance(value, float) and value.is_integer() and (name.startswith("n_") or "words" in name):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"
    return escape(str(value))


HEADLINE = ("answer_match", "answer_f1", "short_em", "short_f1", "hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "citation_valid",
            "refusal_accuracy", "false_refusal")
"""Quality metrics shown large, in this order; the rest (latency, counts) in a smaller row."""


def _headline(report: dict) -> str:
    metrics = {k: v for k, v in (report.get("metrics") or {}).items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    main = [k for k in HEADLINE if k in metrics] + [k for k in metrics if k.startswith("hit@") and k not in HEADLINE]
    rest = [k for k in metrics if k not in main]

    def card(name, value, small=False):
        return (f'<div class="card{" small" if small else ""}"><div class="v">{_num(value, name)}</div>'
                f'<div class="n">{escape(name)}</div></div>')

    return ('<div class="cards">' + card("questions", report.get("n", 0))
            + "".join(card(k, metrics[k]) for k in main) + "</div>"
            + '<div class="cards">' + "".join(card(k, metrics[k], True) for k in rest) + "</div>")


def _plots(report: dict, results: Sequence[dict]) -> str:
    figures = []
    curve = rs.hit_curve(results)
    if any(v is not None for v in curve):
        figures.append((bar_chart([str(k) for k in range(1, 11)], curve, title="hit@k: gold document in the top k",
                                  y_label="share of questions", x_label="k", y_max=1.0),
                        "Share of questions with gold documents whose gold document is among the first k "
                        "retrieved passages."))
    latencies = [v for v in (rs.latency_ms(r) for r in results) if v is not None]
    if latencies:
        seconds = max(latencies) >= 2000
        values = [v / 1000 for v in latencies] if seconds else latencies
        unit = "s" if seconds else "ms"
        edges, counts = rs.histogram(values)
        labels = [f"{edges[i]:.2f}" if seconds else f"{edges[i]:.0f}" for i in range(len(counts))]
        figures.append((bar_chart(labels, counts, title=f"Latency per question ({unit})",
                                  y_label="questions", x_label=f"total time per question, bin start ({unit})",
                                  value_format="{:.0f}"),
                        f"{len(latencies)} questions; per-question wall time as measured by the answer path."))
    buckets = rs.evidence_buckets(results)
    if buckets:
        figures.append((bar_chart([f"{b['lo']:.2f}–{b['hi']:.2f}" for b in buckets],
                                  [b["answer_match"] for b in buckets],
                                  title="Answer match by evidence (refusal score) bucket",
                                  y_label="answer match", x_label="evidence score range", y_max=1.0,
                                  notes=[f"n={b['n']}" for b in buckets]),
                        "Answerable questions split into buckets of equal size by the retrieval evidence "
                        "the refusal decision uses. Refused answers count as no match."))
    sweep = rs.threshold_sweep(results)
    if sweep:
        series = {"false refusal": [r["false_refusal"] for r in sweep],
                  "answered correctly": [r["answered_correct"] for r in sweep]}
        if any(r["refusal_accuracy"] is not None for r in sweep):
            series = {"refusal accuracy": [r["refusal_accuracy"] for r in sweep], **series}
        current = (report.get("config") or {}).get("refusal_threshold")
        figures.append((line_chart([r["threshold"] for r in sweep], series, title="Refusal threshold sweep",
                                   y_label="share of questions", x_label="refusal threshold (refuse when evidence < t)",
                                   marker_x=current if isinstance(current, (int, float)) else None,
                                   marker_label=f"current {current}"),
                        "Recomputed from each question's evidence score: refused = evidence < t. Refusal accuracy: "
                        "share of unanswerable questions refused; false refusal: share of answerable ones "
                        "refused; answered correctly: share of answerable ones answered with a reference "
                        "answer (answers this run refused count as wrong)."))
    figures.extend(refusal_curve.figure(report, results))
    if not figures:
        return '<p class="empty">No data to plot.</p>'
    return '<div class="plots">' + "".join(
        f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>" for svg, caption in figures) + "</div>"


def _sweep_table(report: dict, results: Sequence[dict]) -> str:
    sweep = rs.threshold_sweep(results, steps=11)
    if not sweep:
        return ""
    rows = "".join(
        f'<tr><td class="num">{r["threshold"]:.3f}</td>'
        + "".join(f'<td class="num">{"–" if r[key] is None else f"{r[key]:.3f}"}</td>'
                  for key in ("refusal_accuracy", "false_refusal", "answered_correct")) + "</tr>"
        for r in sweep)
    return ('<table class="sweep"><thead><tr><th>threshold</th><th>refusal accuracy</th><th>false refusal</th>'
            "<th>answered correctly</th></tr></thead><tbody>" + rows + "</tbody></table>")


def _sources(result: dict, k: int) -> str:
    gold = set(result.get("gold") or [])
    items = []
    for i, hit in enumerate((result.get("retrieved") or [])[:k], start=1):
        doc = str(hit.get("doc_id", hit.get("chunk_id", "?")))
        score = hit.get("score")
        cls = ' class="src gold"' if doc in gold else ' class="src"'
        items.append(f"<div{cls}>[{i}] {escape(doc)}"
                     + (f" <small>({score:.3f})</small>" if isinstance(score, (int, float)) else "") + "</div>")
    if gold:
        items.append(f'<div class="src"><small>gold: {escape(", ".join(sorted(gold)))}</small></div>')
    return "".join(items) or '<span class="empty">none</span>'


def _failures(report: dict, results: Sequence[dict]) -> str:
    k = int((report.get("config") or {}).get("k") or 5)
    groups = rs.failures(results, k)
    blocks = []
    for kind, rows in groups.items():
        if not rows:
            continue
        body = []
        for r in rows[:MAX_ROWS]:
            answer = rs.answer_text(r)
            extra = []
            if isinstance(r.get("evidence"), (int, float)):
                extra.append(f"evidence {r['evidence']:.3f}")
            if r.get("error"):
                extra.append(f"error: {r['error']}")
            unsupported = [c for c in (r.get("citations") or []) if isinstance(c, dict) and c.get("supported") is False]
            for c in unsupported:
                extra.append(f"unsupported [{c.get('n', '?')}] {c.get('doc_id', '')}")
            body.append(
                f'<tr><td class="id">{escape(str(r.get("id", "")))}</td>'
                f'<td class="q">{escape(str(r.get("question", "")))}</td>'
                f'<td class="a">{escape(answer) if answer is not None else "<span class=empty>(retrieval only)</span>"}'
                + (f'<div class="sub"><small>{escape("; ".join(extra))}</small></div>' if extra else "")
                + f'</td><td>{escape(" | ".join(rs.references(r))) or "<span class=empty>none</span>"}</td>'
                f"<td>{_sources(r, k)}</td></tr>")
        more = (f'<p class="sub">{len(rows) - MAX_ROWS} more in results.jsonl.</p>'
                if len(rows) > MAX_ROWS else "")
        blocks.append(f"<details{' open' if not blocks else ''}><summary>{escape(kind)}: {len(rows)}</summary>"
                      '<table class="fail"><colgroup><col style="width:13%"><col style="width:22%">'
                      '<col style="width:29%"><col style="width:14%"><col style="width:22%"></colgroup>'
                      "<thead><tr><th>id</th><th>question</th><th>answer</th><th>reference</th>"
                      "<th>retrieved sources</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
                      + more + "</details>")
    return "".join(blocks) or '<p class="empty">No failures.</p>'


def _flatten(prefix: str, value, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), sub, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, sub in enumerate(value):
            _flatten(f"{prefix}[{i}]", sub, out)
    else:
        out.append((prefix, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))


def _config(report: dict) -> str:
    rows: list[tuple[str, str]] = []
    for section in ("config", "battery", "corpus", "run"):
        if section in report:
            _flatten(section, {k: v for k, v in report[section].items() if k != "errors"}
                     if isinstance(report[section], dict) else report[section], rows)
    return "<table><tbody>" + "".join(f"<tr><th>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>"
                                      for k, v in rows) + "</tbody></table>"


def _malformed(report: dict) -> str:
    battery = report.get("battery") or {}
    errors = battery.get("errors") or []
    if not errors:
        return ""
    items = "".join(f"<li><code>{escape(str(e))}</code></li>" for e in errors[:MAX_ROWS])
    return (f"<h2>Malformed battery lines ({battery.get('malformed_lines', len(errors))}, skipped)</h2>"
            f"<ul>{items}</ul>")


def render(report: dict, results: Sequence[dict], title: str = "Battery report") -> str:
    cfg = report.get("config") or {}
    subtitle = " · ".join(escape(str(x)) for x in (
        report.get("started") or (report.get("run") or {}).get("started"),
        cfg.get("llm") or ("retrieval only" if cfg.get("retrieval_only") else None),
        f"k={cfg['k']}" if "k" in cfg else None, cfg.get("mode")) if x)
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{escape(title)}</h1><div class='sub'>{subtitle}</div>",
        _headline(report),
        "<h2>Plots</h2>", _plots(report, results),
        "<h2>Refusal threshold</h2>",
        "<p class='sub'>Pick the refusal threshold from data: each row recomputes, for every question, "
        "refused = evidence &lt; threshold.</p>", _sweep_table(report, results),
        "<h2>Failures</h2>", _failures(report, results),
        "<h2>Configuration</h2>", _config(report),
        _malformed(report),
        "</main></body></html>"])


def write_html(report: dict, results: Sequence[dict], out_dir: Path) -> Path:
    path = Path(out_dir) / "report.html"
    path.write_text(render(report, results), encoding="utf-8")
    return path
