"""The benchmarking funnel as drawn: its limit lines, read back from the SVG through the chart's
own axis ticks, are the exact limits of :mod:`workbench.measures.funnel` on whole numbers of
people, within the drawing's rounding (coordinates are written to 0.1 px)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from workbench.dashboards import charts
from workbench.dashboards.pages.district_benchmarking import percent_limits
from workbench.measures.funnel import proportion_limits

NS = "{http://www.w3.org/2000/svg}"
SIZES = (20, 50, 120, 400)
CENTRE = 45.0  # percent
LEVELS = {"95": 0.95, "99.8": 0.998}


def _linear(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """(slope, intercept) of pixel = slope * value + intercept, from the first and last tick."""
    (v0, p0), (v1, p1) = pairs[0], pairs[-1]
    slope = (p1 - p0) / (v1 - v0)
    return slope, p0 - slope * v0


def read_funnel(svg: str) -> tuple[dict[str, np.ndarray], float, float]:
    """The limit polylines in data units ({"95-lower": array of (n, percent)}, in drawing
    order) and the pixel scales (px per person, px per percentage point)."""
    root = ET.fromstring(svg)
    xticks, yticks = [], []
    for t in root.iter(f"{NS}text"):
        if t.get("class") != "wb-axis" or t.text is None:
            continue
        text = t.text.replace(",", "")
        if t.get("text-anchor") == "middle" and re.fullmatch(r"\d+", text):
            xticks.append((float(text), float(t.get("x"))))
        elif t.get("text-anchor") == "end" and re.fullmatch(r"\d+%", text):
            yticks.append((float(text[:-1]), float(t.get("y")) - 4))  # labels sit 4 px below their line
    sx, x0 = _linear(sorted(xticks))
    sy, y0 = _linear(sorted(yticks))
    # the limit lines are the polylines in the limit colours: lower then upper, 95% then 99.8%
    colours = set(charts.LIMIT_COLOURS.values())
    lines = [p for p in root.iter(f"{NS}polyline") if p.get("stroke") in colours]
    names = [f"{lv}-{side}" for lv in LEVELS for side in ("lower", "upper")]
    assert len(lines) == len(names)
    out = {}
    for name, line in zip(names, lines, strict=True):
        px = np.array([[float(v) for v in xy.split(",")] for xy in line.get("points").split()])
        out[name] = np.column_stack([(px[:, 0] - x0) / sx, (px[:, 1] - y0) / sy])
    return out, sx, abs(sy)


def _exact(name: str, n: np.ndarray) -> np.ndarray:
    level, side = name.split("-")
    lo, hi = proportion_limits(CENTRE / 100, n, LEVELS[level])
    return (lo if side == "lower" else hi) * 100


@pytest.fixture(scope="module")
def drawn():
    points = [("Small", 15.0, 40.0), ("Middle", 120.0, 50.0), ("Large", 450.0, 44.0)]
    svg = charts.funnel_plot("f", "k", points, CENTRE, percent_limits, title="t", desc="d", x_title="n")
    return read_funnel(svg)


@pytest.mark.parametrize("n", SIZES)
def test_drawn_limits_equal_the_exact_limits_at_several_sizes(drawn, n):
    lines, sx, sy = drawn
    for name, xy in lines.items():
        i = int(np.argmin(np.abs(xy[:, 0] - n)))
        # a vertex is drawn at this whole number of people (to within the 0.1 px rounding)...
        assert abs(xy[i, 0] - n) <= 0.051 / sx, (name, n, xy[i, 0])
        # ...at the exact limit there, to within the 0.1 px rounding of its height
        want = float(_exact(name, np.array([float(n)]))[0])
        assert abs(xy[i, 1] - want) <= 0.051 / sy + 1e-9, (name, n, xy[i, 1], want)


def test_every_vertex_is_an_exact_limit_on_the_integer_grid(drawn):
    lines, sx, sy = drawn
    for name, xy in lines.items():
        n = np.round(xy[:, 0])
        assert np.all(np.abs(xy[:, 0] - n) <= 0.051 / sx), name
        # a dense line: every whole number from the funnel's opening to the axis end
        assert len(xy) > 400 and np.all(np.diff(n) == 1), name
        shown = (xy[:, 1] > 0.01) & (xy[:, 1] < 99.99)  # clipped at the axis, not by the limits
        assert np.max(np.abs(xy[shown, 1] - _exact(name, n[shown]))) <= 0.051 / sy + 1e-9, name


def test_the_lower_95_limit_at_120_is_not_drawn_from_the_origin(drawn):
    """The issue's symptom: the old chart joined two far-apart points through the origin, so the
    line at 120 sat far below the exact limit (35.7% around 45%)."""
    lines, _, _ = drawn
    xy = lines["95-lower"]
    i = int(np.argmin(np.abs(xy[:, 0] - 120)))
    assert abs(xy[i, 1] - 35.72) < 0.2


def test_a_wide_chart_uses_a_dense_integer_grid():
    grid = charts.limit_grid(900, 5000)
    assert len(grid) <= charts.MAX_LIMIT_VERTICES and np.all(grid == np.round(grid))
    assert grid[0] == 450 and grid[-1] == 5000
    assert np.isfinite(proportion_limits(0.45, grid, 0.95)[0]).all()


def test_the_page_draws_the_exact_limits_around_its_county_figure(county_data_dir):
    """On the page itself (synthetic county, last four quarters, prevention): the crude funnel's
    lines are measures.funnel's exact limits around the county percentage it shows."""
    from workbench.dashboards import filters, protection
    from workbench.dashboards.aggregates import COUNTY, Period, load_aggregates
    from workbench.dashboards.pages.district_benchmarking import benchmarking_panels
    from workbench.dashboards.protection import cell

    agg = load_aggregates(county_data_dir)
    qs = agg.quarters()
    state = filters.FilterState(COUNTY, Period(qs[-4].start, min(qs[-1].end, agg.last_month)), "prevention")
    (panel,) = benchmarking_panels(agg, state, protection.disclosure_policy())
    (_, svg), = panel.other_charts
    centre = cell(panel.tables[1].table, "Total", "Accommodation secured (%)")
    lines, sx, sy = read_funnel(svg)
    for name, xy in lines.items():
        n = np.round(xy[:, 0])
        assert np.all(np.abs(xy[:, 0] - n) <= 0.051 / sx) and len(xy) > 100, name
        level, side = name.split("-")
        lo, hi = proportion_limits(centre / 100, n, LEVELS[level])
        want = (lo if side == "lower" else hi) * 100
        shown = (xy[:, 1] > 0.01) & (xy[:, 1] < 99.99)
        assert np.max(np.abs(xy[shown, 1] - want[shown])) <= 0.051 / sy + 1e-9, name
