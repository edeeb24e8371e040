"""Charts of the monitoring pages that :mod:`workbench.dashboards.charts` does not draw: tenancy
sustainment at fixed horizons against a comparator line, and a flow diagram (Sankey) of people
moving between states. Inline SVG, with a title and description for screen readers, in the
palette's contrast-checked colours; the same figures are always in a table beside the chart."""

from __future__ import annotations

from collections.abc import Sequence

from workbench.dashboards.charts import _axis, _svg_open, _tick_label
from workbench.dashboards.format import esc, fmt_count, fmt_pct
from workbench.dashboards.palette import CENTRE, OKABE_ITO, PAGE, TEXT_HIDDEN


def sustainment_chart(
    key: str,
    filters: str,
    months: Sequence[int],
    values: Sequence[float | None],
    intervals: Sequence[tuple[float, float] | None],
    *,
    comparator: tuple[str, float] | None,
    title: str,
    desc: str,
) -> str:
    """Percent still in their tenancy at each horizon (months after the start, from 100% at 0),
    with 95% intervals as whiskers and, where given, a comparator as a dashed horizontal line.
    A hidden estimate is written as hidden and not drawn (its line has a gap)."""
    width, height, left, right, top, bottom = 760, 320, 56, 24, 44, 52
    xmax = max(months, default=12)
    _, ticks = _axis(100.0)
    px = (width - left - right) / xmax
    py = (height - top - bottom) / 100.0

    def xy(m: float, v: float) -> tuple[float, float]:
        return left + m * px, height - bottom - v * py

    colour = OKABE_ITO["blue"]
    out = [_svg_open(key, filters, width, height, title, desc)]
    for t in ticks:
        y = height - bottom - t * py
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="wb-grid"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="wb-axis" text-anchor="end">{_tick_label(t, "percent")}</text>')
    for m in (0, *months):
        out.append(f'<text x="{left + m * px:.1f}" y="{height - bottom + 18}" class="wb-axis" text-anchor="middle">{m}</text>')
    out.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 12}" class="wb-label" text-anchor="middle">'
               "Months since the tenancy started</text>")
    if comparator is not None:
        name, value = comparator
        (x0, y), (x1, _) = xy(0, value), xy(xmax, value)
        out.append(f'<line data-comparator="{value:g}" x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" '
                   f'stroke="{CENTRE}" stroke-width="1.5" stroke-dasharray="6 4"/>')
    points = [(0, 100.0)] + [(m, v) for m, v in zip(months, values, strict=True)]
    seg: list[str] = []
    for m, v in points:
        if v is None:
            if len(seg) > 1:
                out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
            seg = []
            continue
        seg.append("{:.1f},{:.1f}".format(*xy(m, v)))
    if len(seg) > 1:
        out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
    for m, v, ci in zip(months, values, intervals, strict=True):
        cx, _ = xy(m, 0)
        if v is None:
            out.append(f'<text x="{cx:.1f}" y="{top + 14}" class="wb-hidden-label" text-anchor="middle">[c] hidden</text>')
            continue
        if ci is not None:
            (_, ylo), (_, yhi) = xy(m, ci[0]), xy(m, ci[1])
            out.append(f'<line x1="{cx:.1f}" y1="{ylo:.1f}" x2="{cx:.1f}" y2="{yhi:.1f}" stroke="{colour}" stroke-width="1.5"/>')
            for yy in (ylo, yhi):
                out.append(f'<line x1="{cx - 5:.1f}" y1="{yy:.1f}" x2="{cx + 5:.1f}" y2="{yy:.1f}" stroke="{colour}" stroke-width="1.5"/>')
        _, cy = xy(m, v)
        text = fmt_pct(v) + (f" (95% interval {fmt_pct(ci[0])} to {fmt_pct(ci[1])})" if ci is not None else "")
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" fill="{colour}" stroke="{PAGE}">'
                   f"<title>{m} months: {esc(text)}</title></circle>")
        out.append(f'<text x="{cx - 8:.1f}" y="{cy + 18:.1f}" class="wb-value" text-anchor="end">{esc(fmt_pct(v))}</text>')
    legend = [("Still in their tenancy (Kaplan-Meier, 95% interval)", colour, "")]
    if comparator is not None:
        legend.append((comparator[0], CENTRE, "6 4"))
    for k, (name, c, dash) in enumerate(legend):
        lx, ly = left + 8, 14 + 16 * k
        out.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 22}" y2="{ly - 4}" stroke="{c}" stroke-width="2.5"'
                   f'{f" stroke-dasharray={chr(34)}{dash}{chr(34)}" if dash else ""}/>')
        out.append(f'<text x="{lx + 28}" y="{ly}" class="wb-label">{esc(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def sankey_chart(
    key: str,
    filters: str,
    sources: Sequence[str],
    targets: Sequence[str],
    flows: dict[tuple[str, str], float | None],
    source_totals: dict[str, float | None],
    target_totals: dict[str, float | None],
    *,
    title: str,
    desc: str,
    highlight: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> str:
    """A two-column flow diagram: where moves started (left) and where they ended (right), each
    band as wide as its (protected, rounded) count. Hidden flows are not drawn; a node is as tall
    as its shown total, or a thin stub labelled hidden. ``highlight`` flows (returns) are drawn in
    a second colour and listed in the legend."""
    width, left_x, right_x, node_w, top, gap = 760, 230, 470, 16, 40, 14
    shown_total = sum(v for v in source_totals.values() if v) or 1.0
    n_nodes = max(len(sources), len(targets))
    avail = 360.0
    scale = avail / max(shown_total, sum(v for v in target_totals.values() if v) or 1.0)
    stub = 4.0

    def layout(names: Sequence[str], totals: dict[str, float | None]) -> dict[str, tuple[float, float]]:
        pos, y = {}, float(top)
        for nm in names:
            h = (totals.get(nm) or 0) * scale
            h = max(h, stub)
            pos[nm] = (y, h)
            y += h + gap
        return pos

    left_pos, right_pos = layout(sources, source_totals), layout(targets, target_totals)
    height = int(max(max(y + h for y, h in left_pos.values()), max(y + h for y, h in right_pos.values())) + 40)
    height = max(height, top + n_nodes * (stub + gap) + 40)
    out = [_svg_open(key, filters, width, height, title, desc)]
    out.append(f'<text x="{left_x + node_w / 2:.0f}" y="22" class="wb-label" text-anchor="middle">From</text>')
    out.append(f'<text x="{right_x + node_w / 2:.0f}" y="22" class="wb-label" text-anchor="middle">To</text>')
    used_l = {nm: 0.0 for nm in sources}
    used_r = {nm: 0.0 for nm in targets}
    base, accent = OKABE_ITO["sky"], OKABE_ITO["vermillion"]
    for s in sources:
        for t in targets:
            v = flows.get((s, t))
            if not v:
                continue
            w = v * scale
            y0 = left_pos[s][0] + used_l[s]
            y1 = right_pos[t][0] + used_r[t]
            used_l[s] += w
            used_r[t] += w
            x0, x1 = left_x + node_w, right_x
            xm = (x0 + x1) / 2
            colour = accent if (s, t) in highlight else base
            path = (f"M{x0:.1f},{y0:.1f} C{xm:.1f},{y0:.1f} {xm:.1f},{y1:.1f} {x1:.1f},{y1:.1f} "
                    f"L{x1:.1f},{y1 + w:.1f} C{xm:.1f},{y1 + w:.1f} {xm:.1f},{y0 + w:.1f} {x0:.1f},{y0 + w:.1f} Z")
            out.append(f'<path data-flow="{esc(s)}|{esc(t)}" d="{path}" fill="{colour}" fill-opacity="0.45" '
                       f'stroke="{colour}" stroke-width="0.8"><title>{esc(s)} to {esc(t)}: {fmt_count(v)}</title></path>')
    for names, pos, totals, x, anchor, lx in ((sources, left_pos, source_totals, left_x, "end", left_x - 8),
                                              (targets, right_pos, target_totals, right_x, "start", right_x + node_w + 8)):
        for nm in names:
            y, h = pos[nm]
            total = totals.get(nm)
            out.append(f'<rect x="{x}" y="{y:.1f}" width="{node_w}" height="{h:.1f}" fill="{CENTRE}"/>')
            value = fmt_count(total) if total is not None else "[c] hidden"
            cls = "wb-label" if total is not None else "wb-hidden-label"
            out.append(f'<text x="{lx}" y="{y + min(h, 30) / 2 + 4:.1f}" class="{cls}" text-anchor="{anchor}">'
                       f"{esc(nm)} ({esc(value)})</text>")
    ly = height - 14
    out.append(f'<rect x="{left_x}" y="{ly - 10}" width="22" height="10" fill="{base}" fill-opacity="0.45" stroke="{base}"/>')
    out.append(f'<text x="{left_x + 28}" y="{ly}" class="wb-label">Moves</text>')
    if highlight:
        out.append(f'<rect x="{left_x + 110}" y="{ly - 10}" width="22" height="10" fill="{accent}" fill-opacity="0.45" stroke="{accent}"/>')
        out.append(f'<text x="{left_x + 138}" y="{ly}" class="wb-label">Returns from a settled home</text>')
    if any(v is None for v in flows.values()):
        out.append(f'<text x="{width - 10}" y="{ly}" class="wb-axis" text-anchor="end" fill="{TEXT_HIDDEN}">'
                   "Hidden flows are not drawn</text>")
    out.append("</svg>")
    return "".join(out)
