"""The Housing First page (strategy action 5.4): tenancies started each quarter, and how many
tenants were still in their tenancy 6, 12 and 24 months after it began (Kaplan-Meier), against
England's Housing First pilots."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import pandas as pd

from workbench import definitions as registry
from workbench.dashboards.aggregates import COUNTY, Aggregates
from workbench.dashboards.charts import bar_chart
from workbench.dashboards.filters import FilterState
from workbench.dashboards.flow_charts import sustainment_chart
from workbench.dashboards.format import during, fmt_count, month_label, plural
from workbench.dashboards.pages.common import area_rows, not_available, place_name, quarter_label
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import cell, crosstab, protect
from workbench.dashboards.tables import TableSpec
from workbench.measures.housing_first import DAYS_PER_MONTH, ENGLAND_PILOTS_12_MONTHS
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import ProtectedTable

HORIZONS: tuple[int, ...] = (6, 12, 24)
TENANCIES, FOLLOWED, LOST = "Tenancies", "Followed this long", "Lost by then"
# not "(%)" columns: these are Kaplan-Meier estimates, not one count's share of another
SUSTAINED, LOWER, UPPER, PILOTS = ("Still in tenancy, Kaplan-Meier %", "95% interval from, %", "95% interval to, %",
                                   "England pilots, %")
ESTIMATES = (SUSTAINED, LOWER, UPPER)
PILOTS_LABEL = f"England's Housing First pilots at 12 months (about {ENGLAND_PILOTS_12_MONTHS:.0%})"
SOURCE = ("England's Housing First pilots (the three regional pilots evaluated for MHCLG) reported about "
          f"{ENGLAND_PILOTS_12_MONTHS:.0%} of people still in their tenancy at 12 months and about 84% at 3 years "
          "(the workbench's reference definitions, 'Housing First tenancy sustainment (England pilots)'; the "
          "figure is kept in workbench/definitions.yaml, system_performance.housing_first). Theirs is a simple "
          "share of the people followed up, so it is close to, but not the same as, the Kaplan-Meier estimate here.")


def _starts_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> PanelContent:
    key, title, where = "hf-started", "Housing First tenancies started, by quarter", place_name(state)
    if not agg.available("tenancy_outcomes"):
        return not_available(key, title, "Figures on Housing First")
    # the overview's table, from the same rows of the same aggregate: the two pages show (and
    # hide) exactly the same figures
    started = area_rows(agg, "tenancy_outcomes", state, tenure="housing_first")
    qs = [q for q in agg.quarters() if state.period.start <= q.start <= state.period.end]
    labels = {m: quarter_label(m) for m in started["month"].unique()}
    started = started.assign(q=started["month"].map(labels))
    t = crosstab(started, "q", None, row_order=[q.label for q in qs], col_name="Tenancies started")
    pt = protect(t, policy, col_total=True, index_name="Quarter")
    n = cell(pt, "Total", "Tenancies started")
    head = (f"{fmt_count(n)} Housing First {plural(n, 'tenancy', 'tenancies')} started {during(state.period)} in {where}."
            if n is not None else
            f"The number of Housing First tenancies started {during(state.period)} in {where} is hidden to protect privacy.")
    chart = bar_chart(key, state.key, [q.label for q in qs], [cell(pt, q.label, "Tenancies started") for q in qs],
                      title=f"Housing First tenancies started by quarter, {where}", desc=head)
    return PanelContent(
        key=key, title=title, headline=head, chart=chart,
        notice=("The action plan asks for six-monthly reviews of the numbers delivered (action 5.4) but sets no "
                "numeric target, so no target line is drawn."),
        tables=[TableSpec(pt, f"Housing First tenancies started by quarter, {where}", "housing_first_started_by_quarter")],
        definitions=("Housing First tenancies are settled tenancies recorded with the Housing First tenure, counted in "
                     "the quarter they started."))


def sustainment(agg: Aggregates, state: FilterState) -> pd.DataFrame:
    """Kaplan-Meier sustainment of the Housing First tenancies in the chosen area that started by
    the end of the chosen period, followed to the extract date: one row per horizon with
    tenancies, followed (still at risk at the horizon), lost (by the horizon), sustained, lower,
    upper (true figures, before any protection)."""
    from workbench.statistics.kaplan_meier import KaplanMeier  # only this panel needs it

    district = None if state.area == COUNTY else state.area
    d = agg.select("hf_durations", district=district)
    d = d[d["month"] <= state.period.end]
    times = np.array([m * DAYS_PER_MONTH for m in HORIZONS])
    rows = []
    total = int(d["n"].sum())
    if total:
        km = KaplanMeier().fit(d, "days", "lost", weights_col="n")
        at = km.survival_at(times, extend=False)
        last = float(km.timeline_[-1])
    for i, (m, t) in enumerate(zip(HORIZONS, times, strict=True)):
        followed = int(d.loc[d["days"] >= t, "n"].sum())
        lost = int(d.loc[(d["days"] <= t) & (d["lost"] == 1), "n"].sum())
        s = lo = hi = np.nan
        if total and t <= last:
            s, lo, hi = (float(at.iloc[i][c]) for c in ("surv", "lower", "upper"))
        rows.append({"months": m, "tenancies": total, "followed": followed, "lost": lost,
                     "sustained": s, "lower": lo, "upper": hi})
    return pd.DataFrame(rows)


def sustainment_table(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> ProtectedTable:
    """Horizons x [tenancies, followed this long, lost by then] (protected counts) and the
    Kaplan-Meier estimate with its interval in whole percent, shown only where the tenancies are
    at least ``min_group_for_summary``, the lost count is shown (not 1 to 4) and at least the
    threshold were followed that long: an estimate of a small group, or from a few losses, would
    say how many tenancies were lost. Plus the pilots' figure at 12 months."""
    km = sustainment(agg, state)
    # the counts as sums of the aggregate's rows (crosstab keeps which rows: the site-wide audit
    # traces every figure), equal to the Kaplan-Meier table's
    district = None if state.area == COUNTY else state.area
    d = agg.select("hf_durations", district=district)
    d = d[d["month"] <= state.period.end]
    parts = []
    for m in HORIZONS:
        t_days = m * DAYS_PER_MONTH
        parts += [d.assign(after=f"{m} months", col=TENANCIES), d[d["days"] >= t_days].assign(after=f"{m} months", col=FOLLOWED),
                  d[(d["days"] <= t_days) & (d["lost"] == 1)].assign(after=f"{m} months", col=LOST)]
    long = pd.concat(parts)
    long.attrs["aggregate"] = "hf_durations"
    t = crosstab(long, "after", "col", row_order=[f"{m} months" for m in HORIZONS], col_order=[TENANCIES, FOLLOWED, LOST])
    pt = protect(t, policy, index_name="After")
    min_group = int(registry.definition("disclosure", "min_group_for_summary"))
    ok = ((km["tenancies"] >= min_group) & (km["followed"] >= policy.threshold) & km["sustained"].notna()).to_numpy()
    ok &= ~pt.mask[LOST].to_numpy() & ~pt.mask[FOLLOWED].to_numpy() & ~pt.mask[TENANCIES].to_numpy()
    # and as shown: a perturbed count of a group of 10 or more can show fewer, and an estimate beside
    # a group shown smaller than the rule would read as a breach of it
    ok &= (pt.numeric[TENANCIES].to_numpy() >= min_group)
    est = {SUSTAINED: km["sustained"], LOWER: km["lower"], UPPER: km["upper"]}
    values, numeric, mask, prim = pt.values.copy(), pt.numeric.copy(), pt.mask.copy(), pt.primary_mask.copy()
    for name, series in est.items():
        v = pd.Series((series.to_numpy() * 100).round(0), index=pt.values.index).where(ok)
        numeric[name] = v
        values[name] = v.astype(object).where(ok, policy.suppressed_marker)
        mask[name] = ~ok
        prim[name] = False
    pilots = pd.Series([ENGLAND_PILOTS_12_MONTHS * 100 if m == 12 else np.nan for m in HORIZONS], index=pt.values.index)
    numeric[PILOTS] = pilots
    # words, not a rate of these tenancies: a published figure where it applies, blank elsewhere
    values[PILOTS] = [f"{v:.0f}" if pd.notna(v) else "" for v in pilots]
    mask[PILOTS] = False
    prim[PILOTS] = False
    src = pt.sources
    if src is not None:
        src = src.copy()
        for name in (*ESTIMATES, PILOTS):
            src[name] = None
    note = pt.footnote + (" Still in tenancy is the Kaplan-Meier estimate from the unrounded counts, shown only "
                          f"for groups of at least {min_group} tenancies; England pilots is a published figure.")
    return dataclasses.replace(pt, values=values, numeric=numeric, mask=mask, primary_mask=prim, footnote=note, sources=src)


def _compare(lo: float | None, hi: float | None) -> str:
    """How the interval stands against the pilots' figure, in words that rounding cannot
    contradict: "below" only if the shown upper limit is below it, and so on."""
    pilots = round(ENGLAND_PILOTS_12_MONTHS * 100)
    if lo is None or hi is None:
        return ""
    if hi < pilots:
        return f", lower than the about {pilots}% in England's Housing First pilots"
    if lo > pilots:
        return f", higher than the about {pilots}% in England's Housing First pilots"
    return f", not clearly different from the about {pilots}% in England's Housing First pilots"


def _sustainment_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> PanelContent:
    key, title, where = "hf-sustainment", "Tenancies sustained at 6, 12 and 24 months", place_name(state)
    if not agg.available("hf_durations"):
        return not_available(key, title, "Figures on Housing First tenancy sustainment")
    pt = sustainment_table(agg, state, policy)
    by = month_label(state.period.end)
    n = cell(pt, "6 months", TENANCIES)
    s12, lo, hi = (cell(pt, "12 months", c) for c in ESTIMATES)
    if n is None:
        head = f"Too few Housing First tenancies started in {where} by {by} to show how many were sustained."
    elif s12 is None:
        head = (f"Of the {fmt_count(n)} Housing First tenancies that started in {where} by {by}, the share still in "
                "their tenancy after 12 months is hidden or not known yet.")
    else:
        head = (f"Of the {fmt_count(n)} Housing First tenancies that started in {where} by {by}, an estimated "
                f"{s12:.0f}% were still in their tenancy (or had moved on as planned) 12 months after it began "
                f"(95% interval {lo:.0f}% to {hi:.0f}%){_compare(lo, hi)}.")
    values = [cell(pt, f"{m} months", SUSTAINED) for m in HORIZONS]
    intervals = []
    for m in HORIZONS:
        a, b = cell(pt, f"{m} months", LOWER), cell(pt, f"{m} months", UPPER)
        intervals.append((a, b) if a is not None and b is not None else None)
    chart = sustainment_chart(key, state.key, list(HORIZONS), values, intervals,
                              comparator=(PILOTS_LABEL, ENGLAND_PILOTS_12_MONTHS * 100),
                              title=f"Housing First tenancies sustained, {where}", desc=head)
    return PanelContent(
        key=key, title=title, headline=head, chart=chart,
        tables=[TableSpec(pt, f"Housing First tenancies started by {by} and sustained, {where}",
                          "housing_first_sustainment", rate_columns=ESTIMATES)],
        definitions=("All Housing First tenancies in the chosen district (or the county) that started from the "
                     "beginning of the data to the end of the chosen period, each followed to the extract date. A "
                     "tenancy is lost when it ends for a reason other than a planned move to other settled housing or "
                     "death (eviction, abandonment, custody, a long hospital or care admission, not known); tenancies "
                     "still running, planned moves and deaths are counted up to that day and no further (Kaplan-Meier, "
                     "95% interval on the log scale, as the system performance study). 'Followed this long' counts the "
                     f"tenancies that had run at least that many months. {SOURCE}"))


def housing_first_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> Iterator[PanelContent]:
    # a generator: the page shows each panel as soon as it is ready
    yield _starts_panel(agg, state, policy)
    yield _sustainment_panel(agg, state, policy)
