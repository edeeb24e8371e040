"""The figure the new arrivals study leads with: the share of new arrivals who had presented
before, corrected for linkage error where the linkage's error has been measured on the arrivals.

Three cases, in :func:`headline`:

- **true linkage** (the synthetic county ingested with its truth): nothing to correct; the share
  with its Wilson interval;
- **an arrival review recorded** with the snapshot, for the same period and lookback
  (:mod:`.review`): the review-corrected share and its interval for sampling and review error
  (:func:`workbench.statistics.linkage_correction.review_corrected_share`);
- **otherwise**: the share as linked, flagged as *not corrected*. It is not the answer: missed
  links (fragments of people seen before counted as new, earlier records not linked) push it down,
  false links push it up; on the synthetic county it was 3 to 5 points too low with the outreach
  client reference and about 20 without.

:func:`headline_of_store` computes it straight from a store (the dashboards' aggregates use it,
so the page and the study show the same figure).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from workbench.statistics.intervals import wilson
from workbench.statistics.linkage_correction import review_corrected_share
from workbench.studies.new_arrivals.review import arrival_review_from_meta

CORRECTED, EXACT, NOT_CORRECTED = "corrected by arrival review", "true linkage", "not corrected"
#: The study's ``headline`` table: the same columns whichever way it was obtained (its disclosure
#: rule names each).
HEADLINE_COLUMNS = ("estimate", "lower", "upper", "method", "why", "arrivals", "presented", "uncorrected",
                    "uncorrected_lower", "uncorrected_upper", "reviewed", "unsure", "fragment_share",
                    "fragment_lower", "fragment_upper")


def headline_table(h: dict[str, Any]) -> pd.DataFrame:
    """The headline as a one-row table with :data:`HEADLINE_COLUMNS` (no review: 0 reviewed)."""
    return pd.DataFrame([{"reviewed": 0, "unsure": 0, **h}]).reindex(columns=list(HEADLINE_COLUMNS))


def headline(complete: pd.DataFrame, *, meta: dict[str, str], linkage: str, alternative: str | None,
             period_start: dt.date, period_end: dt.date, lookback_months: int) -> dict[str, Any]:
    """The headline (estimate, lower, upper), how it was obtained and why.

    ``complete``: one row per arrival in the headline (whole contact lookback) with ``presented``;
    ``meta``: the snapshot's store_meta; ``linkage``: its linkage method; ``alternative``: the
    alternative linkage the store is read under (``Store(linkage=...)``), if any.
    """
    n, k = len(complete), int(complete["presented"].sum()) if len(complete) else 0
    share = k / n if n else float("nan")
    lo, hi = wilson(k, n) if n else (float("nan"), float("nan"))
    out: dict[str, Any] = {"uncorrected": share, "uncorrected_lower": lo, "uncorrected_upper": hi,
                           "arrivals": n, "presented": k}
    if linkage == "truth" and alternative is None:
        return {**out, "estimate": share, "lower": lo, "upper": hi, "method": EXACT,
                "why": "linked with the synthetic county's truth: no linkage error to correct"}
    review = arrival_review_from_meta(meta)
    why = None
    if review is None:
        why = "no arrival review is recorded with this snapshot"
    elif alternative is not None:
        why = f"the arrival review judged the chosen linkage, not the alternative {alternative!r}"
    elif (review["period_start"], review["period_end"], int(review["lookback_months"])) != (
            str(period_start), str(period_end), int(lookback_months)):
        why = (f"the arrival review covers arrivals from {review['period_start']} to {review['period_end']} "
               f"({review['lookback_months']}-month lookback), not this run's")
    else:
        strata = review["strata"]
        now = complete["presented"].astype(bool).value_counts()
        sizes = {"presented": int(now.get(True, 0)), "not presented": int(now.get(False, 0))}
        recorded = dict(zip(strata["stratum"], strata["arrivals"].astype(int), strict=True))
        if recorded != sizes:
            why = (f"the arrival review's strata ({recorded}) are not this run's arrivals ({sizes}): drawn on "
                   "another linkage or period")
    if why is not None:
        return {**out, "estimate": share, "lower": lo, "upper": hi, "method": NOT_CORRECTED, "why": why}
    c = review_corrected_share(review["strata"])
    return {**out, "estimate": c["share"], "lower": c["lower"], "upper": c["upper"], "method": CORRECTED,
            "why": f"{c['reviewed']} arrivals reviewed", "reviewed": c["reviewed"],
            "fragment_share": c["fragment_share"], "fragment_lower": c["fragment_lower"],
            "fragment_upper": c["fragment_upper"],
            "unsure": int(review["strata"].get("unsure", pd.Series(dtype=int)).sum())}


def headline_of_store(store) -> dict[str, Any]:
    """The study's headline at its default settings, straight from a store (for the dashboards)."""
    from workbench.studies.new_arrivals.study import headline_paths

    complete, params = headline_paths(store)
    meta = store.meta()
    h = headline(complete, meta=meta, linkage=meta.get("linkage", ""), alternative=getattr(store, "linkage", None),
                 period_start=params["period_start"], period_end=params["period_end"],
                 lookback_months=params["lookback_months"])
    return {**h, "period_start": str(params["period_start"]), "period_end": str(params["period_end"])}
