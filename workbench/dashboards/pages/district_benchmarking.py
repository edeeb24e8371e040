"""The district benchmarking page: the five districts compared fairly, allowing for their size
(funnel plots, with control limits from :mod:`workbench.measures.funnel`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from workbench.dashboards.aggregates import Aggregates
from workbench.dashboards.charts import funnel_plot
from workbench.dashboards.filters import FilterState
from workbench.dashboards.format import during, label, period_label
from workbench.dashboards.pages.common import not_available
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import cell, crosstab, protect, with_rates
from workbench.dashboards.tables import TableSpec
from workbench.definitions import DISTRICTS, district_population, outcome_codes
from workbench.measures.funnel import proportion_limits, rate_limits
from workbench.measures.monthly_counts import sustained_at_12_months
from workbench.measures.returns import closed_windows
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.rates import protect_rate

BENCHMARK_MEASURES: tuple[tuple[str, str], ...] = (
    ("Prevention duties ending with accommodation secured", "prevention"),
    ("Relief duties ending with accommodation secured", "relief"),
    ("Supported accommodation stays ending in planned move-on", "move_on"),
    ("Settled tenancies sustained at 12 months", "sustained"),
    ("Homeless again within 12 months of moving in", "returns"),
    ("People newly seen sleeping rough, per 100,000 residents", "arrivals"),
)


#: The control limits drawn and used to flag districts, by name as the chart labels them.
LEVELS: dict[str, float] = {"95": 0.95, "99.8": 0.998}


def percent_limits(n: np.ndarray, centre_pct: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Control limits around a percentage for denominators ``n``: the exact binomial limits of
    :func:`workbench.measures.funnel.proportion_limits` (as the system performance study draws
    them), in percent."""
    p = min(max(centre_pct / 100, 0.0), 1.0)
    out = {}
    for name, level in LEVELS.items():
        lo, hi = proportion_limits(p, n, level)
        out[name] = (np.asarray(lo) * 100, np.asarray(hi) * 100)
    return out


def per_resident_limits(population: np.ndarray, rate: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Control limits around a rate per 100,000 residents (:func:`workbench.measures.funnel.rate_limits`)."""
    return {name: rate_limits(rate, population, level) for name, level in LEVELS.items()}


def _benchmark_counts(agg: Aggregates, state: FilterState, measure: str) -> tuple[pd.DataFrame, str, str, str] | None:
    """District x [Yes, No] counts for a proportion measure: (table, yes label, no label, definition)."""
    p = state.period
    if measure in ("prevention", "relief"):
        df = agg.select("duty_outcomes", period=p, duty=measure)
        ok = outcome_codes(f"{measure}_success")
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
        yes, no = "Sustained", "Lost"
        df = sustained_at_12_months(df)
        df = df.assign(result=np.where(df["sustained"], yes, no))
        defs = ("Settled tenancies whose first 12 months ended in the period; sustained = still running or ended in a "
                "planned move; tenants who died within the year are left out.")
    elif measure == "returns":
        if not agg.available("returns_outcomes"):
            return None
        df = agg.select("returns_outcomes", period=p, month_shift=12, window_months=12)
        yes, no = "Returned", "Did not return (or died first)"
        df = closed_windows(df)
        df = df.assign(result=np.where(df["returned"], yes, no))
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
            return [not_available(key, name, "Figures on new arrivals")]
        df = agg.select("new_arrivals", period=state.period)
        t = crosstab(df, "district", None, row_order=list(DISTRICTS), col_name="People newly seen")
        t.index = labels
        pt = protect(t, policy, col_total=True, index_name="District")
        population = district_population()
        pops = pd.Series([population[d] for d in DISTRICTS] + [sum(population.values())], index=labels + ["Total"])
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
        limits = per_resident_limits
        x_title, unit, rate_col = "Residents (Census 2021)", "rate", "Per 100,000 residents"
        defs = ("People newly seen sleeping rough in the period, in the district where first seen, per 100,000 residents "
                "(Census 2021, ONS table P01). "
                "Limits use the Poisson distribution (normal approximation) around the county rate.")
    else:
        got = _benchmark_counts(agg, state, measure)
        if got is None:
            return [not_available(key, name, "These figures")]
        t, yes, no, defs = got
        t.index = labels
        pt = with_rates(protect(t, policy, row_total=True, col_total=True, index_name="District"),
                        {f"{yes} (%)": (yes, "Total")})
        rate_col = f"{yes} (%)"
        centre = cell(pt, "Total", rate_col)
        points = [(lab, cell(pt, lab, "Total"), cell(pt, lab, rate_col)) for lab in labels]
        limits, x_title, unit = percent_limits, "Number of people (or duties, stays, tenancies) in the district", "percent"
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
        head = f"The county figure {during(state.period)} is hidden to protect privacy, so districts cannot be compared."
    else:
        c_text = f"{centre:.0f}%" if unit == "percent" else f"{centre:.1f} per 100,000 residents"
        head = f"Across Oxfordshire, {during(state.period)}, the figure was {c_text}. "
        head += (f"{', '.join(outside)} {'was' if len(outside) == 1 else 'were'} outside the 99.8% limits, a difference unlikely to be chance."
                 if outside else "No district was outside the 99.8% limits: the differences between districts are within what chance alone would give.")
    chart = funnel_plot(key, state.key, shown_points, centre or 0.0, limits, title=f"{name}: districts compared, {when}",
                        desc=head, x_title=x_title, unit=unit) if centre is not None else ""
    spec = TableSpec(pt, f"{name} by district, {when}", f"benchmark_{measure}",
                     rate_columns=(rate_col,) if unit == "percent" else ())
    return [PanelContent(
        key=key, title=name, headline=head, chart=chart, tables=[spec],
        definitions=(defs + " A funnel plot shows each district against its size: districts inside the funnel differ from "
                     "the county only as much as chance would make them; smaller districts have wider limits. Districts "
                     "are not ranked, because rankings of small numbers mostly reflect chance."),
    )]
