"""The district benchmarking page: the five districts compared fairly, allowing for their size
(funnel plots, with control limits from :mod:`workbench.measures.funnel`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from workbench.dashboards.aggregates import CASE_MIX_INDICATORS, Aggregates
from workbench.dashboards.charts import funnel_plot
from workbench.dashboards.filters import FilterState
from workbench.dashboards.format import during, label, period_label
from workbench.dashboards.pages.common import not_available
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import cell, crosstab, is_tracing, protect, with_rates
from workbench.dashboards.tables import TableSpec
from workbench.definitions import DISTRICTS, district_population, outcome_codes
from workbench.measures.benchmarking import INDICATORS, SETTLED_DESTINATIONS
from workbench.measures.funnel import proportion_limits, rate_limits, ratio_limits
from workbench.measures.monthly_counts import sustained_at_12_months
from workbench.measures.returns import closed_windows
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import ProtectedTable
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


Bands = dict[str, tuple[np.ndarray, np.ndarray]]

#: The flag a district gets, from the first band (lowest level first) it is outside of.
FLAGS: dict[str, tuple[str, str]] = {
    "99.8": ("Higher than expected (outside 99.8% limits)", "Lower than expected (outside 99.8% limits)"),
    "95": ("Higher (outside 95% limits)", "Lower (outside 95% limits)"),
}
WITHIN = "Within the expected range"
RATIO_COL, FLAG_COL = "Successes as % of expected", "Compared with the county"


def flag(value: float, bands: Bands) -> str:
    """Where ``value`` lies against the limits at its district's size (99.8% checked first)."""
    for name in ("99.8", "95"):
        lo, hi = (float(np.asarray(b).ravel()[0]) for b in bands[name])
        if value > hi:
            return FLAGS[name][0]
        if value < lo:
            return FLAGS[name][1]
    return WITHIN


def ratio_bands(expected: float | np.ndarray, variance: float | np.ndarray, target: float = 1.0) -> Bands:
    """Limits for an observed/expected ratio (:func:`workbench.measures.funnel.ratio_limits`)."""
    return {name: ratio_limits(target, expected, variance, level) for name, level in LEVELS.items()}


def with_column(pt: ProtectedTable, name: str, values: list, numeric: list, hidden: list[bool] | None = None,
                primary: list[bool] | None = None) -> ProtectedTable:
    """``pt`` with one more column, shown as given (``hidden`` where already protected)."""
    v, n, m, pm = pt.values.copy(), pt.numeric.copy(), pt.mask.copy(), pt.primary_mask.copy()
    v[name], n[name] = pd.Series(values, index=v.index, dtype=object), pd.Series(numeric, index=n.index, dtype=float)
    m[name] = hidden if hidden is not None else False
    pm[name] = primary if primary is not None else False
    return dataclasses.replace(pt, values=v, numeric=n, mask=m, primary_mask=pm)


def _outside(labels: list[str], flags: list[str], level: str) -> list[str]:
    return [lab for lab, f in zip(labels, flags, strict=True) if f"{level}%" in f]


def _outside_text(labels: list[str], flags: list[str]) -> str:
    far, near = _outside(labels, flags, "99.8"), _outside(labels, flags, "95")
    if far:
        return (f"{', '.join(far)} {'was' if len(far) == 1 else 'were'} outside the 99.8% limits, a difference "
                "unlikely to be chance.")
    text = "No district was outside the 99.8% limits"
    if near:
        return (text + f"; {', '.join(near)} {'was' if len(near) == 1 else 'were'} outside the 95% limits "
                "(chance alone puts a district there about once in twenty).")
    return text + ": the differences between districts are within what chance alone would give."


@dataclasses.dataclass
class View:
    """One comparison of the districts (crude or case-mix adjusted): its chart, table, headline
    and definitions."""

    name: str  # shown on the switch
    headline: str
    chart: str
    table: TableSpec
    definitions: str


def _crude_view(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, measure: str, name: str) -> View | None:
    """The districts' crude figures against the county's, with funnel limits for their size."""
    when = period_label(state.period)
    key = "benchmark"
    labels = [label("district", d) for d in DISTRICTS]
    if measure == "arrivals":
        if not agg.available("new_arrivals"):
            return None
        df = agg.select("new_arrivals", period=state.period)
        t = crosstab(df, "district", None, row_order=list(DISTRICTS), col_name="People newly seen")
        t.index = labels
        pt = protect(t, policy, col_total=True, index_name="District")
        population = district_population()
        pops = pd.Series([population[d] for d in DISTRICTS] + [sum(population.values())], index=labels + ["Total"])
        r = protect_rate(pt.numeric["People newly seen"], pops, policy, per=100_000)
        rate = r.numeric["rate"].round(1)
        pt = with_column(pt, "Residents (Census 2021)", list(pops.map(lambda v: f"{v:,}")), list(pops))
        pt = with_column(pt, "Per 100,000 residents", list(r.values["rate"].where(r.mask["rate"], rate)), list(rate),
                         list(r.mask["rate"]), list(r.primary_mask["rate"]))
        pt = dataclasses.replace(pt, footnote=policy.footnote_text(rates=True, summaries=False, perturbed=pt._audit.perturbed))
        rate_col = "Per 100,000 residents"
        points = [(lab, float(pops[lab]), cell(pt, lab, rate_col)) for lab in labels]
        # flags from the true counts (before rounding and suppression)
        true = [(float(pops[lab]), float(t.loc[lab, "People newly seen"]) / pops[lab] * 100_000) for lab in labels]
        true_centre = float(t["People newly seen"].sum()) / float(pops[labels].sum()) * 100_000
        limits = per_resident_limits
        x_title, unit = "Residents (Census 2021)", "rate"
        defs = ("People newly seen sleeping rough in the period, in the district where first seen, per 100,000 residents "
                "(Census 2021, ONS table P01). "
                "Limits use the Poisson distribution (normal approximation) around the county rate.")
    else:
        got = _benchmark_counts(agg, state, measure)
        if got is None:
            return None
        t, yes, no, defs = got
        t.index = labels
        pt = with_rates(protect(t, policy, row_total=True, col_total=True, index_name="District"),
                        {f"{yes} (%)": (yes, "Total")})
        rate_col = f"{yes} (%)"
        points = [(lab, cell(pt, lab, "Total"), cell(pt, lab, rate_col)) for lab in labels]
        n_true = t.sum(axis=1).astype(float)
        true = [(float(n_true[lab]), float(t.loc[lab, yes]) / n_true[lab] * 100 if n_true[lab] else np.nan) for lab in labels]
        true_centre = float(t[yes].sum()) / float(n_true.sum()) * 100 if n_true.sum() else np.nan
        limits, x_title, unit = percent_limits, "Number of people (or duties, stays, tenancies) in the district", "percent"
        defs += " Limits use the binomial distribution around the county percentage."
    centre = cell(pt, "Total", rate_col)
    flags = []
    for (_lab, x, y), (tx, ty) in zip(points, true, strict=True):
        if x is None or y is None or centre is None or x <= 0:
            flags.append(pt.policy.suppressed_marker if y is None else "")
            continue
        # the flag is worked out from the true figures; only the shown ones are rounded
        flags.append(flag(ty, limits(np.asarray([tx]), true_centre)))
    pt = with_column(pt, FLAG_COL, flags + [""], [np.nan] * (len(flags) + 1))
    if centre is None:
        head = f"The county figure {during(state.period)} is hidden to protect privacy, so districts cannot be compared."
    else:
        c_text = f"{centre:.0f}%" if unit == "percent" else f"{centre:.1f} per 100,000 residents"
        head = f"Across Oxfordshire, {during(state.period)}, the figure was {c_text}. " + _outside_text(labels, flags)
    shown_points = [(n_, float(x), float(y)) for n_, x, y in points if x is not None and y is not None and x > 0]
    chart = funnel_plot(key, state.key, shown_points, centre or 0.0, limits, title=f"{name}: districts compared, {when}",
                        desc=head, x_title=x_title, unit=unit) if centre is not None else ""
    spec = TableSpec(pt, f"{name} by district, {when}", f"benchmark_{measure}",
                     rate_columns=(rate_col,) if unit == "percent" else ())
    return View("Crude (not adjusted)", head, chart, spec, defs)


#: What the success of each adjusted measure is, in the words of its table.
ADJUSTED_SUCCESS: dict[str, str] = {
    "prevention": "Accommodation secured",
    "relief": "Accommodation secured",
    "move_on": "Moved to a settled home",
}
#: The case mix the county model allows for, in plain English (the terms are
#: ``system_performance.benchmarking.case_mix_terms`` and ``case_mix_needs`` in the registry).
CASE_MIX_WORDS: dict[str, str] = {
    "prevention": "household type, age, how they were referred, why they were losing their home and their support needs",
    "relief": "household type, age, how they were referred, why they lost their home and their support needs",
    "move_on": "age, how they came into the service and their support needs",
}
def _adjusted_counts(agg: Aggregates, state: FilterState, measure: str, labels: list[str]) -> pd.DataFrame:
    """The crude table's counts of the adjusted measure's successes and other endings by district,
    with their cell keys and sources: the case-mix model is fitted on the same duties and stays, so
    the adjusted table's observed counts are these figures (shown with the same perturbation)."""
    if measure in ("prevention", "relief"):
        df = agg.select("duty_outcomes", period=state.period, duty=measure)
        yes = df["reason"].isin(outcome_codes(f"{measure}_success"))
    else:
        df = agg.select("sa_departures", period=state.period)
        df = df[df["model"] != "housing_first"]
        yes = df["destination"].isin(SETTLED_DESTINATIONS)
    t = crosstab(df.assign(result=np.where(yes, "yes", "no")), "district", "result", row_order=list(DISTRICTS),
                 col_order=["yes", "no"])
    t.index = labels
    return t


def adjusted_view(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, measure: str, name: str,
                  crude_headline: str = "") -> View | None:
    """Indirect standardisation: each district's observed successes against those expected if
    its cases had done as well as the county's cases of the same kind (county case-mix model,
    :func:`workbench.measures.benchmarking.case_mix_expected_by_quarter`), as the ratio O/E.
    The headline ends with ``crude_headline``, the comparison without adjustment."""
    if measure not in CASE_MIX_INDICATORS or not agg.available("case_mix_expected"):
        return None
    df = agg.select("case_mix_expected", period=state.period, indicator=CASE_MIX_INDICATORS[measure])
    sums = ["observed", "denominator", "expected", "variance"]
    g = df.groupby("district")[sums].sum().reindex(list(DISTRICTS), fill_value=0)
    if g["expected"].sum() <= 0:
        return None
    when = period_label(state.period)
    labels = [label("district", d) for d in DISTRICTS]
    yes = ADJUSTED_SUCCESS[measure]
    t = pd.DataFrame({yes: g["observed"].to_numpy(), "Other endings": (g["denominator"] - g["observed"]).to_numpy()},
                     index=labels).round().astype("int64")
    if policy.perturbs or is_tracing():  # under suppression the crude table's keys are not used
        crude = _adjusted_counts(agg, state, measure, labels)
        if (crude.to_numpy() == t.to_numpy()).all():
            # the same figures as the crude table's, so the same cell keys (one shown value for both)
            t = crude.set_axis(t.columns, axis=1)
    pt = protect(t, policy, row_total=True, col_total=True, index_name="District")
    expected = pd.Series([*g["expected"], g["expected"].sum()], index=pt.numeric.index)
    # the ratio shown (as a percentage) is worked out from the shown, rounded count, so it reveals
    # no more than the table; it is hidden wherever that count is
    r = protect_rate(pt.numeric[yes], expected, policy, per=100)
    ratio = r.numeric["rate"].round(1)
    flags = []
    for d, lab in zip(DISTRICTS, labels, strict=True):
        o, e, v = g.loc[d, "observed"], g.loc[d, "expected"], g.loc[d, "variance"]
        if bool(r.mask.loc[lab, "rate"]) or e <= 0:
            flags.append(policy.suppressed_marker if e > 0 else "")
            continue
        # from the true counts, before any rounding or suppression
        flags.append(flag(float(o / e), ratio_bands(float(e), float(v))))
    pt = with_column(pt, RATIO_COL, list(r.values["rate"].where(r.mask["rate"], ratio)), list(ratio),
                     list(r.mask["rate"]), list(r.primary_mask["rate"]))
    pt = with_column(pt, FLAG_COL, flags + [""], [np.nan] * (len(flags) + 1))
    pt = dataclasses.replace(pt, footnote=policy.footnote_text(rates=True, summaries=False, perturbed=pt._audit.perturbed))
    head = f"Allowing for case mix, {during(state.period)}: " + _outside_text(labels, flags)
    if crude_headline:
        head += f" Without allowing for case mix: {crude_headline}"
    points = [(lab, float(expected[lab]), float(ratio[lab])) for lab in labels
              if not bool(r.mask.loc[lab, "rate"]) and expected[lab] > 0]
    # the drawn lines take the county's variance per expected success (each district's own,
    # from its case mix, decides its flag; they differ little)
    per_expected = float(g["variance"].sum() / g["expected"].sum())
    chart = funnel_plot("benchmark-adjusted", state.key, points, 100.0,
                        lambda e, centre: {k: (lo * 100, hi * 100) for k, (lo, hi) in
                                           ratio_bands(e, per_expected * e, centre / 100).items()},
                        title=f"{name}, allowing for case mix: districts compared, {when}", desc=head,
                        x_title="Successes expected, allowing for case mix", unit="relative",
                        centre_label="County (100%)")
    defs = (f"{INDICATORS[CASE_MIX_INDICATORS[measure]]}. Adjusted for case mix (indirect standardisation): a "
            f"county-wide model gives each case its chance of success from who it was ({CASE_MIX_WORDS[measure]}) and "
            "the quarter it ended in; adding these chances over a district's cases gives the successes expected if its "
            "cases had done as well as similar cases across Oxfordshire. A district at 100% of expected did as well as "
            "the county with cases like its own; above 100%, better; below, worse. This allows for differences in the "
            "people each district sees, not for everything that might differ. Limits use the normal approximation "
            "around 100% (the county); the lines drawn use the county's average spread, and each district's flag its "
            "own.")
    spec = TableSpec(pt, f"{name}, allowing for case mix, by district, {when}", f"benchmark_{measure}_adjusted",
                     rate_columns=(RATIO_COL,))
    return View("Adjusted for case mix", head, chart, spec, defs)


def benchmarking_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> list[PanelContent]:
    measure = state.group or "prevention"
    name = dict((v, k) for k, v in BENCHMARK_MEASURES)[measure]
    key = "benchmark"
    crude = _crude_view(agg, state, policy, measure, name)
    if crude is None:
        return [not_available(key, name, "Figures on new arrivals" if measure == "arrivals" else "These figures")]
    about = (" A funnel plot shows each district against its size: districts inside the funnel differ from the county "
             "only as much as chance would make them; smaller districts have wider limits. Districts are not ranked, "
             "because rankings of small numbers mostly reflect chance. Flags are worked out from the true counts; the "
             "figures shown are rounded, so a district very near a limit may sit on the other side of it in the chart.")
    adjusted = adjusted_view(agg, state, policy, measure, name, crude.headline)
    if adjusted is None:
        return [PanelContent(key=key, title=name, headline=crude.headline, chart=crude.chart, tables=[crude.table],
                             definitions=crude.definitions + " There is no case-mix adjustment for this measure yet: the "
                             "comparison is crude." + about)]
    return [PanelContent(
        key=key, title=name, headline=adjusted.headline,
        # the adjusted chart first (the default view), the crude one beside it
        chart=adjusted.chart, chart_label=adjusted.name,
        other_charts=[(crude.name, crude.chart)] if crude.chart else [], switch_legend="Compare the districts",
        tables=[adjusted.table, crude.table],
        definitions=f"{adjusted.definitions} Crude comparison: {crude.definitions}{about}",
    )]
