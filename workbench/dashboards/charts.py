"""Charts as inline SVG: light, fast to send on every filter change, and readable by screen readers
through their title and description. Colours come from :mod:`workbench.dashboards.palette`
(Okabe-Ito hues, each at least 3:1 against the page)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from workbench.dashboards.format import as_number, esc, fmt_count, fmt_pct
from workbench.dashboards.palette import (
    CENTRE,
    LEADER,
    LIMIT_COLOURS,
    OKABE_ITO,
    PAGE,
    POINT,
    SERIES_COLOURS,
)

# --------------------------------------------------------------------------------------------
# SVG charts
# --------------------------------------------------------------------------------------------


def _axis(vmax: float, target: int = 4) -> tuple[float, list[float]]:
    """A round axis maximum at or above ``vmax`` and its ticks (steps of 1, 2, 2.5 or 5 x 10^k)."""
    if not vmax or vmax <= 0 or math.isnan(vmax):
        return 1.0, [0.0, 1.0]
    raw = vmax / target
    exp = 10 ** math.floor(math.log10(raw))
    step = next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= raw)
    top = step * math.ceil(vmax / step - 1e-9)
    return top, [step * i for i in range(int(round(top / step)) + 1)]


def _tick_label(v: float, unit: str) -> str:
    if unit in ("percent", "relative"):  # relative: a percentage of an expected figure (may pass 100)
        return f"{v:.0f}%"
    return f"{v:,.0f}" if v >= 10 or v == int(v) else f"{v:.1f}"


def _svg_open(key: str, filters: str, width: int, height: int, title: str, desc: str) -> str:
    tid, did = f"{key}-t", f"{key}-d"
    return (
        f'<svg class="wb-chart" data-chart="{esc(key)}" data-filters="{esc(filters)}" role="img" elementtiming="chart-{esc(key)}" '
        f'aria-labelledby="{tid} {did}" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" style="max-width:{width}px" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{tid}">{esc(title)}</title><desc id="{did}">{esc(desc)}</desc>'
    )


def _wrap(text: str, width: int = 34) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return lines[:2] if len(lines) <= 2 else [lines[0], " ".join(lines[1:])[: width - 1] + "…"]


def bar_chart(
    key: str,
    filters: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    desc: str,
    unit: str = "count",
    colours: Sequence[str] | None = None,
    marker: str = "[c]",
) -> str:
    """Horizontal bars, one per category; hidden values are labelled, not drawn."""
    width, left, right, row_h, top = 760, 270, 90, 30, 26
    height = top + row_h * len(labels) + 30
    shown = [v for v in values if v is not None]
    vmax, ticks = _axis(100.0 if unit == "percent" and shown and max(shown) > 60 else max(shown, default=0) * 1.05)
    scale = (width - left - right) / vmax
    out = [_svg_open(key, filters, width, height, title, desc)]
    for t in ticks:
        x = left + t * scale
        out.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 24}" class="wb-grid"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 8}" class="wb-axis" text-anchor="middle">{_tick_label(t, unit)}</text>')
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row_h
        lines = _wrap(str(lab))
        for j, line in enumerate(lines):
            dy = 19 + (j - (len(lines) - 1) / 2) * 13
            out.append(f'<text x="{left - 8}" y="{y + dy:.1f}" class="wb-label" text-anchor="end">{esc(line)}</text>')
        colour = (colours or SERIES_COLOURS)[i % len(colours or SERIES_COLOURS)] if colours else OKABE_ITO["blue"]
        if v is None:
            out.append(f'<text x="{left + 4}" y="{y + 19}" class="wb-hidden-label">{esc(marker)} hidden</text>')
            continue
        w = max(v * scale, 0.0)
        text = fmt_pct(v) if unit == "percent" else fmt_count(v)
        out.append(
            f'<rect x="{left}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" fill="{colour}">'
            f"<title>{esc(lab)}: {esc(text)}</title></rect>"
        )
        out.append(f'<text x="{left + w + 5:.1f}" y="{y + 19}" class="wb-value">{esc(text)}</text>')
    out.append("</svg>")
    return "".join(out)


def line_chart(
    key: str,
    filters: str,
    x: Sequence[pd.Timestamp],
    series: dict[str, Sequence[float | None]],
    *,
    title: str,
    desc: str,
    unit: str = "count",
    x_labels: Sequence[str] | None = None,
) -> str:
    """Lines over time, one per series; a hidden point leaves a gap in its line."""
    width, height, left, right, top, bottom = 760, 300, 56, 20, 40, 46
    n = len(x)
    vals = {k: [as_number(v) for v in s] for k, s in series.items()}
    shown = [v for s in vals.values() for v in s if v is not None]
    vmax, ticks = _axis(min(max(shown, default=0) * 1.05, 100.0) if unit == "percent" else max(shown, default=0) * 1.05)
    px = (width - left - right) / max(n - 1, 1)
    py = (height - top - bottom) / vmax

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * px, height - bottom - v * py

    out = [_svg_open(key, filters, width, height, title, desc)]
    for t in ticks:
        y = height - bottom - t * py
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="wb-grid"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="wb-axis" text-anchor="end">{_tick_label(t, unit)}</text>')
    labels = list(x_labels) if x_labels is not None else [f"{pd.Timestamp(m):%b %y}" for m in x]
    step = max(1, math.ceil(n / 12))
    for i in range(0, n, step):
        out.append(f'<text x="{left + i * px:.1f}" y="{height - bottom + 18}" class="wb-axis" text-anchor="middle">{esc(labels[i])}</text>')
    for k, (name, s) in enumerate(vals.items()):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        dash = ' stroke-dasharray="6 4"' if k % 3 == 1 else (' stroke-dasharray="2 3"' if k % 3 == 2 else "")
        seg: list[str] = []
        for i, v in enumerate(s):
            if v is None:
                if len(seg) > 1:
                    out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>')
                seg = []
                continue
            cx, cy = xy(i, v)
            seg.append(f"{cx:.1f},{cy:.1f}")
        if len(seg) > 1:
            out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>')
        for i, v in enumerate(s):
            if v is not None:
                cx, cy = xy(i, v)
                text = fmt_pct(v) if unit == "percent" else fmt_count(v)
                out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{colour}"><title>{esc(name)}, {esc(labels[i])}: {text}</title></circle>')
        lx = left + 8 + k * 230
        out.append(f'<line x1="{lx}" y1="14" x2="{lx + 22}" y2="14" stroke="{colour}" stroke-width="3"{dash}/>')
        out.append(f'<text x="{lx + 28}" y="18" class="wb-label">{esc(name)}</text>')
    if any(v is None for s in vals.values() for v in s):
        out.append(f'<text x="{width - right}" y="{height - 4}" class="wb-axis" text-anchor="end">Gaps are hidden figures</text>')
    out.append("</svg>")
    return "".join(out)


#: At most this many vertices per limit line: every integer denominator when the chart spans
#: fewer, else integers spread evenly (a smooth line at a few kilobytes of SVG).
MAX_LIMIT_VERTICES = 800


def limit_grid(smallest: float, xmax: float, max_vertices: int = MAX_LIMIT_VERTICES) -> np.ndarray:
    """The denominators at which a funnel's limits are drawn: integers only, because exact
    binomial limits exist only for whole numbers of people (at 120.5 they are NaN), from half
    the smallest denominator shown (so the funnel's opening is visible) to the axis maximum."""
    lo = max(1, math.floor(0.5 * smallest))
    hi = max(lo + 1, math.ceil(xmax))
    if hi - lo + 1 <= max_vertices:
        return np.arange(lo, hi + 1, dtype=float)
    return np.unique(np.round(np.linspace(lo, hi, max_vertices)))


def funnel_plot(
    key: str,
    filters: str,
    points: Sequence[tuple[str, float, float]],
    centre: float,
    limits: Callable[[np.ndarray, float], dict[str, tuple[np.ndarray, np.ndarray]]],
    *,
    title: str,
    desc: str,
    x_title: str,
    unit: str = "percent",
    centre_label: str = "County rate",
) -> str:
    """Funnel plot (Spiegelhalter 2005): each area's rate against its denominator, with control
    limits around the county rate; areas inside the funnel differ only by chance."""
    width, height, left, right, top, bottom = 760, 360, 64, 200, 30, 52
    xs = [p[1] for p in points]
    xmax, xticks = _axis(max(xs, default=1) * 1.1)
    grid = limit_grid(min(xs, default=xmax), xmax)
    bands = limits(grid, centre)
    # the y range covers the points and the limits where the districts are (not the funnel's
    # mouth at tiny denominators, which would squash everything)
    near = grid >= 0.5 * min(xs, default=xmax)
    ys = [p[2] for p in points] + [centre]
    for lo, hi in bands.values():
        ys += [float(np.nanmax(hi[near])), float(np.nanmin(lo[near]))]
    ymax, yticks = _axis(min(max(ys) * 1.05, 100.0) if unit == "percent" else max(ys) * 1.05)
    ymin = 0.0
    sx = (width - left - right) / xmax
    sy = (height - top - bottom) / (ymax - ymin)

    def pt(x: float, y: float) -> tuple[float, float]:
        return left + x * sx, height - bottom - (y - ymin) * sy

    out = [_svg_open(key, filters, width, height, title, desc)]
    out.append(f'<defs><clipPath id="{esc(key)}-clip"><rect x="{left}" y="{top}" width="{width - left - right}" '
               f'height="{height - top - bottom}"/></clipPath></defs>')
    for t in yticks:
        y = height - bottom - t * sy
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="wb-grid"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="wb-axis" text-anchor="end">{_tick_label(t, unit)}</text>')
    for t in xticks:
        x = left + t * sx
        out.append(f'<text x="{x:.1f}" y="{height - bottom + 18}" class="wb-axis" text-anchor="middle">{t:,.0f}</text>')
    out.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 10}" class="wb-label" text-anchor="middle">{esc(x_title)}</text>')
    out.append(f'<g clip-path="url(#{esc(key)}-clip)">')
    for name, (lo, hi) in bands.items():
        colour, dash = LIMIT_COLOURS[name], "6 4" if name == "95" else "2 3"
        for side, line in (("lower", lo), ("upper", hi)):
            pts = " ".join("{:.1f},{:.1f}".format(*pt(float(x), float(y)))
                           for x, y in zip(grid, line, strict=True) if not math.isnan(y))
            out.append(f'<polyline data-limit="{name}-{side}" points="{pts}" fill="none" stroke="{colour}" '
                       f'stroke-width="1.5" stroke-dasharray="{dash}"/>')
    (x0, yc), (x1, _) = pt(0, centre), pt(xmax, centre)
    out.append(f'<line x1="{x0:.1f}" y1="{yc:.1f}" x2="{x1:.1f}" y2="{yc:.1f}" stroke="{CENTRE}" stroke-width="1.5"/></g>')
    # labels in the right margin, in the order of the points, spaced so they never overlap
    placed: list[float] = []
    for name, x, y in sorted(points, key=lambda p: -p[2]):
        cx, cy = pt(x, y)
        ly = max(cy + 4, (placed[-1] + 16) if placed else top)
        placed.append(ly)
        text = fmt_pct(y, 1) if unit in ("percent", "relative") else f"{y:,.1f}"
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{POINT}" stroke="{PAGE}"><title>{esc(name)}: {text}</title></circle>')
        lx = width - right + 8
        out.append(f'<line x1="{cx + 7:.1f}" y1="{cy:.1f}" x2="{lx - 3}" y2="{ly - 4:.1f}" stroke="{LEADER}" stroke-width="0.8"/>')
        out.append(f'<text x="{lx}" y="{ly:.1f}" class="wb-label">{esc(name)} ({text})</text>')
    legend = [(centre_label, CENTRE, ""), ("95% limits", LIMIT_COLOURS["95"], "6 4"), ("99.8% limits", LIMIT_COLOURS["99.8"], "2 3")]
    for k, (name, colour, dash) in enumerate(legend):
        lx = left + 8 + k * 170
        out.append(f'<line x1="{lx}" y1="12" x2="{lx + 22}" y2="12" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>')
        out.append(f'<text x="{lx + 28}" y="16" class="wb-label">{name}</text>')
    out.append("</svg>")
    return "".join(out)
