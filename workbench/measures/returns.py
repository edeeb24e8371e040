"""Returns to homelessness as simple windowed shares, for the dashboards' aggregates.

Every settled move-in of the returns cohort (:mod:`workbench.cohorts.returns`) with its outcome
within each window of ``definitions.yaml`` ``returns.windows_months``, counted by district, month
of moving in, tenure and route in. The returns study adds the survival analysis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.cohorts.returns import returns_cohort
from workbench.definitions import definition
from workbench.measures.housing_first import DAYS_PER_MONTH
from workbench.measures.monthly_counts import count_by, month_start


def windows_months() -> tuple[int, ...]:
    return tuple(int(m) for m in definition("returns", "windows_months"))


def returns_outcome_counts(tables: dict[str, pd.DataFrame], extract: pd.Timestamp) -> pd.DataFrame:
    """Outcome at each window of every settled move-in, as the returns study counts it.

    Within ``m`` months (``m * 365.25 / 12`` days) of moving in: ``returned`` (status 1 by then),
    ``died`` (died first, status 2 by then), ``not_returned``; ``not_yet`` when the window had not
    closed by the extract date. The study's windowed rate is returned / (returned + died +
    not_returned): every move-in whose window has closed.
    """
    cohort = returns_cohort(tables=tables, extract_date=extract.date())
    parts = []
    c = cohort.assign(move_in_date=pd.to_datetime(cohort["move_in_date"]))
    possible = (extract - c["move_in_date"]).dt.days
    for months in windows_months():
        days = months * DAYS_PER_MONTH
        outcome = np.select(
            [possible < days, (c["status"] == 1) & (c["time_days"] <= days),
             (c["status"] == 2) & (c["time_days"] <= days)],
            ["not_yet", "returned", "died"], "not_returned")
        parts.append(pd.DataFrame({
            "district": c["district"], "month": month_start(c["move_in_date"]), "tenure": c["tenure"],
            "route_in": c["route_in"], "window_months": months, "outcome": outcome,
        }))
    keys = ["district", "month", "tenure", "route_in", "window_months", "outcome"]
    return count_by(pd.concat(parts, ignore_index=True), keys)


def closed_windows(counts: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`returns_outcome_counts` whose window has closed, with ``returned``;
    people who died first count as not returned, as in the returns study."""
    closed = counts[counts["outcome"] != "not_yet"]
    return closed.assign(returned=closed["outcome"] == "returned")
