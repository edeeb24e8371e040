"""Commissioner dashboards: shared page helpers and the five pages.

Every figure a reader sees comes from :mod:`workbench.aggregates` (precomputed counts, never
records), is filtered to what the reader asked for, and then passes through
:mod:`workbench.presentation.disclosure` *after* filtering, because which cells must be hidden
depends on the margins of the table actually shown. Each chart panel has:

* a headline sentence in plain English, built only from figures shown in the panel's table
  (so a headline can never reveal a hidden cell);
* the chart (inline SVG: light, fast to send on every filter change, readable by screen readers
  through its title and description);
* the same numbers as a table (the accessible alternative), with hidden cells marked;
* a note on definitions;
* downloads of exactly the protected table, as CSV and Excel, with the disclosure footnote.

Pages are built from :class:`Page` (filters + panels) and shown from a one-line notebook with
:func:`show`. A static snapshot of the first view is emitted before the live widgets, so the
first chart appears as soon as the HTML arrives; the live widgets replace it when they connect.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.aggregates import (
    COUNTY,
    COUNTY_LABEL,
    DISTRICT_POPULATION,
    DISTRICTS,
    INSTITUTION_WINDOW_DAYS,
    NEW_LOOKBACK_MONTHS,
    PREVENTION_SUCCESS,
    RELIEF_SUCCESS,
    RETURN_WINDOWS_MONTHS,
    Aggregates,
    Period,
    Quarter,
)
from workbench.presentation.disclosure import (
    DisclosurePolicy,
    ProtectedTable,
    assert_safe,
    protect_counts,
    protect_rate,
)

# --------------------------------------------------------------------------------------------
# Palette, policy and labels
# --------------------------------------------------------------------------------------------

#: Okabe-Ito, the colour-blind-safe palette; yellow last (too light for lines on white).
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "vermillion": "#D55E00",
    "black": "#000000",
    "yellow": "#F0E442",
}
SERIES_COLOURS: tuple[str, ...] = tuple(OKABE_ITO.values())
LIMIT_COLOURS = {"95": "#56B4E9", "99.8": "#0072B2"}

POLICY_ENV = "WORKBENCH_DISCLOSURE_POLICY"

PAGES: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("returns", "Returns to homelessness"),
    ("new_arrivals", "New arrivals on the streets"),
    ("supported_housing", "Supported housing outcomes"),
    ("district_benchmarking", "District benchmarking"),
)


#: Counts on the dashboards are rounded to the nearest 5 unless the policy says otherwise.
#: Why: readers choose districts and periods freely, so the same people fall in many tables;
#: subtracting one table's shown figures from another's (e.g. April-March minus April-December)
#: could otherwise recover a count hidden in a third (January-March). Rounding every shown count
#: makes such differences imprecise; suppression within each table still applies.
DASHBOARD_ROUNDING_BASE = 5


def disclosure_policy() -> DisclosurePolicy:
    """The dashboards' policy: ``$WORKBENCH_DISCLOSURE_POLICY`` (a YAML file) if set, used as is;
    else the ``disclosure`` section of workbench/definitions.yaml (threshold 5 by default) with
    counts rounded to :data:`DASHBOARD_ROUNDING_BASE` unless that section sets its own rounding."""
    path = os.environ.get(POLICY_ENV)
    if path:
        return DisclosurePolicy.from_yaml(path)
    from workbench.definitions import definitions

    settings = dict(definitions().get("disclosure") or {})
    settings.setdefault("rounding_base", DASHBOARD_ROUNDING_BASE)
    return DisclosurePolicy.from_dict(settings)


@cache
def _vocab(name: str) -> dict[str, str]:
    from workbench.contracts import load_contracts

    return dict(load_contracts().vocabularies[name].codes)


def label(vocab: str, code: str) -> str:
    """Plain-English label of a code (the code itself if the vocabulary does not know it)."""
    if vocab in EXTRA_LABELS:
        return EXTRA_LABELS[vocab].get(code, code.replace("_", " ").capitalize())
    return _vocab(vocab).get(code, code.replace("_", " ").capitalize())


def codes(vocab: str) -> list[str]:
    return list(EXTRA_LABELS[vocab]) if vocab in EXTRA_LABELS else list(_vocab(vocab))


def area_label(area: str) -> str:
    return COUNTY_LABEL if area == COUNTY else label("district", area)


def _route_labels() -> dict[str, str]:
    try:
        from workbench.cohorts.rough_sleeping import ROUTE_LABELS, ROUTE_PRIORITY
    except ImportError:
        return {"none": "No earlier contact"}
    return {r: ROUTE_LABELS[r] for r in (*ROUTE_PRIORITY, "none")}


EXTRA_LABELS: dict[str, dict[str, str]] = {
    "chain_status": {
        "new": "New to the streets",
        "stock": "Also seen the month before",
        "returner": "Returned to the streets",
    },
    "age_band": {
        "16_to_17": "16 to 17",
        "18_to_25": "18 to 25",
        "26_to_35": "26 to 35",
        "36_to_45": "36 to 45",
        "46_to_55": "46 to 55",
        "56_and_over": "56 and over",
        "not_known": "Not known",
    },
    "stay_length": {
        "under_3_months": "Under 3 months",
        "3_to_6_months": "3 to 6 months",
        "6_to_12_months": "6 to 12 months",
        "1_to_2_years": "1 to 2 years",
        "over_2_years": "Over 2 years",
        "not_known": "Not known",
    },
    "route": _route_labels(),
    "tenure": {"social_rented": "Social rented", "private_rented": "Private rented", "housing_first": "Housing First"},
    # shorter than the contract's labels, which explain each model; these read well in sentences
    "accommodation_model": {
        "congregate_hostel": "Congregate hostels",
        "shared_house": "Shared supported houses",
        "dispersed": "Dispersed supported flats",
        "housing_first": "Housing First",
        "hospital_step_down": "Hospital step-down beds",
        "women_only": "Women-only services",
        "young_persons": "Young people's services",
        "mental_health": "Mental health services",
    },
}


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def _num(x: object) -> float | None:
    """A shown number, or None if hidden/missing."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def fmt_count(x: object) -> str:
    v = _num(x)
    return "[c]" if v is None else f"{int(round(v)):,}"


def fmt_pct(x: object, digits: int = 0) -> str:
    v = _num(x)
    return "[c]" if v is None else f"{v:.{digits}f}%"


def plural(n: float, one: str, many: str) -> str:
    return one if int(round(n)) == 1 else many


def month_label(m: pd.Timestamp) -> str:
    return f"{pd.Timestamp(m):%B %Y}"


def period_label(period: Period) -> str:
    s, e = pd.Timestamp(period.start), pd.Timestamp(period.end)
    if s == e:
        return month_label(s)
    if s.year == e.year:
        return f"{s:%B} to {e:%B %Y}"
    return f"{s:%B %Y} to {e:%B %Y}"


def _during(period: Period) -> str:
    """'in September 2026' or 'between October 2025 and September 2026'."""
    s, e = pd.Timestamp(period.start), pd.Timestamp(period.end)
    if s == e:
        return f"in {month_label(s)}"
    return f"between {s:%B %Y} and {e:%B %Y}"


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


HIDDEN_PHRASE = "a number we cannot show (to protect privacy)"


# --------------------------------------------------------------------------------------------
# Protection helpers (all suppression is done by the disclosure module)
# --------------------------------------------------------------------------------------------


def crosstab(
    df: pd.DataFrame,
    rows: str,
    cols: str | None,
    *,
    row_order: Sequence[str] | None = None,
    col_order: Sequence[str] | None = None,
    value: str = "n",
    col_name: str = "Count",
) -> pd.DataFrame:
    """Counts by ``rows`` (x ``cols``) with every listed category present (zeros included)."""
    if cols is None:
        out = df.groupby(rows, observed=True)[value].sum().to_frame(col_name)
    else:
        out = df.pivot_table(index=rows, columns=cols, values=value, aggfunc="sum", fill_value=0, observed=True)
    if row_order is not None:
        extra = [r for r in out.index if r not in row_order]
        out = out.reindex(list(row_order) + extra, fill_value=0)
    if col_order is not None and cols is not None:
        extra = [c for c in out.columns if c not in col_order]
        out = out.reindex(columns=list(col_order) + extra, fill_value=0)
    out = out.fillna(0).astype("int64")
    out.columns = [str(c) for c in out.columns]
    out.columns.name = None
    return out


def protect(
    table: pd.DataFrame,
    policy: DisclosurePolicy,
    *,
    row_total: bool = False,
    col_total: bool = False,
    index_name: str = "",
    total_label: str = "Total",
) -> ProtectedTable:
    """Protect a count table (labels already plain English); margins labelled ``total_label``."""
    t = table.copy()
    t.index = pd.Index([str(i) for i in t.index], name=index_name or None)
    return protect_counts(t, policy, row_total=row_total or None, col_total=col_total or None,
                          total_label=total_label)


def with_rates(pt: ProtectedTable, rates: dict[str, tuple[str, str]], *, per: float = 100.0) -> ProtectedTable:
    """Add rate columns (``name -> (numerator column, denominator column)``) computed by
    :func:`protect_rate` from the *protected* counts, so a rate is hidden whenever its count,
    its denominator or the complement is; the result exports like any protected table."""
    values, numeric = pt.values.copy(), pt.numeric.copy()
    mask, primary = pt.mask.copy(), pt.primary_mask.copy()
    for name, (num, den) in rates.items():
        r = protect_rate(pt.numeric[num], pt.numeric[den], pt.policy, per=per, proportion=True)
        rate = r.numeric["rate"].round(1)
        numeric[name] = rate
        values[name] = r.values["rate"].where(r.mask["rate"], rate).astype(object)
        mask[name] = r.mask["rate"]
        primary[name] = r.primary_mask["rate"]
    note = pt.policy.footnote_text(rates=True, summaries=False)
    return dataclasses.replace(pt, values=values, numeric=numeric, mask=mask, primary_mask=primary, footnote=note)


def with_shares(pt: ProtectedTable, column: str, name: str = "Share (%)", total_row: str = "Total") -> ProtectedTable:
    """Add each row's share of the ``total_row`` figure of ``column``, through :func:`protect_rate`."""
    values, numeric = pt.values.copy(), pt.numeric.copy()
    mask, primary = pt.mask.copy(), pt.primary_mask.copy()
    total = pt.numeric.loc[total_row, column]
    r = protect_rate(pt.numeric[column], total, pt.policy, per=100, proportion=True)
    rate = r.numeric["rate"].round(1)
    numeric[name] = rate
    values[name] = r.values["rate"].where(r.mask["rate"], rate).astype(object)
    mask[name], primary[name] = r.mask["rate"], r.primary_mask["rate"]
    note = pt.policy.footnote_text(rates=True, summaries=False)
    return dataclasses.replace(pt, values=values, numeric=numeric, mask=mask, primary_mask=primary, footnote=note)


def cell(pt: ProtectedTable, row: str, col: str) -> float | None:
    """A shown number from a protected table (None if hidden or absent)."""
    if row not in pt.numeric.index or col not in pt.numeric.columns:
        return None
    return _num(pt.numeric.loc[row, col])


def shown_sum(pt: ProtectedTable, rows: Sequence[str], col: str) -> float | None:
    """Sum of shown cells, or None if any of them is hidden (never estimate a hidden cell)."""
    vals = [cell(pt, r, col) for r in rows if r in pt.numeric.index]
    if not vals or any(v is None for v in vals):
        return None
    return float(sum(vals))


def share(num: float | None, den: float | None, policy: DisclosurePolicy) -> float | None:
    """A percentage of two shown figures, through :func:`protect_rate` (hidden if unsafe)."""
    if num is None or den is None:
        return None
    pv = protect_rate(num, den, policy, per=100, proportion=True)
    return None if pv.suppressed else pv.value


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
    if unit == "percent":
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
    vals = {k: [_num(v) for v in s] for k, s in series.items()}
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
) -> str:
    """Funnel plot (Spiegelhalter 2005): each area's rate against its denominator, with control
    limits around the county rate; areas inside the funnel differ only by chance."""
    width, height, left, right, top, bottom = 760, 360, 64, 200, 30, 52
    xs = [p[1] for p in points]
    xmax, xticks = _axis(max(xs, default=1) * 1.1)
    grid = np.linspace(max(xmax / 200, 1.0), xmax, 80)
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
        for line in (lo, hi):
            pts = " ".join("{:.1f},{:.1f}".format(*pt(float(x), float(y)))
                           for x, y in zip(grid, line, strict=True) if not math.isnan(y))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.5" stroke-dasharray="{dash}"/>')
    (x0, yc), (x1, _) = pt(0, centre), pt(xmax, centre)
    out.append(f'<line x1="{x0:.1f}" y1="{yc:.1f}" x2="{x1:.1f}" y2="{yc:.1f}" stroke="#000" stroke-width="1.5"/></g>')
    # labels in the right margin, in the order of the points, spaced so they never overlap
    placed: list[float] = []
    for name, x, y in sorted(points, key=lambda p: -p[2]):
        cx, cy = pt(x, y)
        ly = max(cy + 4, (placed[-1] + 16) if placed else top)
        placed.append(ly)
        text = fmt_pct(y, 1) if unit == "percent" else f"{y:,.1f}"
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{OKABE_ITO["vermillion"]}" stroke="#fff"><title>{esc(name)}: {text}</title></circle>')
        lx = width - right + 8
        out.append(f'<line x1="{cx + 7:.1f}" y1="{cy:.1f}" x2="{lx - 3}" y2="{ly - 4:.1f}" stroke="#999" stroke-width="0.8"/>')
        out.append(f'<text x="{lx}" y="{ly:.1f}" class="wb-label">{esc(name)} ({text})</text>')
    legend = [("County rate", "#000", ""), ("95% limits", LIMIT_COLOURS["95"], "6 4"), ("99.8% limits", LIMIT_COLOURS["99.8"], "2 3")]
    for k, (name, colour, dash) in enumerate(legend):
        lx = left + 8 + k * 170
        out.append(f'<line x1="{lx}" y1="12" x2="{lx + 22}" y2="12" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>')
        out.append(f'<text x="{lx + 28}" y="16" class="wb-label">{name}</text>')
    out.append("</svg>")
    return "".join(out)


def proportion_limits(n: np.ndarray, p_pct: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Control limits around a percentage for denominators ``n``: the exact binomial limits of
    :mod:`workbench.measures.funnel` (as the system performance study draws them), or the normal
    approximation if that module is not installed."""
    p = p_pct / 100
    try:
        from workbench.measures.funnel import proportion_limits as exact
    except ImportError:
        se = np.sqrt(np.maximum(p * (1 - p), 0) / n)
        return {z: ((p - k * se) * 100, (p + k * se) * 100) for z, k in (("95", 1.959964), ("99.8", 3.090232))}
    out = {}
    for name, level in (("95", 0.95), ("99.8", 0.998)):
        lo, hi = exact(min(max(p, 0.0), 1.0), n, level)
        out[name] = (np.asarray(lo) * 100, np.asarray(hi) * 100)
    return out


def poisson_rate_limits(pop: np.ndarray, rate: float, per: float = 100_000) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Poisson control limits (normal approximation) around a rate per ``per`` residents."""
    expected = rate / per * pop
    sd = np.sqrt(np.maximum(expected, 0))
    return {z: ((expected - k * sd) / pop * per, (expected + k * sd) / pop * per) for z, k in (("95", 1.959964), ("99.8", 3.090232))}


# --------------------------------------------------------------------------------------------
# Tables and downloads
# --------------------------------------------------------------------------------------------


@dataclass
class TableSpec:
    """A protected table as it is shown and downloaded."""

    table: ProtectedTable
    caption: str
    stem: str  # file name stem for downloads
    rate_columns: Sequence[str] = ()


def table_html(spec: TableSpec, key: str, filters: str) -> str:
    pt = spec.table
    index_name = pt.values.index.name or ""
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in pt.values.columns)
    rows = []
    for idx, row in pt.values.iterrows():
        tds = []
        for col, v in row.items():
            hidden = bool(pt.mask.loc[idx, col])
            if col in spec.rate_columns:
                kind = "wb-rate"
            elif isinstance(v, str) and not hidden:
                kind = "wb-text"  # words or preformatted public figures (e.g. populations)
            else:
                kind = "wb-count"
            if hidden:
                text = esc(pt.policy.suppressed_marker)
            else:
                text = fmt_pct(v, 1) if kind == "wb-rate" else esc(v) if kind == "wb-text" else fmt_count(v)
            cls = f"{kind} wb-hidden" if hidden else kind
            tds.append(f'<td class="{cls}">{text}</td>')
        tr_cls = ' class="wb-total"' if str(idx) == "Total" else ""
        rows.append(f'<tr{tr_cls}><th scope="row">{esc(idx)}</th>{"".join(tds)}</tr>')
    return (
        f'<table class="wb-table" data-table="{esc(key)}" data-filters="{esc(filters)}">'
        f"<caption>{esc(spec.caption)}</caption><thead><tr><th scope=\"col\">{esc(index_name)}</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<p class="wb-footnote">{esc(pt.footnote)}</p>'
    )


def export_bytes(spec: TableSpec) -> tuple[bytes, bytes]:
    """The protected table as CSV and Excel files (written by the disclosure module's own
    exporters, which add the footnote), after an independent audit of the table."""
    assert_safe(spec.table)
    with tempfile.TemporaryDirectory(prefix="wb-export-") as tmp:
        csv_path = spec.table.to_csv(Path(tmp) / "table.csv")
        xlsx_path = spec.table.to_excel(Path(tmp) / "table.xlsx", sheet_name=spec.stem[:31] or "Table")
        return csv_path.read_bytes(), xlsx_path.read_bytes()


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def downloads_html(specs: Sequence[TableSpec], key: str, filters: str) -> str:
    links = []
    for spec in specs:
        try:
            csv_bytes, xlsx_bytes = export_bytes(spec)
        except Exception:  # an export that fails the audit is not offered; the page says so
            links.append(f"<span>{esc(spec.caption)}: download not available.</span>")
            continue
        c64 = base64.b64encode(csv_bytes).decode("ascii")
        x64 = base64.b64encode(xlsx_bytes).decode("ascii")
        links.append(
            f'<span class="wb-dl-group">{esc(spec.caption)}: '
            f'<a class="wb-download" data-format="csv" data-filters="{esc(filters)}" download="{esc(spec.stem)}.csv" '
            f'href="data:text/csv;charset=utf-8;base64,{c64}">CSV</a> '
            f'<a class="wb-download" data-format="xlsx" data-filters="{esc(filters)}" download="{esc(spec.stem)}.xlsx" '
            f'href="data:{XLSX_MIME};base64,{x64}">Excel</a></span>'
        )
    return f'<div class="wb-downloads" data-panel="{esc(key)}" data-filters="{esc(filters)}"><strong>Download the table:</strong> {" ".join(links)}</div>'


# --------------------------------------------------------------------------------------------
# Panels
# --------------------------------------------------------------------------------------------


@dataclass
class PanelContent:
    """Everything one chart panel shows for one set of filters."""

    key: str
    title: str
    headline: str
    chart: str = ""
    tables: list[TableSpec] = field(default_factory=list)
    definitions: str = ""
    notice: str = ""  # e.g. "not available yet"; shown prominently


def panel_html(p: PanelContent, filters: str) -> str:
    parts = [f'<section class="wb-panel-body" data-panel="{esc(p.key)}" data-filters="{esc(filters)}" aria-labelledby="{esc(p.key)}-h">',
             f'<h2 id="{esc(p.key)}-h">{esc(p.title)}</h2>']
    if p.notice:
        parts.append(f'<p class="wb-notice">{esc(p.notice)}</p>')
    parts.append(f'<p class="wb-headline" elementtiming="headline-{esc(p.key)}">{esc(p.headline)}</p>')
    if p.chart:
        parts.append(f'<div class="wb-figure">{p.chart}</div>')
    for i, spec in enumerate(p.tables):
        open_attr = "" if p.chart else ' open=""'
        parts.append(
            f'<details class="wb-table-wrap"{open_attr}><summary>Show the figures as a table'
            f'{": " + esc(spec.caption) if len(p.tables) > 1 else ""}</summary>'
            f"{table_html(spec, f'{p.key}-{i}', filters)}</details>"
        )
    if p.definitions:
        parts.append(f'<p class="wb-definitions"><strong>About these figures:</strong> {esc(p.definitions)}</p>')
    parts.append("</section>")
    return "".join(parts)


class PanelView:
    """The live widgets of one panel: the panel HTML, and its downloads (built after the charts
    so a filter change shows new charts first)."""

    def __init__(self, key: str) -> None:
        import ipywidgets as widgets

        self.key = key
        self.main = widgets.HTML()
        self.downloads = widgets.HTML()
        self.box = widgets.VBox([self.main, self.downloads], layout=widgets.Layout(width="100%"))
        self.box.add_class("wb-panel")
        self.content: PanelContent | None = None

    def show(self, content: PanelContent, filters: str) -> None:
        self.content = content
        self.main.value = panel_html(content, filters)

    def show_downloads(self, filters: str) -> None:
        if self.content is None or not self.content.tables:
            self.downloads.value = ""
            return
        self.downloads.value = downloads_html(self.content.tables, self.content.key, filters)


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterState:
    area: str  # a district code, or COUNTY
    period: Period
    group: str | None

    @property
    def key(self) -> str:
        return f"{self.area}|{self.period.start:%Y-%m}|{self.period.end:%Y-%m}|{self.group or ''}"


class FilterBar:
    """District, period (from and to financial-year quarters) and, where a page has one, a group.

    All are native drop-down lists: usable with the keyboard (Tab, arrow keys) and announced by
    screen readers with their labels; a range slider was harder to use precisely."""

    def __init__(
        self,
        agg: Aggregates,
        *,
        district: bool = True,
        group_options: Sequence[tuple[str, str]] | None = None,
        group_label: str = "Group",
        default_quarters: int = 4,
        default_group: str | None = None,
    ) -> None:
        import ipywidgets as widgets

        self.agg = agg
        self.quarters: list[Quarter] = agg.quarters()
        style = {"description_width": "initial"}
        self.district = widgets.Dropdown(
            options=[(COUNTY_LABEL, COUNTY)] + [(label("district", d), d) for d in DISTRICTS],
            value=COUNTY, description="District", style=style, layout=widgets.Layout(width="290px"),
        )
        self.district.add_class("wb-filter-district")
        n = len(self.quarters)
        options = [(quarter_option(q), i) for i, q in enumerate(self.quarters)]
        self.start = widgets.Dropdown(options=options, value=max(0, n - default_quarters), description="From",
                                      style=style, layout=widgets.Layout(width="270px"))
        self.end = widgets.Dropdown(options=options, value=n - 1, description="To", style=style,
                                    layout=widgets.Layout(width="250px"))
        self.start.add_class("wb-filter-from")
        self.end.add_class("wb-filter-to")
        self.group = widgets.Dropdown(
            options=list(group_options or [("All", "")]), description=group_label, style=style,
            layout=widgets.Layout(width="min-content"),
        )
        if default_group is not None:
            self.group.value = default_group
        self.group.add_class("wb-filter-group")
        kids = [self.district] if district else []
        kids += [self.start, self.end]
        if group_options:
            kids.append(self.group)
        self.box = widgets.HBox(kids, layout=widgets.Layout(flex_flow="row wrap"))
        self.box.add_class("wb-filters")
        self.has_group = bool(group_options)
        self.has_district = district

    def state(self) -> FilterState:
        i, j = sorted((self.start.value, self.end.value))  # "from" after "to": read as the range
        start, end = self.quarters[i].start, self.quarters[j].end
        end = min(end, self.agg.last_month)
        return FilterState(
            area=self.district.value if self.has_district else COUNTY,
            period=Period(pd.Timestamp(start), pd.Timestamp(end)),
            group=(self.group.value or None) if self.has_group else None,
        )

    def observe(self, callback: Callable[[], None]) -> None:
        for w in (self.district, self.start, self.end, self.group):
            w.observe(lambda _change: callback(), names="value")

    def snapshot_html(self) -> str:
        """A static look-alike of the filter bar for the first paint (disabled until live)."""
        def select(name: str, text: str) -> str:
            return f"<label>{esc(name)} <select disabled><option>{esc(text)}</option></select></label>"

        parts = []
        if self.has_district:
            parts.append(select("District", area_label(self.district.value)))
        parts.append(select("From", quarter_option(self.quarters[self.start.value])))
        parts.append(select("To", quarter_option(self.quarters[self.end.value])))
        if self.has_group:
            parts.append(select(self.group.description, dict((v, k) for k, v in self.group.options).get(self.group.value, "")))
        return f'<div class="wb-filters-snapshot" aria-hidden="true">{"".join(parts)}<span>Filters are loading…</span></div>'


def quarter_option(q: Quarter) -> str:
    """e.g. "Oct–Dec 2025 (2025-26 Q3)"."""
    number = (q.start.month - 4) % 12 // 3 + 1
    return f"{q.label} ({q.financial_year} Q{number})"


# --------------------------------------------------------------------------------------------
# Page frame
# --------------------------------------------------------------------------------------------

CSS = """
<style>
.wb-page{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1b1b1b;max-width:1180px;font-size:15px;line-height:1.45}
.wb-page h1{font-size:1.6em;margin:.2em 0 .1em}
.wb-page h2{font-size:1.2em;margin:.2em 0 .3em}
.wb-nav{display:flex;flex-wrap:wrap;gap:4px 18px;margin:.3em 0 .6em;padding:0;list-style:none}
.wb-nav a{color:#0b5394;text-decoration:underline}
.wb-nav a[aria-current=page]{font-weight:700;text-decoration:none;color:#1b1b1b}
.wb-nav a:focus,.wb-download:focus,.wb-page summary:focus{outline:3px solid #E69F00;outline-offset:2px}
.wb-synthetic{background:#fff3cd;border:2px solid #E69F00;padding:6px 10px;margin:.4em 0;font-weight:600}
.wb-meta{color:#444;margin:.2em 0}
.wb-panel{border:1px solid #d0d7de;border-radius:6px;padding:10px 16px;margin:12px 0;background:#fff;box-sizing:border-box}
.wb-headline{font-size:1.08em;font-weight:600;margin:.2em 0 .5em}
.wb-notice{background:#e8f1fa;border-left:4px solid #0072B2;padding:6px 10px}
.wb-definitions,.wb-footnote{color:#444;font-size:.9em}
.wb-chart{display:block;margin:4px 0;font-family:inherit}
.wb-chart .wb-grid{stroke:#e2e2e2;stroke-width:1}
.wb-chart .wb-axis{font-size:12px;fill:#444}
.wb-chart .wb-label{font-size:13px;fill:#1b1b1b}
.wb-chart .wb-value{font-size:13px;fill:#1b1b1b;font-weight:600}
.wb-chart .wb-hidden-label{font-size:13px;fill:#555;font-style:italic}
.wb-table{border-collapse:collapse;margin:6px 0;font-size:.92em}
.wb-table caption{text-align:left;font-weight:600;padding:4px 0}
.wb-table th,.wb-table td{border:1px solid #d0d7de;padding:3px 8px}
.wb-table td{text-align:right;font-variant-numeric:tabular-nums}
.wb-table th[scope=row]{text-align:left;font-weight:400}
.wb-table tr.wb-total th,.wb-table tr.wb-total td{font-weight:700}
.wb-table td.wb-hidden{color:#555;font-style:italic}
.wb-downloads{font-size:.92em;margin:0 0 4px}
.wb-dl-group{margin-right:14px}
.wb-filters,.wb-filters-snapshot{margin:6px 0;padding:8px 0;border-bottom:1px solid #d0d7de;gap:8px 20px}
.wb-filters-snapshot label{margin-right:24px}
.wb-filters-snapshot span{color:#555;font-style:italic}
body:has(.wb-live) .wb-snapshot{display:none !important}
.jp-OutputArea-output:has(.wb-page){padding:0}
</style>
"""


def header_html(page_key: str, title: str, intro: str, agg: Aggregates, policy: DisclosurePolicy) -> str:
    nav = "".join(
        f'<li><a href="{key}.ipynb"{" aria-current=page" if key == page_key else ""}>{esc(name)}</a></li>'
        for key, name in PAGES
    )
    synthetic = (
        '<p class="wb-synthetic" role="note">Synthetic data: these figures describe made-up people '
        "generated for demonstration and testing. They are not real.</p>"
        if agg.synthetic else ""
    )
    extract = agg.extract_date
    rounding = (f" Counts are rounded to the nearest {policy.rounding_base}, so figures may not add up exactly."
                if policy.rounding_base else "")
    return (
        f'<nav aria-label="Dashboards"><ul class="wb-nav">{nav}</ul></nav>'
        f"<h1>{esc(title)}</h1>{synthetic}"
        f'<p class="wb-meta">{esc(intro)} Figures use records up to {extract.day} {extract:%B %Y}. '
        f"To protect privacy, counts from 1 to {policy.threshold - 1} are hidden and shown as "
        f"{esc(policy.suppressed_marker)}, with some other figures hidden so they cannot be worked out."
        f"{rounding}</p>"
    )


def _after_cell(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the running notebook cell has finished (on the kernel's event
    loop), or at once outside a kernel."""
    try:
        from ipykernel.kernelbase import Kernel
        from tornado.ioloop import IOLoop

        if not Kernel.initialized():
            raise RuntimeError("not in a kernel")
        loop = IOLoop.current(instance=False)
        if loop is None:
            raise RuntimeError("no event loop")
    except Exception:
        callback()
        return
    loop.add_callback(callback)


PanelBuilder = Callable[[Aggregates, FilterState, DisclosurePolicy], Iterable[PanelContent]]


class Page:
    """One dashboard page: header, filters and panels, recomputed on every filter change."""

    def __init__(
        self,
        key: str,
        title: str,
        intro: str,
        agg: Aggregates,
        build: PanelBuilder,
        *,
        policy: DisclosurePolicy | None = None,
        district: bool = True,
        group_options: Sequence[tuple[str, str]] | None = None,
        group_label: str = "Group",
        default_group: str | None = None,
    ) -> None:
        import ipywidgets as widgets

        self.key, self.title, self.intro = key, title, intro
        self.agg, self.build = agg, build
        self.policy = policy or disclosure_policy()
        self.filters = FilterBar(agg, district=district, group_options=group_options,
                                 group_label=group_label, default_group=default_group)
        self.header = widgets.HTML(CSS + header_html(key, title, intro, agg, self.policy))
        self.views: list[PanelView] = []
        self.panel_box = widgets.VBox(layout=widgets.Layout(width="100%"))
        self.status = widgets.HTML()
        self.footer = widgets.HTML(
            '<p class="wb-definitions">A page left without use for 30 minutes stops responding to its filters: '
            "reload it to continue. Definitions: docs/dashboards.md and docs/assumptions/dashboards.md "
            "in the workbench.</p>")
        self.widget = widgets.VBox([self.header, self.filters.box, self.status, self.panel_box, self.footer],
                                   layout=widgets.Layout(width="100%", max_width="1180px"))
        self.widget.add_class("wb-page")
        self.widget.add_class("wb-live")
        self.contents: list[PanelContent] = []
        # the first view without downloads, which are added once the notebook cell has finished:
        # a viewer without a pre-heated kernel then gets the page a little sooner
        self.refresh(downloads=False)
        _after_cell(self.show_downloads)
        self.filters.observe(self.refresh)

    def show_downloads(self) -> None:
        key = self.filters.state().key
        for view in self.views[: len(self.contents)]:
            view.show_downloads(key)

    def compute(self, state: FilterState | None = None) -> list[PanelContent]:
        return list(self.build(self.agg, state or self.filters.state(), self.policy))

    def refresh(self, downloads: bool = True) -> None:
        state = self.filters.state()
        contents: list[PanelContent] = []
        try:
            # each panel is sent to the browser as soon as it is computed: the first chart
            # updates after one panel's work, not the whole page's
            for i, content in enumerate(self.build(self.agg, state, self.policy)):
                if i == len(self.views):
                    self.views.append(PanelView(f"{self.key}-{i}"))
                self.views[i].show(content, state.key)
                contents.append(content)
                if len(self.panel_box.children) <= i:
                    self.panel_box.children = tuple(v.box for v in self.views[: i + 1])
        except Exception as exc:  # never a traceback for a commissioner; say what happened
            self.status.value = (f'<p class="wb-notice" role="alert">These figures could not be worked out '
                                 f"for this choice of filters ({esc(type(exc).__name__)}). Please choose "
                                 "another period or district, or tell the data team.</p>")
            return
        self.status.value = ""
        if len(self.panel_box.children) != len(contents):
            self.panel_box.children = tuple(v.box for v in self.views[: len(contents)])
        self.contents = contents
        # downloads last: building the CSV and Excel files is the slowest part
        if downloads:
            self.show_downloads()

    def snapshot_html(self) -> str:
        """The first view as static HTML (no downloads), shown until the live widgets load."""
        state = self.filters.state()
        body = "".join(f'<div class="wb-panel">{panel_html(c, state.key)}</div>' for c in self.contents)
        return (
            f'<div class="wb-snapshot wb-page">{CSS}{header_html(self.key, self.title, self.intro, self.agg, self.policy)}'
            f"{self.filters.snapshot_html()}{body}</div>"
        )


# --------------------------------------------------------------------------------------------
# Shared measure helpers
# --------------------------------------------------------------------------------------------


def _area_rows(agg: Aggregates, table: str, state: FilterState, *, month_shift: int = 0, **equals) -> pd.DataFrame:
    district = None if state.area == COUNTY else state.area
    return agg.select(table, period=state.period, month_shift=month_shift, district=district, **equals)


def _where(state: FilterState) -> str:
    return "Oxfordshire" if state.area == COUNTY else label("district", state.area)


def _cohort_period(state: FilterState, months: int) -> Period:
    return state.period.shifted(months)


def _not_available(key: str, title: str, what: str) -> PanelContent:
    return PanelContent(
        key=key, title=title,
        headline=f"{what} are not available yet.",
        notice=("Coming soon: the part of the workbench that works these figures out is still being "
                "written, so this dashboard does not show them rather than show a guess."),
    )


def _outcome_panel(
    key: str,
    title: str,
    counts: pd.Series,
    order: Sequence[str],
    vocab: str,
    policy: DisclosurePolicy,
    state: FilterState,
    *,
    noun: str,
    caption: str,
    headline: Callable[[ProtectedTable, str], str],
    definitions: str,
    stem: str,
    column: str,
) -> PanelContent:
    """A one-dimensional breakdown (e.g. end reasons) as bars, with a Total row and shares."""
    labels = [label(vocab, c) for c in order]
    t = pd.DataFrame({column: [int(counts.get(c, 0)) for c in order]}, index=labels)
    pt = with_shares(protect(t, policy, col_total=True, index_name="Reason"), column)
    total = cell(pt, "Total", column)
    shares = [share(cell(pt, lab, column), total, policy) for lab in labels]
    chart = bar_chart(key, state.key, labels, shares, unit="percent", title=title,
                      desc=headline(pt, noun))
    # the rate of the Total row against itself is 100%: show it blank rather than as a figure
    return PanelContent(
        key=key, title=title, headline=headline(pt, noun), chart=chart,
        tables=[TableSpec(pt, caption, stem, rate_columns=("Share (%)",))], definitions=definitions,
    )


# --------------------------------------------------------------------------------------------
# Overview
# --------------------------------------------------------------------------------------------


def _rough_sleeping_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, key: str) -> PanelContent:
    title = "People seen sleeping rough"
    if not agg.available("rough_sleeping"):
        return _not_available(key, title, "Figures on people seen sleeping rough")
    df = agg.select("rough_sleeping", period=state.period, area=state.area)
    months = state.period.months()
    wide = crosstab(df, "month", "status", row_order=list(months), col_order=codes("chain_status"))
    wide.index = [month_label(m) for m in months]
    wide.columns = [label("chain_status", c) for c in wide.columns]
    pt = protect(wide, policy, row_total=True, index_name="Month", total_label="All people seen")
    last = month_label(months[-1])
    seen, new = cell(pt, last, "All people seen"), cell(pt, last, label("chain_status", "new"))
    where = _where(state)
    if seen is None:
        head = f"In {last}, the number of people seen sleeping rough in {where} is too small to show."
    else:
        head = f"In {last}, {fmt_count(seen)} {plural(seen, 'person was', 'people were')} seen sleeping rough in {where}"
        head += f"; {fmt_count(new)} of them {plural(new, 'was', 'were')} new to the streets." if new is not None else \
            "; how many were new is hidden to protect privacy."
    chart = line_chart(key, state.key, list(months), {
        "All people seen": [cell(pt, month_label(m), "All people seen") for m in months],
        "New to the streets": [cell(pt, month_label(m), label("chain_status", "new")) for m in months],
    }, title=f"{title}, {where}, by month", desc=head)
    defs = (f"Seen sleeping rough means an outreach worker saw the person bedded down (a verified contact). "
            f"New to the streets means not seen bedded down anywhere in Oxfordshire in the previous "
            f"{NEW_LOOKBACK_MONTHS} months (England's Ending Rough Sleeping Data Framework); the data begin in "
            "January 2018, so until 2023 some people counted as new may have slept rough before. 'Also seen "
            "the month before' and 'Returned to the streets' follow London's CHAIN. Someone seen in two "
            "districts in a month counts in each district but once in Oxfordshire.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs,
                        tables=[TableSpec(pt, f"People seen sleeping rough by month, {where}", "people_seen_sleeping_rough")])


def _duty_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, duty: str, key: str,
                household: str | None = None) -> PanelContent:
    title = f"How {duty} duties ended"
    if not agg.available("duty_outcomes"):
        return _not_available(key, title, f"Figures on {duty} duties")
    df = _area_rows(agg, "duty_outcomes", state, duty=duty, household_type=household)
    counts = df.groupby("reason")["n"].sum()
    vocab = f"{duty}_end_reason"
    success = PREVENTION_SUCCESS if duty == "prevention" else RELIEF_SUCCESS
    where, when = _where(state), period_label(state.period)

    def headline(pt: ProtectedTable, noun: str) -> str:
        total = cell(pt, "Total", "Duties ended")
        if total is None or total == 0:
            return f"No {duty} duties that ended {_during(state.period)} in {where} can be shown."
        secured = shown_sum(pt, [label(vocab, c) for c in success], "Duties ended")
        pct = share(secured, total, policy)
        lead = f"Of the {fmt_count(total)} {duty} {plural(total, 'duty', 'duties')} that ended {_during(state.period)} in {where}, "
        if pct is None:
            return lead + "the share that secured accommodation is hidden to protect privacy."
        return lead + f"{pct:.0f}% ended with accommodation secured for at least 6 months."

    defs = (f"Counts {duty} duties by the month they ended and the reason the council recorded (H-CLIC). "
            "'Secured accommodation for 6+ months' is the successful outcome"
            + (" (staying in the existing home, or moving to another)." if duty == "prevention" else "."))
    return _outcome_panel(key, title, counts, codes(vocab), vocab, policy, state, noun=f"{duty} duties",
                          caption=f"{duty.capitalize()} duties ended by reason, {when}, {where}",
                          headline=headline, definitions=defs, stem=f"{duty}_duties_ended_by_reason",
                          column="Duties ended")


def _returns_windows_table(df: pd.DataFrame, policy: DisclosurePolicy, rows: str | None,
                           row_order: Sequence[str] | None, vocab: str | None) -> ProtectedTable:
    """Rows (window or group) x [Returned, Did not return, Total] over closed windows, + share."""
    closed = df[df["outcome"] != "not_yet"].assign(
        result=lambda d: np.where(d["outcome"] == "returned", "Returned", "Did not return (or died first)"))
    index = rows or "window_months"
    t = crosstab(closed, index, "result", row_order=row_order,
                 col_order=["Returned", "Did not return (or died first)"])
    if vocab:
        t.index = [label(vocab, c) for c in t.index]
    pt = protect(t, policy, row_total=True, col_total=rows is not None,
                 index_name="Moved in to" if rows == "tenure" else "Moved in from" if rows else "Window")
    return with_rates(pt, {"Returned (%)": ("Returned", "Total")})


def _returns_overview_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, key: str) -> PanelContent:
    title = "Returns to homelessness after a move into a settled home"
    if not agg.available("returns_outcomes"):
        return _not_available(key, title, "Figures on returns to homelessness")
    where = _where(state)
    parts = []
    for w in (6, 12):
        if w not in RETURN_WINDOWS_MONTHS:
            continue
        df = _area_rows(agg, "returns_outcomes", state, month_shift=w, window_months=w)
        parts.append(df.assign(window_months=f"Within {w} months"))
    df = pd.concat(parts, ignore_index=True)
    pt = _returns_windows_table(df, policy, None, [f"Within {w} months" for w in (6, 12)], None)
    sentences = []
    for w in (6, 12):
        row = f"Within {w} months"
        n, r = cell(pt, row, "Total"), cell(pt, row, "Returned (%)")
        cohort = period_label(_cohort_period(state, w))
        if n is None or r is None:
            sentences.append(f"For people who moved in {w} months earlier ({cohort}) in {where}, the share who returned within {w} months is hidden or not known yet.")
        else:
            sentences.append(f"Of the {fmt_count(n)} people who moved into a settled home in {where} {_during(_cohort_period(state, w))}, {r:.0f}% were homeless again within {w} months.")
    head = " ".join(sentences)
    chart = bar_chart(key, state.key, [f"Within {w} months" for w in (6, 12)],
                      [cell(pt, f"Within {w} months", "Returned (%)") for w in (6, 12)], unit="percent",
                      title=f"{title}, {where}", desc=head)
    defs = ("People who moved into a settled home (social or private rented, or Housing First) from rough sleeping, "
            "temporary or supported accommodation or the relief duty. Returned means seen bedded down, owed the "
            "relief duty, accepted for the main duty or starting supported accommodation more than 14 days after "
            "moving in. Each window counts the people whose 6 or 12 months ended in the chosen period, so it "
            "looks back to when they moved in; people who died first count as not returned, as in the returns study.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs,
                        tables=[TableSpec(pt, f"Returns to homelessness, {where}", "returns_to_homelessness")],)


def _move_on_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, key: str,
                   model: str | None = None) -> PanelContent:
    title = "How stays in supported accommodation ended"
    if not agg.available("sa_departures"):
        return _not_available(key, title, "Figures on supported accommodation")
    df = _area_rows(agg, "sa_departures", state, model=model)
    counts = df.groupby("departure_reason")["n"].sum()
    where, when = _where(state), period_label(state.period)
    svc = f" ({label('accommodation_model', model)})" if model else ""

    def headline(pt: ProtectedTable, noun: str) -> str:
        total = cell(pt, "Total", "Stays ended")
        if total is None or total == 0:
            return f"No stays in supported accommodation{svc} that ended {_during(state.period)} in {where} can be shown."
        pct = share(cell(pt, label("departure_reason", "planned_move_on"), "Stays ended"), total, policy)
        lead = f"Of the {fmt_count(total)} stays in supported accommodation{svc} that ended {_during(state.period)} in {where}, "
        return lead + (f"{pct:.0f}% ended in a planned move-on." if pct is not None
                       else "the share ending in a planned move-on is hidden to protect privacy.")

    defs = ("Counts stays (episodes) in supported accommodation by the month they ended and the reason the "
            "provider recorded. Planned move-on share = planned move-ons out of all stays that ended, including "
            "transfers to another supported service.")
    return _outcome_panel(key, title, counts, codes("departure_reason"), "departure_reason", policy, state,
                          noun="stays", caption=f"Stays ended by reason, {when}, {where}", headline=headline,
                          definitions=defs, stem="supported_accommodation_stays_ended", column="Stays ended")


def _tenancy_12m_table(df: pd.DataFrame, policy: DisclosurePolicy, rows: str | None = None,
                       row_order: Sequence[str] | None = None, vocab: str | None = None) -> ProtectedTable:
    # as workbench.measures.housing_first: a tenancy is lost when it ends for any reason other
    # than a planned move or the tenant's death; deaths before 12 months are left out
    closed = df[~df["outcome_12m"].isin(["not_yet", "died"])].assign(result=lambda d: np.where(
        d["outcome_12m"].isin(["sustained", "planned_move"]), "Sustained", "Lost"))
    if rows is None:
        closed = closed.assign(all="All tenancies")
        rows, row_order = "all", ["All tenancies"]
    t = crosstab(closed, rows, "result", row_order=row_order, col_order=["Sustained", "Lost"])
    if vocab:
        t.index = [label(vocab, c) for c in t.index]
    pt = protect(t, policy, row_total=True, col_total=rows != "all", index_name="Tenancies")
    return with_rates(pt, {"Sustained (%)": ("Sustained", "Total")})


def _housing_first_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, key: str) -> PanelContent:
    title = "Housing First"
    if not agg.available("tenancy_outcomes"):
        return _not_available(key, title, "Figures on Housing First")
    where = _where(state)
    started = _area_rows(agg, "tenancy_outcomes", state, tenure="housing_first")
    qs = [q for q in agg.quarters() if state.period.start <= q.start <= state.period.end]
    by_q = started.assign(q=started["month"].map(lambda m: _quarter_label(m))).groupby("q")["n"].sum()
    t1 = pd.DataFrame({"Tenancies started": [int(by_q.get(q.label, 0)) for q in qs]}, index=[q.label for q in qs])
    pt1 = protect(t1, policy, col_total=True, index_name="Quarter")
    reached = _area_rows(agg, "tenancy_outcomes", state, month_shift=12, tenure="housing_first")
    pt2 = _tenancy_12m_table(reached, policy)
    n_started = cell(pt1, "Total", "Tenancies started")
    n12, pct = cell(pt2, "All tenancies", "Total"), cell(pt2, "All tenancies", "Sustained (%)")
    cohort = period_label(_cohort_period(state, 12))
    s1 = (f"{fmt_count(n_started)} Housing First {plural(n_started, 'tenancy', 'tenancies')} started {_during(state.period)} in {where}."
          if n_started is not None else f"The number of Housing First tenancies started {_during(state.period)} in {where} is hidden to protect privacy.")
    s2 = (f" Of the {fmt_count(n12)} that started {_during(_cohort_period(state, 12))}, {pct:.0f}% were still going (or had moved on as planned) 12 months later."
          if n12 is not None and pct is not None and n12 > 0 else
          f" Tenancy sustainment at 12 months for tenancies started {_during(_cohort_period(state, 12))} is hidden or not known yet.")
    head = s1 + s2
    chart = bar_chart(key, state.key, [q.label for q in qs], [cell(pt1, q.label, "Tenancies started") for q in qs],
                      title=f"Housing First tenancies started, {where}", desc=head)
    defs = ("Housing First tenancies are settled tenancies recorded with the Housing First tenure. Sustained at 12 "
            "months = the tenancy was still running 12 months after it began, or had ended in a planned move to "
            "other settled housing; it was lost if it ended for any other reason (eviction, abandonment, custody, "
            "a long hospital stay). Tenants who died within the year are left out. Sustainment counts the tenancies "
            "whose first year ended in the chosen period; the system performance study gives the Kaplan-Meier "
            "estimate. For comparison, England's Housing First pilots reported about 92% sustained at 12 months.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs, tables=[
        TableSpec(pt1, f"Housing First tenancies started, {where}", "housing_first_started"),
        TableSpec(pt2, f"Housing First tenancies sustained at 12 months (started {cohort}), {where}",
                  "housing_first_sustained_12_months", rate_columns=("Sustained (%)",)),
    ])


def _quarter_label(m: pd.Timestamp) -> str:
    from workbench.aggregates import quarter_of

    return quarter_of(m).label


def overview_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> Iterator[PanelContent]:
    # a generator: the page shows each panel as soon as it is ready
    yield _rough_sleeping_panel(agg, state, policy, "rough-sleeping")
    yield _duty_panel(agg, state, policy, "prevention", "prevention")
    yield _duty_panel(agg, state, policy, "relief", "relief")
    yield _returns_overview_panel(agg, state, policy, "returns")
    yield _move_on_panel(agg, state, policy, "move-on")
    yield _housing_first_panel(agg, state, policy, "housing-first")


# --------------------------------------------------------------------------------------------
# Returns to homelessness
# --------------------------------------------------------------------------------------------

RETURNS_GROUPS: tuple[tuple[str, str], ...] = (
    ("Type of home moved into", "tenure"),
    ("Where people moved from", "route_in"),
    ("No breakdown", ""),
)


def returns_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> list[PanelContent]:
    if not agg.available("returns_outcomes"):
        return [_not_available("returns-rates", "Returns to homelessness", "Figures on returns to homelessness")]
    where = _where(state)
    group = state.group
    vocab = {"tenure": "tenure", "route_in": "route_in"}.get(group or "")
    out = []
    for w in RETURN_WINDOWS_MONTHS:
        key = f"returns-{w}m"
        title = f"Homeless again within {w} months"
        df = _area_rows(agg, "returns_outcomes", state, month_shift=w, window_months=w)
        cohort = period_label(_cohort_period(state, w))
        if group:
            present = [c for c in codes(vocab) if c in set(agg["returns_outcomes"][group])]
            pt = _returns_windows_table(df, policy, group, present, vocab)
            labels = [label(vocab, c) for c in present]
            total_row = "Total"
        else:
            df = df.assign(window_months=f"Within {w} months")
            pt = _returns_windows_table(df, policy, None, [f"Within {w} months"], None)
            labels, total_row = [f"Within {w} months"], f"Within {w} months"
        n, r = cell(pt, total_row, "Total"), cell(pt, total_row, "Returned (%)")
        if n is None or r is None or n == 0:
            head = f"For people who moved into a settled home {_during(_cohort_period(state, w))} in {where}, the share homeless again within {w} months is hidden or not known yet."
        else:
            head = f"Of the {fmt_count(n)} people who moved into a settled home {_during(_cohort_period(state, w))} in {where}, {r:.0f}% were homeless again within {w} months."
            if group:
                rates = {lab: cell(pt, lab, "Returned (%)") for lab in labels}
                shown = {k: v for k, v in rates.items() if v is not None}
                if len(shown) >= 2:
                    hi, lo = max(shown, key=shown.__getitem__), min(shown, key=shown.__getitem__)
                    head += f" The share was highest for {hi} ({shown[hi]:.0f}%) and lowest for {lo} ({shown[lo]:.0f}%)."
        chart = bar_chart(key, state.key, labels, [cell(pt, lab, "Returned (%)") for lab in labels], unit="percent",
                          title=f"{title}, {where}", desc=head)
        out.append(PanelContent(
            key=key, title=title, headline=head, chart=chart,
            tables=[TableSpec(pt, f"Moved in {cohort}: homeless again within {w} months, {where}",
                              f"returns_within_{w}_months", rate_columns=("Returned (%)",))],
            definitions=(f"People whose first {w} months in a settled home ended in the chosen period (they moved in "
                         f"during {cohort}). Returned = seen bedded down, owed the relief duty, accepted for the main "
                         "duty or starting supported accommodation more than 14 days after moving in. People who died "
                         "first count as not returned (as in the returns study)."),
        ))
    out.append(_returns_trend_panel(agg, state, policy))
    out.append(PanelContent(
        key="returns-study", title="About the returns study", headline=(
            "These are the simple shares that standard returns measures publish. The returns study adds survival "
            "analysis (with death as a competing risk and people still housed counted properly) and is produced "
            "by the research team with 'workbench study returns'."),
        notice="The study's modelled results are not shown on this dashboard.",
    ))
    return out


def _returns_trend_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> PanelContent:
    w = 12 if 12 in RETURN_WINDOWS_MONTHS else RETURN_WINDOWS_MONTHS[0]
    key, title, where = "returns-trend", f"Homeless again within {w} months, by quarter", _where(state)
    df = _area_rows(agg, "returns_outcomes", state, month_shift=w, window_months=w)
    qs = [q for q in agg.quarters() if state.period.start <= q.start <= state.period.end]
    end_q = df["month"].map(lambda m: _quarter_label(m + pd.DateOffset(months=w)))
    df = df.assign(quarter=end_q)
    pt = _returns_windows_table(df, policy, "quarter", [q.label for q in qs], None)
    pts = [cell(pt, q.label, "Returned (%)") for q in qs]
    shown = [(q.label, v) for q, v in zip(qs, pts, strict=True) if v is not None]
    head = (f"In {where}, the share homeless again within {w} months ranged from {min(v for _, v in shown):.0f}% "
            f"to {max(v for _, v in shown):.0f}% across the quarters shown." if len(shown) >= 2 else
            f"Too few quarters can be shown for {where} to describe a trend.")
    chart = line_chart(key, state.key, [q.start for q in qs], {f"Returned within {w} months (%)": pts}, unit="percent",
                       x_labels=[q.label for q in qs], title=f"{title}, {where}", desc=head)
    return PanelContent(key=key, title=title, headline=head, chart=chart,
                        tables=[TableSpec(pt, f"Homeless again within {w} months by the quarter the {w} months ended, {where}",
                                          f"returns_within_{w}_months_by_quarter", rate_columns=("Returned (%)",))],
                        definitions=f"Each quarter counts the people whose first {w} months in a settled home ended in that quarter.")


# --------------------------------------------------------------------------------------------
# New arrivals on the streets
# --------------------------------------------------------------------------------------------

ARRIVAL_GROUPS: tuple[tuple[str, str], ...] = (
    ("Age group", "age_band"),
    ("Gender", "gender"),
    ("Nationality", "nationality"),
)


def arrivals_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> list[PanelContent]:
    if not agg.available("new_arrivals"):
        return [_not_available("arrivals", "New arrivals on the streets", "Figures on new arrivals")]
    where, when = _where(state), period_label(state.period)
    df = _area_rows(agg, "new_arrivals", state)
    group = state.group or "age_band"
    vocab = group
    out = []
    # 1. by month
    months = state.period.months()
    t = crosstab(df, "month", None, row_order=list(months), col_name="People newly seen")
    t.index = [month_label(m) for m in months]
    pt = protect(t, policy, col_total=True, index_name="Month")
    total = cell(pt, "Total", "People newly seen")
    head = (f"{fmt_count(total)} {plural(total or 0, 'person was', 'people were')} seen sleeping rough in {where} for the first time "
            f"in {NEW_LOOKBACK_MONTHS // 12} years {_during(state.period)}." if total is not None else
            f"The number of people newly seen sleeping rough in {where} {_during(state.period)} is hidden to protect privacy.")
    chart = line_chart("arrivals-month", state.key, list(months),
                       {"People newly seen": [cell(pt, month_label(m), "People newly seen") for m in months]},
                       title=f"People newly seen sleeping rough by month, {where}", desc=head)
    out.append(PanelContent(
        key="arrivals-month", title="People newly seen sleeping rough", headline=head, chart=chart,
        tables=[TableSpec(pt, f"People newly seen sleeping rough by month, {where}", "new_arrivals_by_month")],
        definitions=(f"A new arrival is a person seen bedded down by outreach workers with no such sighting anywhere "
                     f"in Oxfordshire in the previous {NEW_LOOKBACK_MONTHS} months (Ending Rough Sleeping Data "
                     "Framework), counted once, in the month and district where they were first seen. The data begin "
                     "in January 2018, so arrivals before 2023 have a shorter look-back."),
    ))
    # 2. who
    order = codes(vocab) if vocab in EXTRA_LABELS or vocab in ("gender", "nationality") else sorted(set(df[group]))
    t2 = crosstab(df, group, None, row_order=order, col_name="People newly seen")
    t2.index = [label(vocab, c) for c in t2.index]
    pt2 = with_shares(protect(t2, policy, col_total=True, index_name=dict((v, k) for k, v in ARRIVAL_GROUPS)[group]),
                      "People newly seen")
    tot2 = cell(pt2, "Total", "People newly seen")
    labels2 = [label(vocab, c) for c in order]
    shares2 = [share(cell(pt2, lab, "People newly seen"), tot2, policy) for lab in labels2]
    shown = {lab: v for lab, v in zip(labels2, shares2, strict=True) if v is not None}
    gname = dict((v, k) for k, v in ARRIVAL_GROUPS)[group].lower()
    head2 = (f"The largest {gname} among people newly seen sleeping rough in {where} {_during(state.period)} was "
             f"{max(shown, key=shown.__getitem__)} ({max(shown.values()):.0f}%)." if shown else
             f"The breakdown by {gname} for {where} {_during(state.period)} is hidden to protect privacy.")
    out.append(PanelContent(
        key="arrivals-who", title=f"Who was newly seen, by {gname}", headline=head2,
        chart=bar_chart("arrivals-who", state.key, labels2, shares2, unit="percent", title=f"New arrivals by {gname}, {where}", desc=head2),
        tables=[TableSpec(pt2, f"People newly seen sleeping rough by {gname}, {when}, {where}", f"new_arrivals_by_{group}",
                          rate_columns=("Share (%)",))],
        definitions="As recorded by the outreach worker at the first sighting; age is the age given or estimated.",
    ))
    # 3. earlier contact with services
    routes = codes("route")
    t3 = crosstab(df, "route", None, row_order=routes, col_name="People newly seen")
    t3.index = [label("route", r) for r in t3.index]
    pt3 = with_shares(protect(t3, policy, col_total=True, index_name="Earlier contact"), "People newly seen")
    tot3 = cell(pt3, "Total", "People newly seen")
    none = cell(pt3, label("route", "none"), "People newly seen")
    inst = cell(pt3, label("route", "institution_discharge"), "People newly seen")
    presented = None if tot3 is None or none is None else tot3 - none
    p_pres, p_inst = share(presented, tot3, policy), share(inst, tot3, policy)
    head3 = (f"{p_pres:.0f}% of the people newly seen sleeping rough in {where} {_during(state.period)} had been in touch with a "
             "council, hospital, prison or supported housing in the 2 years before" if p_pres is not None else
             f"How many people newly seen in {where} {_during(state.period)} had been in touch with services before is hidden to protect privacy")
    head3 += (f"; {p_inst:.0f}% had left hospital or prison in the {INSTITUTION_WINDOW_DAYS} days before." if p_inst is not None else ".")
    labels3 = [label("route", r) for r in routes]
    out.append(PanelContent(
        key="arrivals-contact", title="Had they been in touch with services before?", headline=head3,
        chart=bar_chart("arrivals-contact", state.key, labels3, [share(cell(pt3, lab, "People newly seen"), tot3, policy) for lab in labels3],
                        unit="percent", title=f"Earlier contact of new arrivals, {where}", desc=head3),
        tables=[TableSpec(pt3, f"Earlier contact of people newly seen sleeping rough, {when}, {where}", "new_arrivals_earlier_contact",
                          rate_columns=("Share (%)",))],
        definitions=("Each person is counted once, under the first of these that applies (in the order listed), looking back "
                     "24 months across all districts: leaving hospital or prison within 85 days, a council duty ending "
                     "with contact lost or 56 days elapsed, eviction from or abandoning supported accommodation, an "
                     "approach to another district, and so on. Records are matched between services by the linkage, "
                     "which can miss or wrongly join some people. Contact data begin in April 2018."),
        notice=("Descriptive figures. The new arrivals study (action 3.2) adds confidence intervals, linkage "
                "sensitivity and the paths people took; the research team runs it with 'workbench study new_arrivals'."),
    ))
    return out


# --------------------------------------------------------------------------------------------
# Supported housing outcomes
# --------------------------------------------------------------------------------------------


def supported_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> list[PanelContent]:
    if not agg.available("sa_departures"):
        return [_not_available("sa", "Supported housing outcomes", "Figures on supported housing")]
    model = state.group or None
    where, when = _where(state), period_label(state.period)
    out = [_move_on_panel(agg, state, policy, "sa-ended", model=model)]
    # planned move-on by type of service
    df = _area_rows(agg, "sa_departures", state)
    models = codes("accommodation_model")
    dd = df.assign(result=np.where(df["departure_reason"] == "planned_move_on", "Planned move-on", "Other endings"))
    t = crosstab(dd, "model", "result", row_order=models, col_order=["Planned move-on", "Other endings"])
    t.index = [label("accommodation_model", m) for m in t.index]
    pt = with_rates(protect(t, policy, row_total=True, col_total=True, index_name="Type of service"),
                    {"Planned move-on (%)": ("Planned move-on", "Total")})
    labels = [label("accommodation_model", m) for m in models]
    rates = [cell(pt, lab, "Planned move-on (%)") for lab in labels]
    shown = {lab: v for lab, v in zip(labels, rates, strict=True) if v is not None}
    head = (f"In {where}, stays that ended {_during(state.period)} most often ended in a planned move-on in "
            f"{max(shown, key=shown.__getitem__)} ({max(shown.values()):.0f}%) and least often in "
            f"{min(shown, key=shown.__getitem__)} ({min(shown.values()):.0f}%)." if len(shown) >= 2 else
            f"Too few stays ended in {where} {_during(state.period)} to compare types of service.")
    out.append(PanelContent(
        key="sa-by-model", title="Planned move-on by type of service", headline=head,
        chart=bar_chart("sa-by-model", state.key, labels, rates, unit="percent", title=f"Planned move-on by type of service, {where}", desc=head),
        tables=[TableSpec(pt, f"Stays ended by type of service, {when}, {where}", "planned_move_on_by_service_type",
                          rate_columns=("Planned move-on (%)",))],
        definitions=("Differences between types of service partly reflect who each service takes in (for example "
                     "people with higher needs go to congregate hostels); the supported housing study (action 7.3) "
                     "adjusts for needs at entry. These are descriptive figures."),
    ))
    # where people went
    dm = df if model is None else df[df["model"] == model]
    dest = codes("destination")
    t3 = crosstab(dm, "destination", None, row_order=dest, col_name="Stays ended")
    t3.index = [label("destination", d) for d in t3.index]
    pt3 = with_shares(protect(t3, policy, col_total=True, index_name="Went to"), "Stays ended")
    tot3 = cell(pt3, "Total", "Stays ended")
    settled = shown_sum(pt3, [label("destination", d) for d in ("social_rented", "private_rented", "housing_first")], "Stays ended")
    p3 = share(settled, tot3, policy)
    svc = f" ({label('accommodation_model', model)})" if model else ""
    head3 = (f"{p3:.0f}% of people leaving supported accommodation{svc} in {where} {_during(state.period)} went to a settled home "
             "(social or private rented, or Housing First)." if p3 is not None else
             f"The share of people leaving supported accommodation{svc} in {where} {_during(state.period)} for a settled home is hidden to protect privacy.")
    labels3 = [label("destination", d) for d in dest]
    out.append(PanelContent(
        key="sa-destinations", title="Where people went when they left", headline=head3,
        chart=bar_chart("sa-destinations", state.key, labels3, [share(cell(pt3, lab, "Stays ended"), tot3, policy) for lab in labels3],
                        unit="percent", title=f"Destinations on leaving supported accommodation, {where}", desc=head3),
        tables=[TableSpec(pt3, f"Destinations of stays ended, {when}, {where}", "supported_accommodation_destinations",
                          rate_columns=("Share (%)",))],
        definitions="Destination as the provider recorded it when the stay ended.",
    ))
    # kept the settled home for 12 months
    dk = _area_rows(agg, "sa_departures", state, month_shift=12, model=model)
    dk = dk[dk["kept_12m"].isin(["kept", "lost"])].assign(
        result=lambda d: np.where(d["kept_12m"] == "kept", "Kept it 12 months", "Lost it, returned or died"))
    t4 = crosstab(dk, "model", "result", row_order=models, col_order=["Kept it 12 months", "Lost it, returned or died"])
    t4.index = [label("accommodation_model", m) for m in t4.index]
    pt4 = with_rates(protect(t4, policy, row_total=True, col_total=True, index_name="Type of service"),
                     {"Kept (%)": ("Kept it 12 months", "Total")})
    n4, r4 = cell(pt4, "Total", "Total"), cell(pt4, "Total", "Kept (%)")
    cohort = period_label(_cohort_period(state, 12))
    head4 = (f"Of the {fmt_count(n4)} people who left supported accommodation{svc} for a settled home {_during(_cohort_period(state, 12))} in {where}, "
             f"{r4:.0f}% still had a settled home 12 months later." if n4 and r4 is not None else
             f"How many people who moved on {_during(_cohort_period(state, 12))} kept their settled home for 12 months is hidden or not known yet.")
    labels4 = [label("accommodation_model", m) for m in models]
    out.append(PanelContent(
        key="sa-kept", title="Kept their settled home for 12 months", headline=head4,
        chart=bar_chart("sa-kept", state.key, labels4, [cell(pt4, lab, "Kept (%)") for lab in labels4], unit="percent",
                        title=f"Kept their settled home for 12 months, {where}", desc=head4),
        tables=[TableSpec(pt4, f"Moved on to a settled home in {cohort}: outcome at 12 months, {where}", "kept_settled_home_12_months",
                          rate_columns=("Kept (%)",))],
        definitions=("People who moved into a settled tenancy within 14 days of leaving, whose first 12 months ended in "
                     "the chosen period. Kept = the tenancy had not ended (other than by a planned move), and they had "
                     "not returned to homelessness or died, 12 months after moving in (supported housing study definitions)."),
    ))
    # length of stay
    bands = codes("stay_length")
    t5 = crosstab(dm, "stay_length", None, row_order=bands, col_name="Stays ended")
    t5.index = [label("stay_length", b) for b in t5.index]
    pt5 = with_shares(protect(t5, policy, col_total=True, index_name="Length of stay"), "Stays ended")
    tot5 = cell(pt5, "Total", "Stays ended")
    long_ = shown_sum(pt5, [label("stay_length", b) for b in ("1_to_2_years", "over_2_years")], "Stays ended")
    p5 = share(long_, tot5, policy)
    head5 = (f"{p5:.0f}% of the stays{svc} that ended in {where} {_during(state.period)} had lasted more than a year."
             if p5 is not None else f"How long stays{svc} lasted in {where} {_during(state.period)} is hidden to protect privacy.")
    labels5 = [label("stay_length", b) for b in bands]
    out.append(PanelContent(
        key="sa-length", title="How long people stayed", headline=head5,
        chart=bar_chart("sa-length", state.key, labels5, [share(cell(pt5, lab, "Stays ended"), tot5, policy) for lab in labels5],
                        unit="percent", title=f"Length of stay, {where}", desc=head5),
        tables=[TableSpec(pt5, f"Length of stays ended, {when}, {where}", "supported_accommodation_length_of_stay", rate_columns=("Share (%)",))],
        definitions="From the start to the end of the stay.",
    ))
    # current residents
    cur = agg["sa_current"]
    if state.area != COUNTY and len(cur):
        cur = cur[cur["district"] == state.area]
    t6 = crosstab(cur, "model", None, row_order=models, col_name="People resident") if len(cur) else \
        pd.DataFrame({"People resident": [0] * len(models)}, index=models)
    t6.index = [label("accommodation_model", m) for m in t6.index]
    pt6 = protect(t6, policy, col_total=True, index_name="Type of service")
    n6 = cell(pt6, "Total", "People resident")
    ex = agg.extract_date
    head6 = (f"On {ex.day} {ex:%B %Y}, {fmt_count(n6)} {plural(n6, 'stay was', 'stays were')} open in supported accommodation in {where}."
             if n6 is not None else f"The number of people in supported accommodation in {where} is hidden to protect privacy.")
    out.append(PanelContent(
        key="sa-current", title="Living in supported accommodation on the extract date", headline=head6,
        chart=bar_chart("sa-current", state.key, labels4, [cell(pt6, lab, "People resident") for lab in labels4],
                        title=f"Open stays by type of service, {where}", desc=head6),
        tables=[TableSpec(pt6, f"Open stays on {ex.day} {ex:%B %Y}, {where}", "supported_accommodation_open_stays")],
        definitions="Stays that had started and not ended by the extract date; not affected by the period filter.",
    ))
    return out


# --------------------------------------------------------------------------------------------
# District benchmarking
# --------------------------------------------------------------------------------------------

BENCHMARK_MEASURES: tuple[tuple[str, str], ...] = (
    ("Prevention duties ending with accommodation secured", "prevention"),
    ("Relief duties ending with accommodation secured", "relief"),
    ("Supported accommodation stays ending in planned move-on", "move_on"),
    ("Settled tenancies sustained at 12 months", "sustained"),
    ("Homeless again within 12 months of moving in", "returns"),
    ("People newly seen sleeping rough, per 100,000 residents", "arrivals"),
)


def _benchmark_counts(agg: Aggregates, state: FilterState, measure: str) -> tuple[pd.DataFrame, str, str, str] | None:
    """District x [Yes, No] counts for a proportion measure: (table, yes label, no label, definition)."""
    p = state.period
    if measure in ("prevention", "relief"):
        df = agg.select("duty_outcomes", period=p, duty=measure)
        ok = PREVENTION_SUCCESS if measure == "prevention" else RELIEF_SUCCESS
        yes, no = "Accommodation secured", "Other endings"
        df = df.assign(result=np.where(df["reason"].isin(ok), yes, no))
        defs = f"{measure.capitalize()} duties that ended in the period; success = accommodation secured for 6+ months."
    elif measure == "move_on":
        df = agg.select("sa_departures", period=p)
        yes, no = "Planned move-on", "Other endings"
        df = df.assign(result=np.where(df["departure_reason"] == "planned_move_on", yes, no))
        defs = "Stays that ended in the period, by the district where the service is."
    elif measure == "sustained":
        df = agg.select("tenancy_outcomes", period=p, month_shift=12)
        df = df[~df["outcome_12m"].isin(["not_yet", "died"])]
        yes, no = "Sustained", "Lost"
        df = df.assign(result=np.where(df["outcome_12m"].isin(["sustained", "planned_move"]), yes, no))
        defs = ("Settled tenancies whose first 12 months ended in the period; sustained = still running or ended in a "
                "planned move; tenants who died within the year are left out.")
    elif measure == "returns":
        if not agg.available("returns_outcomes"):
            return None
        df = agg.select("returns_outcomes", period=p, month_shift=12, window_months=12)
        df = df[df["outcome"] != "not_yet"]
        yes, no = "Returned", "Did not return (or died first)"
        df = df.assign(result=np.where(df["outcome"] == "returned", yes, no))
        defs = "People whose first 12 months in a settled home ended in the period; returned as in the returns study."
    else:
        return None
    t = crosstab(df, "district", "result", row_order=list(DISTRICTS), col_order=[yes, no])
    return t, yes, no, defs


def benchmarking_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> list[PanelContent]:
    measure = state.group or "prevention"
    name = dict((v, k) for k, v in BENCHMARK_MEASURES)[measure]
    when = period_label(state.period)
    key = "benchmark"
    labels = [label("district", d) for d in DISTRICTS]
    if measure == "arrivals":
        if not agg.available("new_arrivals"):
            return [_not_available(key, name, "Figures on new arrivals")]
        df = agg.select("new_arrivals", period=state.period)
        t = crosstab(df, "district", None, row_order=list(DISTRICTS), col_name="People newly seen")
        t.index = labels
        pt = protect(t, policy, col_total=True, index_name="District")
        pops = pd.Series([DISTRICT_POPULATION[d] for d in DISTRICTS] + [sum(DISTRICT_POPULATION.values())], index=labels + ["Total"])
        r = protect_rate(pt.numeric["People newly seen"], pops, policy, per=100_000)
        values, numeric = pt.values.copy(), pt.numeric.copy()
        values["Residents (Census 2021)"] = pops.map(lambda v: f"{v:,}")
        numeric["Residents (Census 2021)"] = pops
        rate = r.numeric["rate"].round(1)
        numeric["Per 100,000 residents"] = rate
        values["Per 100,000 residents"] = r.values["rate"].where(r.mask["rate"], rate)
        mask, prim = pt.mask.copy(), pt.primary_mask.copy()
        mask["Residents (Census 2021)"], prim["Residents (Census 2021)"] = False, False
        mask["Per 100,000 residents"], prim["Per 100,000 residents"] = r.mask["rate"], r.primary_mask["rate"]
        pt = dataclasses.replace(pt, values=values, numeric=numeric, mask=mask, primary_mask=prim,
                                 footnote=policy.footnote_text(rates=True, summaries=False))
        centre = cell(pt, "Total", "Per 100,000 residents")
        points = [(lab, float(pops[lab]), cell(pt, lab, "Per 100,000 residents")) for lab in labels]
        limits = lambda n, c: poisson_rate_limits(n, c)  # noqa: E731
        x_title, unit, rate_col = "Residents (Census 2021)", "rate", "Per 100,000 residents"
        defs = ("People newly seen sleeping rough in the period, in the district where first seen, per 100,000 residents "
                "(Census 2021, approximate: to be checked against the ONS table before real figures are published). "
                "Limits use the Poisson distribution (normal approximation) around the county rate.")
        counts_col = "People newly seen"
    else:
        got = _benchmark_counts(agg, state, measure)
        if got is None:
            return [_not_available(key, name, "These figures")]
        t, yes, no, defs = got
        t.index = labels
        pt = with_rates(protect(t, policy, row_total=True, col_total=True, index_name="District"),
                        {f"{yes} (%)": (yes, "Total")})
        rate_col, counts_col = f"{yes} (%)", yes
        centre = cell(pt, "Total", rate_col)
        points = [(lab, cell(pt, lab, "Total"), cell(pt, lab, rate_col)) for lab in labels]
        limits, x_title, unit = proportion_limits, "Number of people (or duties, stays, tenancies) in the district", "percent"
        defs += " Limits use the binomial distribution around the county percentage."
    shown_points = [(n_, float(x), float(y)) for n_, x, y in points if x is not None and y is not None and x > 0]
    flags = []
    for _lab, x, y in points:
        if x is None or y is None or centre is None or x <= 0:
            flags.append(pt.policy.suppressed_marker if y is None else "")
            continue
        lim = limits(np.asarray([float(x)]), centre)
        lo95, hi95 = lim["95"][0][0], lim["95"][1][0]
        lo99, hi99 = lim["99.8"][0][0], lim["99.8"][1][0]
        flags.append("Higher than expected (outside 99.8% limits)" if y > hi99 else
                     "Lower than expected (outside 99.8% limits)" if y < lo99 else
                     "Higher (outside 95% limits)" if y > hi95 else
                     "Lower (outside 95% limits)" if y < lo95 else "Within the expected range")
    values = pt.values.copy()
    values["Compared with the county"] = flags + [""]
    numeric = pt.numeric.copy()
    numeric["Compared with the county"] = np.nan
    mask, prim = pt.mask.copy(), pt.primary_mask.copy()
    mask["Compared with the county"], prim["Compared with the county"] = False, False
    pt = dataclasses.replace(pt, values=values, numeric=numeric, mask=mask, primary_mask=prim)
    outside = [lab for lab, f in zip(labels, flags, strict=True) if "99.8%" in f]
    if centre is None:
        head = f"The county figure {_during(state.period)} is hidden to protect privacy, so districts cannot be compared."
    else:
        c_text = f"{centre:.0f}%" if unit == "percent" else f"{centre:.1f} per 100,000 residents"
        head = f"Across Oxfordshire, {_during(state.period)}, the figure was {c_text}. "
        head += (f"{', '.join(outside)} {'was' if len(outside) == 1 else 'were'} outside the 99.8% limits, a difference unlikely to be chance."
                 if outside else "No district was outside the 99.8% limits: the differences between districts are within what chance alone would give.")
    chart = funnel_plot(key, state.key, shown_points, centre or 0.0, limits, title=f"{name}: districts compared, {when}",
                        desc=head, x_title=x_title, unit=unit) if centre is not None else ""
    spec = TableSpec(pt, f"{name} by district, {when}", f"benchmark_{measure}",
                     rate_columns=(rate_col,) if unit == "percent" else ())
    _ = counts_col
    return [PanelContent(
        key=key, title=name, headline=head, chart=chart, tables=[spec],
        definitions=(defs + " A funnel plot shows each district against its size: districts inside the funnel differ from "
                     "the county only as much as chance would make them; smaller districts have wider limits. Districts "
                     "are not ranked, because rankings of small numbers mostly reflect chance."),
    )]


# --------------------------------------------------------------------------------------------
# Entry points for the notebooks
# --------------------------------------------------------------------------------------------

PAGE_SPECS: dict[str, dict] = {
    "overview": dict(title="Homelessness in Oxfordshire: overview",
                     intro="The main measures of the Housing Led system, for a district and a period you choose.",
                     build=overview_panels),
    "returns": dict(title="Returns to homelessness",
                    intro="How many people were homeless again after moving into a settled home.",
                    build=returns_panels, group_options=[(k, v) for k, v in RETURNS_GROUPS],
                    group_label="Compare by", default_group="tenure"),
    "new_arrivals": dict(title="New arrivals on the streets",
                         intro="People seen sleeping rough for the first time in five years, and their earlier contact with services.",
                         build=arrivals_panels, group_options=[(k, v) for k, v in ARRIVAL_GROUPS],
                         group_label="Describe by", default_group="age_band"),
    "supported_housing": dict(title="Supported housing outcomes",
                              intro="How stays in supported accommodation ended and what happened next.",
                              build=supported_panels,
                              group_options=[("All types of service", "")] + [(label("accommodation_model", m), m) for m in codes("accommodation_model")],
                              group_label="Type of service"),
    "district_benchmarking": dict(title="District benchmarking",
                                  intro="The five districts compared fairly, allowing for their size.",
                                  build=benchmarking_panels, district=False,
                                  group_options=[(k, v) for k, v in BENCHMARK_MEASURES],
                                  group_label="Measure", default_group="prevention"),
}


def build_page(key: str, data_dir: str | Path | None = None) -> Page:
    """Build one page (its widgets and first view) on the aggregates of ``data_dir``."""
    from workbench.aggregates import load_aggregates

    spec = dict(PAGE_SPECS[key])
    agg = load_aggregates(data_dir)
    return Page(key, spec.pop("title"), spec.pop("intro"), agg, spec.pop("build"), **spec)


def show(key: str, data_dir: str | Path | None = None) -> Page | None:
    """Display a page in a notebook: a static snapshot of the first view, then the live page."""
    from IPython.display import HTML, display

    from workbench.store import StoreNotFound

    try:
        page = build_page(key, data_dir)
    except StoreNotFound:
        display(HTML('<p class="wb-notice">No data have been loaded yet. Ask the data team to run '
                     "<code>workbench ingest</code> (or <code>workbench demo</code> for the synthetic county).</p>"))
        return None
    # the snapshot is rendered as plain HTML by the workbench Voila template and hidden by CSS as
    # soon as the live page (class wb-live) is on screen
    display(HTML(page.snapshot_html()), metadata={"workbench_snapshot": True})
    display(page.widget)
    return page
