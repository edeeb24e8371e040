"""Fine-grained count tables by district, month and category, for precomputed aggregates.

Each function returns one row per combination of its key columns with the number ``n`` of
records (people, duties, stays, tenancies) in it. The tables hold *true* counts; whoever shows
them applies disclosure control to the table the reader sees (the dashboards do,
:mod:`workbench.dashboards`). This module holds the shared helpers and the counts read straight
from one source; :mod:`~workbench.measures.rough_sleeping`, :mod:`~workbench.measures.returns`
and :mod:`~workbench.measures.supported_housing` hold those built from a cohort.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from workbench.measures.housing_first import DAYS_PER_MONTH


def band(values: pd.Series, bands: Sequence[tuple[str, int]], missing: str = "not_known") -> pd.Series:
    """Label each number with the first band whose (exclusive) upper bound is above it."""
    out = pd.Series(missing, index=values.index, dtype=object)
    v = pd.to_numeric(values, errors="coerce")
    done = v.isna()
    for label, upper in bands:
        hit = ~done & (v < upper)
        out[hit] = label
        done |= hit
    return out


def yes_no(flag: pd.Series) -> np.ndarray:
    return np.where(flag.astype("boolean").fillna(False).astype(bool), "yes", "no")


def month_start(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates).dt.to_period("M").dt.to_timestamp()


def count_by(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Counts by ``keys`` (rows with a missing key are dropped: they have no place on a chart)."""
    if not len(frame):
        return pd.DataFrame({**{k: pd.Series(dtype=object) for k in keys}, "n": pd.Series(dtype="int64")})
    out = frame.dropna(subset=keys).groupby(keys, as_index=False, observed=True).size()
    return out.rename(columns={"size": "n"}).astype({"n": "int64"})


def duty_ending_counts(cases: pd.DataFrame) -> pd.DataFrame:
    """Prevention and relief duties by the month they ended, end reason and household type."""
    parts = []
    for duty in ("prevention", "relief"):
        ended = cases[cases[f"{duty}_duty_end"].notna()]
        parts.append(pd.DataFrame({
            "district": ended["district"],
            "month": month_start(ended[f"{duty}_duty_end"]),
            "duty": duty,
            "reason": ended[f"{duty}_duty_end_reason"].fillna("not_known"),
            "household_type": ended["household_type"].fillna("other"),
        }))
    return count_by(pd.concat(parts, ignore_index=True), ["district", "month", "duty", "reason", "household_type"])


def _tenancy_outcome(t: pd.DataFrame, days: float, extract: pd.Timestamp) -> np.ndarray:
    start, end = pd.to_datetime(t["start_date"]), pd.to_datetime(t["end_date"])
    horizon = start + pd.to_timedelta(days, unit="D")
    reason = t["end_reason"].fillna("other")
    return np.select(
        [horizon > extract, end.isna() | (end > horizon), reason == "planned_move", reason == "died"],
        ["not_yet", "sustained", "planned_move", "died"], "ended")


def tenancy_outcome_counts(tenancies: pd.DataFrame, extract: pd.Timestamp) -> pd.DataFrame:
    """Settled tenancies by start month, tenure and route in, with the outcome 6 and 12 months
    after the start: ``sustained``, ``planned_move``, ``died``, ``ended`` or ``not_yet``."""
    frame = pd.DataFrame({
        "district": tenancies["district"], "month": month_start(tenancies["start_date"]),
        "tenure": tenancies["tenure"], "route_in": tenancies["route_in"].fillna("other"),
        "outcome_6m": _tenancy_outcome(tenancies, 6 * DAYS_PER_MONTH, extract),
        "outcome_12m": _tenancy_outcome(tenancies, 12 * DAYS_PER_MONTH, extract),
    })
    return count_by(frame, list(frame.columns))


def sustained_at_12_months(counts: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`tenancy_outcome_counts` whose first 12 months have ended, with
    ``sustained``: still running, or ended in a planned move; any other ending is a tenancy lost.
    Tenants who died within the year are left out (as :mod:`workbench.measures.housing_first`)."""
    closed = counts[~counts["outcome_12m"].isin(["not_yet", "died"])]
    return closed.assign(sustained=closed["outcome_12m"].isin(["sustained", "planned_move"]))
