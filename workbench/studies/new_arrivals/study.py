"""The new arrivals study's assembly: the cohort from the store, its tables, figures and findings, in one
:class:`~workbench.studies.base.StudyResult` (see the package's docstring for what it holds)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from workbench.cohorts import rough_sleeping as rs
from workbench.definitions import SOURCES as PERSON_SOURCES
from workbench.definitions import definitions
from workbench.statistics.linkage_bounds import linkage_bounds
from workbench.studies.base import StudyResult
from workbench.studies.new_arrivals.figures import study_figures
from workbench.studies.new_arrivals.findings import definitions_text, findings, headline_finding
from workbench.studies.new_arrivals.headline import headline, headline_table
from workbench.studies.new_arrivals.tables import (
    BOOTSTRAP,
    age_comparison,
    agencies_table,
    chain_tables,
    characteristics,
    last_contact_tables,
    presented_by_window,
    routes_table,
    time_before_arrival,
)
from workbench.studies.provenance import recorded

#: The sources whose records can show an earlier contact (every person-level extract but deaths).
SOURCES = tuple(s for s in PERSON_SOURCES if s != "deaths")


#: The figures every report leads with, and the linkage sensitivity re-estimates (path into estimates).
HEADLINE_FIGURES = {
    "presented_share.any": ("the share of new arrivals who had presented to a service before arriving", "share"),
}

LINKAGE_RATES = ("linkage_precision", "linkage_recall", "spurious_arrival_share", "hidden_arrival_share")


def _linkage_quality_from_store(store) -> tuple[dict[str, float | None], str]:
    """Linkage error rates recorded with the store, if any (no error for the true linkage)."""
    try:
        meta = store.meta()
    except Exception:  # a store without meta: nothing known
        return dict.fromkeys(LINKAGE_RATES), "unknown"
    method = meta.get("linkage", "unknown")
    if method == "truth":
        return {"linkage_precision": 1.0, "linkage_recall": 1.0, "spurious_arrival_share": 0.0,
                "hidden_arrival_share": 0.0}, method
    rates = {k: (float(meta[k]) if meta.get(k) not in (None, "") else None) for k in LINKAGE_RATES}
    # No rates measured against a truth (a real store): the pair review's rates for the critical
    # links (arrivals to earlier presentations), at the pessimistic end of their intervals, since
    # the bounds are worst cases.
    for rate, review in (("linkage_precision", "linkage_review_critical_precision_lower"),
                         ("linkage_recall", "linkage_review_critical_recall_lower")):
        if rates[rate] is None and meta.get(review) not in (None, ""):
            rates[rate] = float(meta[review])
    return rates, method


def _load(store) -> dict[str, pd.DataFrame]:
    have = set(store.tables())
    return {name: store.table(name) if name in have else pd.DataFrame() for name in SOURCES}


def default_period_start(contact_lookback_months: int, contact_history_start: dt.date, period_end: dt.date) -> dt.date:
    """The first day whose whole contact lookback lies inside the statutory data (else history start)."""
    start = (pd.Timestamp(contact_history_start) + pd.DateOffset(months=contact_lookback_months)).date()
    return start if start < period_end else contact_history_start


def default_period(extract_date: dt.date) -> tuple[dt.date, dt.date]:
    """The study's default arrival period for an extract: :func:`default_period_start` to the extract date."""
    cfg = definitions()["new_arrivals"]
    hist_start = pd.Timestamp(cfg["contact_history_start"]).date()
    return default_period_start(int(cfg["contact_lookback_months"]), hist_start, extract_date), extract_date


def complete_arrivals(tables: dict[str, pd.DataFrame], *, period_start: dt.date, period_end: dt.date,
                      lookback_months: int) -> pd.DataFrame:
    """The arrivals the headline counts (whole contact lookback), one row each with ``presented``."""
    cfg = definitions()["new_arrivals"]
    contact_months = int(cfg["contact_lookback_months"])
    arrivals = rs.new_arrivals(tables.get("outreach_contacts", pd.DataFrame()), period_start=period_start,
                               period_end=period_end, lookback_months=lookback_months,
                               short_history=cfg["short_history"])
    contacts = rs.earlier_contacts(arrivals, tables, contact_lookback_months=contact_months)
    paths = rs.arrival_paths(arrivals, contacts, contact_lookback_months=contact_months,
                             contact_history_start=pd.Timestamp(cfg["contact_history_start"]).date())
    return paths[paths["contact_history_complete"]].reset_index(drop=True)


def headline_paths(store) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The arrivals the headline counts at the study's default settings, and those settings: the
    lean part of :func:`run` the dashboards and the arrival review need."""
    period_start, period_end = default_period(dt.date.fromisoformat(store.meta()["extract_date"]))
    lookback = int(definitions()["new_arrivals"]["lookback_months"])
    complete = complete_arrivals(_load(store), period_start=period_start, period_end=period_end,
                                 lookback_months=lookback)
    return complete, {"period_start": period_start, "period_end": period_end, "lookback_months": lookback}


@recorded("new_arrivals", seeds=lambda a: {"bootstrap_of_median_days": BOOTSTRAP["seed"]})
def run(
    store=None,
    period_start: dt.date | str | None = None,
    period_end: dt.date | str | None = None,
    lookback_months: int | None = None,
    linkage_precision: float | None = None,
    linkage_recall: float | None = None,
    *,
    tables: dict[str, pd.DataFrame] | None = None,
    extract_date: dt.date | None = None,
    short_history: rs.ShortHistory | None = None,
    spurious_arrival_share: float | None = None,
    hidden_arrival_share: float | None = None,
) -> StudyResult:
    """Run the new-arrivals study on a store (or on ``tables`` of the same shape).

    ``period_start``/``period_end`` bound the arrival dates (default: from the first day with a full
    contact lookback in the data to the extract date). ``lookback_months`` defines "new" (60, or 24
    as HUD Measure 5). ``linkage_precision``/``linkage_recall`` give the linkage-error
    bounds: best the rates of the arrival-to-presentation links themselves
    (``arrival_link_precision``/``arrival_link_recall`` from ``arrival_linkage_errors`` (synthetic evaluation)), which
    can be worse than the linkage's overall (e.g. B-cubed) rates; ``spurious_arrival_share``/``hidden_arrival_share`` (from
    ``arrival_linkage_errors`` (synthetic evaluation) on the synthetic county) widen them for errors in who counts as
    new. Any not given is read from the store's metadata (no error for the true linkage).
    """
    cfg = definitions()["new_arrivals"]
    lookback_months = int(cfg["lookback_months"]) if lookback_months is None else lookback_months
    tables = tables if tables is not None else _load(store)
    if extract_date is None:
        extract_date = dt.date.fromisoformat(store.meta()["extract_date"])
    contact_months = int(cfg["contact_lookback_months"])
    hist_start = pd.Timestamp(cfg["contact_history_start"]).date()
    period_end = pd.Timestamp(period_end).date() if period_end else extract_date
    period_start = (pd.Timestamp(period_start).date() if period_start
                    else default_period(period_end)[0])
    short_history = short_history or cfg["short_history"]
    rates = {"linkage_precision": linkage_precision, "linkage_recall": linkage_recall,
             "spurious_arrival_share": spurious_arrival_share, "hidden_arrival_share": hidden_arrival_share}
    link_method = "given"
    if store is not None and any(v is None for v in rates.values()):
        recorded, link_method = _linkage_quality_from_store(store)
        rates = {k: recorded[k] if v is None else v for k, v in rates.items()}
    linkage_precision, linkage_recall = rates["linkage_precision"], rates["linkage_recall"]
    arrival_set_known = rates["spurious_arrival_share"] is not None or rates["hidden_arrival_share"] is not None

    params: dict[str, Any] = dict(period_start=str(period_start), period_end=str(period_end),
                                  lookback_months=lookback_months, short_history=short_history,
                                  contact_lookback_months=contact_months,
                                  institution_window_days=cfg["institution_window_days"],
                                  extract_date=str(extract_date), linkage=link_method,
                                  linkage_precision=linkage_precision, linkage_recall=linkage_recall,
                                  spurious_arrival_share=rates["spurious_arrival_share"],
                                  hidden_arrival_share=rates["hidden_arrival_share"])
    result = StudyResult(study="new_arrivals", parameters=params)
    outreach = tables.get("outreach_contacts", pd.DataFrame())

    # Who is new, and everyone seen, per month and district.
    arrivals = rs.new_arrivals(outreach, period_start=period_start, period_end=period_end,
                               lookback_months=lookback_months, short_history=short_history)
    county, district = chain_tables(outreach, lookback_months, pd.Timestamp(period_start), pd.Timestamp(period_end))
    result.tables["rough_sleeping_by_month"] = county
    result.tables["rough_sleeping_by_month_and_district"] = district
    by_md = arrivals.assign(month=arrivals["arrival_date"].dt.to_period("M").astype(str))
    result.tables["new_arrivals_by_month_and_district"] = (
        by_md.groupby(["month", "arrival_district"]).size().rename("new_arrivals").reset_index())

    # Earlier contacts and each arrival's path.
    contacts = rs.earlier_contacts(arrivals, tables, contact_lookback_months=contact_months)
    paths = rs.arrival_paths(arrivals, contacts, contact_lookback_months=contact_months,
                             contact_history_start=hist_start)
    paths = paths.merge(rs.needs_around_arrival(arrivals, tables, before_months=contact_months), on="person_id",
                        how="left")
    # The headline and everything after it use arrivals whose whole contact lookback is in the data.
    complete = paths[paths["contact_history_complete"]].reset_index(drop=True)

    windows = rs.default_windows()
    shares = presented_by_window(paths, windows, contact_months, pd.Timestamp(hist_start))
    result.tables["presented_share"] = shares
    result.tables["routes"] = routes_table(complete)
    result.tables["time_before_arrival"] = time_before_arrival(complete)
    result.tables["agencies"] = agencies_table(complete, contacts)
    result.tables.update(last_contact_tables(complete, contacts))

    # Characteristics of those who had and had not presented.
    result.tables["characteristics"] = characteristics(complete)
    result.tables["age"] = age_comparison(complete)

    # Sensitivity to linkage error.
    bounds = linkage_bounds(complete, linkage_precision, linkage_recall,
                            spurious_arrival_share=rates["spurious_arrival_share"] or 0.0,
                            hidden_arrival_share=rates["hidden_arrival_share"] or 0.0)
    bounds["arrival_set_errors_given"] = arrival_set_known
    result.tables["linkage_sensitivity"] = pd.DataFrame([bounds])

    # The headline: corrected for linkage error where an arrival review measured it.
    meta = store.meta() if store is not None else {}
    head_figure = headline(complete, meta=meta, linkage=meta.get("linkage", link_method),
                           alternative=getattr(store, "linkage", None), period_start=period_start,
                           period_end=period_end, lookback_months=lookback_months)
    result.tables["headline"] = headline_table(head_figure)

    # Figures.
    routes = result.tables["routes"]
    result.figures.update(study_figures(complete, shares, routes, county))

    # Definitions and findings.
    result.definitions += definitions_text(lookback_months, short_history, contact_months, cfg, hist_start)
    result.findings.append(headline_finding(head_figure, contact_months))
    result.findings += findings(arrivals, complete, shares, routes, result.tables, bounds, lookback_months,
                                contact_months, period_start, period_end)
    head = shares.set_index("window")
    result.estimates.update({
        "headline": [head_figure["estimate"], head_figure["lower"], head_figure["upper"]],
        "headline_method": head_figure["method"],
        "arrivals": len(arrivals), "arrivals_with_full_contact_history": len(complete),
        "arrivals_with_short_rough_sleeping_history": int((~arrivals["lookback_complete"]).sum()),
        "presented_share": {w: (r["share"], r["lower"], r["upper"]) for w, r in head.iterrows()},
        "route_shares": {r["route"]: (r["share"], r["simultaneous_lower"], r["simultaneous_upper"])
                         for _, r in routes.iterrows()},
        "median_days_before_arrival": {r["route"]: (r["median_days"], r["median_lower"], r["median_upper"])
                                       for _, r in routes.iterrows()},
        "linkage_bounds": {k: bounds[k] for k in ("estimate", "lower_bound", "upper_bound", "bound_lower_ci",
                                                   "bound_upper_ci", "corrected_estimate")},
    })
    return result
