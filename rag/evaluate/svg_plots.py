"""Tiny inline-SVG charts for the battery report: bars and lines, no external assets.

Every label goes through :func:`html.escape`; the output is a ``<svg>`` element string
that can be pasted into any HTML page and renders offline.
"""

from __future__ import annotations

from html import escape
from typing import Sequence

WIDTH, HEIGHT = 600, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 48, 58
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea")


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}".rstrip("0").rstrip(".")
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _frame(title: str, y_max: float, y_label: str, x_label: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'font-family="system-ui, sans-serif" font-size="12">',
             f'<title>{escape(title)}</title>',
             f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">'
             f'{escape(title)}</text>']
    for i in range(5):
        value = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#e5e7eb"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#374151">'
                     f'{_fmt(value)}</text>')
    parts.append(f'<text x="14" y="{TOP + plot_h / 2}" text-anchor="middle" fill="#374151" '
                 f'transform="rotate(-90 14 {TOP + plot_h / 2})">{escape(y_label)}</text>')
    parts.append(f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{HEIGHT - 8}" text-anchor="middle" '
                 f'fill="#374151">{escape(x_label)}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
                 f'stroke="#6b7280"/>')
    return parts


def _nice_max(values: Sequence[float], y_max: float | None) -> float:
    if y_max is not None:
        return y_max
    top = max((v for v in values if v is not None), default=0.0)
    if top <= 0:
        return 1.0
    for step in (1, 2, 2.5, 5, 10):
        magnitude = 10 ** len(str(int(top))) / 10 if top >= 1 else 0.1
        candidate = step * magnitude
        if candidate >= top:
            return candidate
    return top


def bar_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str,
              y_label: str = "", x_label: str = "", y_max: float | None = None,
              notes: Sequence[str] | None = None, value_format: str = "{:.2f}") -> str:
    """Vertical bars; ``None`` values leave a gap. ``notes`` go under each label (e.g. n=12)."""
    y_top = _nice_max([v or 0.0 for v in values], y_max)
    parts = _frame(title, y_top, y_label, x_label)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(values), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.7, 1.0)
    for i, (label, value) in enumerate(zip(labels, values)):
        x = LEFT + slot * i + (slot - bar_w) / 2
        cx = LEFT + slot * i + slot / 2
        if value is not None:
            h = plot_h * min(value / y_top, 1.0) if y_top else 0
            y = TOP + plot_h - h
            tip = f"{label}: {value_format.format(value)}" + (f" ({notes[i]})" if notes else "")
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[0]}"><title>{escape(tip)}</title></rect>')
            if n <= 12:
                parts.append(f'<text x="{cx:.1f}" y="{y - 4:.1f}" text-anchor="middle" fill="#111827">'
                             f'{escape(value_format.format(value))}</text>')
        if n <= 12 or i % max(n // 10, 1) == 0:
            parts.append(f'<text x="{cx:.1f}" y="{TOP + plot_h + 15}" text-anchor="middle" '
                         f'fill="#374151" font-size="11">{escape(str(label))}</text>')
        if notes and n <= 12:
            parts.append(f'<text x="{cx:.1f}" y="{TOP + plot_h + 29}" text-anchor="middle" '
                         f'fill="#6b7280" font-size="10">{escape(notes[i])}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def line_chart(xs: Sequence[float], series: dict[str, Sequence[float | None]], *, title: str,
               y_label: str = "", x_label: str = "", y_max: float | None = 1.0,
               marker_x: float | None = None, marker_label: str = "") -> str:
    """Lines over a shared x axis, with a legend and an optional vertical marker."""
    all_values = [v for vs in series.values() for v in vs if v is not None]
    y_top = _nice_max(all_values, y_max)
    parts = _frame(title, y_top, y_label, x_label)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    lo, hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    span = (hi - lo) or 1.0

    def px(x):
        return LEFT + plot_w * (x - lo) / span

    def py(y):
        return TOP + plot_h - plot_h * min(y / y_top, 1.0)

    for i in range(6):
        x = lo + span * i / 5
        parts.append(f'<text x="{px(x):.1f}" y="{TOP + plot_h + 15}" text-anchor="middle" '
                     f'fill="#374151" font-size="11">{_fmt(x)}</text>')
    if marker_x is not None and lo <= marker_x <= hi:
        parts.append(f'<line x1="{px(marker_x):.1f}" x2="{px(marker_x):.1f}" y1="{TOP}" '
                     f'y2="{TOP + plot_h}" stroke="#6b7280" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{px(marker_x) + 4:.1f}" y="{TOP + 12}" fill="#374151" font-size="11">'
                     f'{escape(marker_label)}</text>')
    legend_x = LEFT + 4
    for s, (name, values) in enumerate(series.items()):
        color = PALETTE[s % len(PALETTE)]
        points = [(px(x), py(v)) for x, v in zip(xs, values) if v is not None]
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        lx = legend_x
        legend_x += 28 + 6.3 * len(name)
        parts.append(f'<rect x="{lx}" y="{HEIGHT - 34}" width="12" height="4" fill="{color}"/>')
        parts.append(f'<text x="{lx + 16}" y="{HEIGHT - 29}" fill="#111827" font-size="11">'
                     f'{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
