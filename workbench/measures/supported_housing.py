"""Supported accommodation counts for the dashboards' aggregates: stays started, stays open on the
extract date, and ended stays with how they ended, where people went and whether those who moved
on to a settled home kept it for 12 months (the leavers cohort of
:mod:`workbench.cohorts.supported_housing`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.cohorts.supported_housing import leavers_cohort
from workbench.measures.monthly_counts import band, count_by, month_start

#: Length of stay, by exclusive upper bound in days.
LOS_BANDS: tuple[tuple[str, int], ...] = (
    ("under_3_months", 91),
    ("3_to_6_months", 183),
    ("6_to_12_months", 365),
    ("1_to_2_years", 730),
    ("over_2_years", 10**9),
)


def departure_counts(tables: dict[str, pd.DataFrame], extract: pd.Timestamp) -> pd.DataFrame:
    """Ended stays: how they ended, where people went and, for those who moved on to a settled
    home, whether they kept it for 12 months (supported-housing cohort definitions)."""
    leavers = leavers_cohort(tables=tables, extract_date=extract.date())
    kept = leavers["kept_12m"]
    reached = leavers["move_in_date"] + pd.Timedelta(days=365) <= extract
    kept_12m = np.select(
        [leavers["moved_on_settled"] != 1, ~reached | kept.isna(), kept == 1],
        ["not_moved_on", "not_yet", "kept"], "lost")
    frame = pd.DataFrame({
        "district": leavers["district"],
        "month": month_start(leavers["end_date"]),
        "model": leavers["model"],
        "departure_reason": leavers["departure_reason"].fillna("other"),
        "destination": leavers["destination"].fillna("not_known"),
        "stay_length": band(leavers["length_of_stay_days"], LOS_BANDS),
        "moved_on_settled": np.where(leavers["moved_on_settled"] == 1, "yes", "no"),
        "kept_12m": kept_12m,
    })
    return count_by(frame, list(frame.columns))


def start_counts(stays: pd.DataFrame) -> pd.DataFrame:
    """Stays by the month they started, type of service and route in."""
    frame = pd.DataFrame({"district": stays["district"], "month": month_start(stays["start_date"]),
                          "model": stays["model"], "route_in": stays["route_in"].fillna("other")})
    return count_by(frame, ["district", "month", "model", "route_in"])


def open_stay_counts(stays: pd.DataFrame, extract: pd.Timestamp) -> pd.DataFrame:
    """Stays that had started and not ended by the extract date, by district and type of service."""
    end = pd.to_datetime(stays["end_date"])
    open_ = stays[(pd.to_datetime(stays["start_date"]) <= extract) & (end.isna() | (end > extract))]
    return count_by(open_, ["district", "model"])


def settled_home_kept(counts: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`departure_counts` of people who moved on to a settled home and whose 12
    months have passed, with ``kept``: the leavers cohort's ``kept_12m`` (the tenancy had not ended
    except by a planned move, no return to homelessness, no death)."""
    reached = counts[counts["kept_12m"].isin(["kept", "lost"])]
    return reached.assign(kept=reached["kept_12m"] == "kept")
