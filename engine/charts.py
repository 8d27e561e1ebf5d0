"""Small, dependency-free SVG charts for offline reports.

Charts are strings of SVG made from numbers: no network, no JavaScript, no plotting library.
Each chart carries ``role="img"``, a ``<title>`` and a ``<desc>`` so screen readers can
announce it; callers that show charts to people also give the data as a table.
Colours are the Okabe-Ito palette, distinguishable with colour-vision deficiencies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


@dataclass(frozen=True)
class Series:
    """One data series: a line, points, or both."""

    name: str
    x: Sequence[float]
    y: Sequence[float]
    points: bool = False
    line: bool = True
    dashed: bool = False


@dataclass(frozen=True)
class Band:
    """A shaded band between ``lower`` and ``upper`` along ``x`` (e.g. an SE band)."""

    x: Sequence[float]
    lower: Sequence[float]
    upper: Sequence[float]
    colour_of: int = 0


@dataclass(frozen=True)
class Axes:
    """Chart frame: size, labels and data ranges."""

    title: str
    x_label: str
    y_label: str
    description: str = ""
    width: int = 560
    height: int = 320
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    reference_lines: Sequence[tuple[str, float]] = field(default_factory=tuple)
    chart_id: str | None = None
    legend: bool = True


@dataclass(frozen=True)
class Interval:
    """One row of an interval chart: an estimate, its band, and an optional mark (a cut)."""

    label: str
    estimate: float
    low: float
    high: float
    mark: float | None = None


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick positions covering ``[lo, hi]`` (steps of 1, 2 or 5 times a power of 10)."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return [0.0]
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 5, 10) if m * power >= raw), default=10 * power)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = start
    while value <= hi + 1e-9 * step:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    if abs(value) >= 1000 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _open(axes: Axes, width: int, height: int) -> str:
    """The ``<svg>`` element with its accessible name and description.

    With ``axes.chart_id`` the title and description get ids that ``aria-labelledby`` and
    ``aria-describedby`` point to, so screen readers read both; without it the title is the
    ``aria-label``.
    """
    title, desc = escape(axes.title), escape(axes.description or axes.title)
    if axes.chart_id:
        cid = escape(axes.chart_id)
        naming = f'id="{cid}" aria-labelledby="{cid}-title" aria-describedby="{cid}-desc"'
        inner = f'<title id="{cid}-title">{title}</title><desc id="{cid}-desc">{desc}</desc>'
    else:
        naming = f'aria-label="{title}"'
        inner = f"<title>{title}</title><desc>{desc}</desc>"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" {naming} '
        f'font-family="system-ui, sans-serif" font-size="12">{inner}'
    )


def _range(values: list[float], given: tuple[float, float] | None) -> tuple[float, float]:
    if given is not None:
        return given
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return (0.0, 1.0)
    lo, hi = min(finite), max(finite)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    pad = (hi - lo) * 0.05
    return (lo - pad, hi + pad)


def _y_grid(
    y0: float, y1: float, py: Callable[[float], float], left: float, plot_w: float
) -> list[str]:
    """Horizontal grid lines with their labels."""
    lines = []
    for tick in nice_ticks(y0, y1):
        if y0 <= tick <= y1:
            y = py(tick)
            lines.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                'stroke="#e5e5e5"/>'
                f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#333">'
                f"{_fmt(tick)}</text>"
            )
    return lines


def line_chart(axes: Axes, series: Sequence[Series], bands: Sequence[Band] = ()) -> str:
    """Render series (lines and/or points) with optional bands and reference lines."""
    left, right, top, bottom = 58, 16, 34, 46
    width, height = axes.width, axes.height
    plot_w = width - left - right
    plot_h = height - top - bottom
    xs = [float(v) for s in series for v in s.x] + [float(v) for b in bands for v in b.x]
    ys = (
        [float(v) for s in series for v in s.y]
        + [float(v) for b in bands for v in (*b.lower, *b.upper)]
        + [v for _, v in axes.reference_lines]
    )
    x0, x1 = _range(xs, axes.x_range)
    y0, y1 = _range(ys, axes.y_range)

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return top + (1.0 - (y - y0) / (y1 - y0)) * plot_h

    out = [
        _open(axes, width, height),
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{left}" y="20" font-size="14" font-weight="600" fill="#111">'
        f"{escape(axes.title)}</text>",
    ]
    for tick in nice_ticks(x0, x1):
        if x0 <= tick <= x1:
            x = px(tick)
            out.append(
                f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#e5e5e5"/>'
                f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#333">'
                f"{_fmt(tick)}</text>"
            )
    out.extend(_y_grid(y0, y1, py, left, plot_w))
    out.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#555"/>'
    )
    for band in bands:
        colour = PALETTE[band.colour_of % len(PALETTE)]
        upper = " ".join(
            f"{px(x):.1f},{py(y):.1f}" for x, y in zip(band.x, band.upper, strict=True)
        )
        lower = " ".join(
            f"{px(x):.1f},{py(y):.1f}"
            for x, y in reversed(list(zip(band.x, band.lower, strict=True)))
        )
        out.append(f'<polygon points="{upper} {lower}" fill="{colour}" fill-opacity="0.18"/>')
    for label, value in axes.reference_lines:
        if y0 <= value <= y1:
            y = py(value)
            out.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                f'stroke="#111" stroke-dasharray="6 4"/>'
                f'<text x="{left + plot_w - 4}" y="{y - 4:.1f}" text-anchor="end" fill="#111">'
                f"{escape(label)}</text>"
            )
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        pairs = [
            (px(float(x)), py(float(y)))
            for x, y in zip(s.x, s.y, strict=True)
            if math.isfinite(float(x)) and math.isfinite(float(y))
        ]
        if s.line and len(pairs) > 1:
            dash = ' stroke-dasharray="5 3"' if s.dashed else ""
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pairs)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
            )
        if s.points:
            out.extend(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{colour}" fill-opacity="0.7"/>'
                for x, y in pairs
            )
    if len(series) > 1 and axes.legend:
        for i, s in enumerate(series):
            colour = PALETTE[i % len(PALETTE)]
            y = top + 8 + i * 16
            out.append(
                f'<rect x="{left + 8}" y="{y}" width="10" height="10" fill="{colour}"/>'
                f'<text x="{left + 24}" y="{y + 9}" fill="#111">{escape(s.name)}</text>'
            )
    out.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 10}" text-anchor="middle" fill="#111">'
        f"{escape(axes.x_label)}</text>"
        f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" fill="#111">{escape(axes.y_label)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


def bar_chart(axes: Axes, labels: Sequence[str], values: Sequence[float]) -> str:
    """Render vertical bars, one per label."""
    left, right, top, bottom = 58, 16, 34, 62
    width, height = axes.width, axes.height
    plot_w = width - left - right
    plot_h = height - top - bottom
    y0, y1 = axes.y_range or (0.0, max([float(v) for v in values] + [1e-12]) * 1.1)

    def py(y: float) -> float:
        return top + (1.0 - (y - y0) / (y1 - y0)) * plot_h

    n = max(len(values), 1)
    slot = plot_w / n
    out = [
        _open(axes, width, height),
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{left}" y="20" font-size="14" font-weight="600" fill="#111">'
        f"{escape(axes.title)}</text>",
    ]
    out.extend(_y_grid(y0, y1, py, left, plot_w))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot + slot * 0.15
        y = py(float(value))
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{max(top + plot_h - y, 0):.1f}" fill="{PALETTE[0]}"/>'
        )
        if n <= 30:
            out.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                f'fill="#333">{escape(label)}</text>'
            )
    for label, value in axes.reference_lines:
        if y0 <= value <= y1:
            y = py(value)
            out.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                f'stroke="#D55E00" stroke-dasharray="6 4"/>'
                f'<text x="{left + plot_w - 4}" y="{y - 4:.1f}" text-anchor="end" fill="#111">'
                f"{escape(label)}</text>"
            )
    out.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#555"/>'
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 10}" text-anchor="middle" fill="#111">'
        f"{escape(axes.x_label)}</text>"
        f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" fill="#111">{escape(axes.y_label)}</text></svg>'
    )
    return "".join(out)


def interval_chart(
    axes: Axes,
    rows: Sequence[Interval],
    *,
    mark_label: str = "Cut score",
    estimate_label: str = "Estimate",
    band_label: str = "± 1 standard error",
) -> str:
    """Render one horizontal row per interval: a band, a dot at the estimate, a mark.

    Each row is a ``<g class="interval">`` holding its label as text above the band, so long
    names never collide and every row is findable. The x range covers every band and mark
    (or ``axes.x_range``); a legend names the three symbols.
    """
    left, right, top, bottom, row_h = 16, 24, 58, 44, 50
    width = axes.width
    height = top + row_h * max(len(rows), 1) + bottom
    plot_w = width - left - right
    values = [v for r in rows for v in (r.low, r.high, r.estimate)]
    values += [r.mark for r in rows if r.mark is not None]
    x0, x1 = _range(values, axes.x_range)

    def px(x: float) -> float:
        return left + (min(max(x, x0), x1) - x0) / (x1 - x0) * plot_w

    out = [_open(axes, width, height)]
    out.append(
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>'
        f'<text x="{left}" y="20" font-size="14" font-weight="600" fill="#111">'
        f"{escape(axes.title)}</text>"
    )
    legend_y = 40
    out.append(
        f'<circle cx="{left + 6}" cy="{legend_y - 4}" r="5" fill="{PALETTE[0]}"/>'
        f'<text x="{left + 16}" y="{legend_y}" fill="#111">{escape(estimate_label)}</text>'
        f'<rect x="{left + 110}" y="{legend_y - 9}" width="22" height="10" fill="{PALETTE[0]}" '
        'fill-opacity="0.25" stroke="#0072B2"/>'
        f'<text x="{left + 138}" y="{legend_y}" fill="#111">{escape(band_label)}</text>'
        f'<line x1="{left + 290}" y1="{legend_y - 11}" x2="{left + 290}" y2="{legend_y + 2}" '
        'stroke="#111" stroke-width="2" stroke-dasharray="3 2"/>'
        f'<text x="{left + 298}" y="{legend_y}" fill="#111">{escape(mark_label)}</text>'
    )
    axis_y = top + row_h * len(rows)
    for tick in nice_ticks(x0, x1):
        if x0 <= tick <= x1:
            x = px(tick)
            out.append(
                f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="#e5e5e5"/>'
                f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#333">'
                f"{_fmt(tick)}</text>"
            )
    for i, row in enumerate(rows):
        y = top + i * row_h
        band_y = y + 22
        lo, hi, mid = px(row.low), px(row.high), px(row.estimate)
        parts = [
            f'<g class="interval" data-label="{escape(row.label)}">',
            f'<text class="label" x="{left}" y="{y + 14}" fill="#111">{escape(row.label)}</text>',
            f'<rect x="{lo:.1f}" y="{band_y}" width="{max(hi - lo, 1.0):.1f}" height="14" '
            f'fill="{PALETTE[0]}" fill-opacity="0.25" stroke="{PALETTE[0]}"/>',
            f'<circle cx="{mid:.1f}" cy="{band_y + 7}" r="6" fill="{PALETTE[0]}"/>',
        ]
        if row.mark is not None:
            mx = px(row.mark)
            parts.append(
                f'<line class="mark" x1="{mx:.1f}" y1="{band_y - 5}" x2="{mx:.1f}" '
                f'y2="{band_y + 19}" stroke="#111" stroke-width="2" stroke-dasharray="3 2"/>'
            )
        parts.append("</g>")
        out.append("".join(parts))
    out.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#555"/>'
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" fill="#111">'
        f"{escape(axes.x_label)}</text></svg>"
    )
    return "".join(out)
