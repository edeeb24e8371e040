"""Reporting periods: months, quarters, half-years, calendar and financial years.

Every measure table has a ``period`` label (text, e.g. ``2021-03``, ``2021-Q1``, ``2021-H2``,
``2021``, ``2021/22``) and ``period_start`` / ``period_end`` (first and last day), so dashboards can
sort and filter without parsing labels.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Freq = Literal["M", "Q", "H", "Y", "FY"]
FREQ_NAMES: dict[str, str] = {
    "M": "month",
    "Q": "quarter",
    "H": "half-year",
    "Y": "calendar year",
    "FY": "financial year (April to March)",
}


def _check(freq: str) -> None:
    if freq not in FREQ_NAMES:
        raise ValueError(f"freq must be one of {list(FREQ_NAMES)}, got {freq!r}")


def period_start(dates: pd.Series, freq: Freq) -> pd.Series:
    """First day of the period holding each date (NaT stays NaT)."""
    _check(freq)
    d = pd.to_datetime(pd.Series(dates))
    year, month = d.dt.year, d.dt.month
    if freq == "M":
        first_month = month
    elif freq == "Q":
        first_month = (month - 1) // 3 * 3 + 1
    elif freq == "H":
        first_month = np.where(month <= 6, 1, 7)
    elif freq == "Y":
        first_month = 1
    else:  # financial year starts in April
        year = year.where(month >= 4, year - 1)
        first_month = 4
    parts = pd.DataFrame({"year": year, "month": first_month, "day": 1}, index=d.index)
    out = pd.to_datetime(parts.where(d.notna()), errors="coerce")
    return out


def period_end(starts: pd.Series, freq: Freq) -> pd.Series:
    """Last day of each period, from its first day."""
    _check(freq)
    months = {"M": 1, "Q": 3, "H": 6, "Y": 12, "FY": 12}[freq]
    s = pd.to_datetime(pd.Series(starts))
    return s + pd.DateOffset(months=months) - pd.Timedelta(days=1)


def period_label(starts: pd.Series, freq: Freq) -> pd.Series:
    """Text label of each period, from its first day."""
    _check(freq)
    s = pd.to_datetime(pd.Series(starts))
    year = s.dt.year.astype("Int64").astype(str)
    month = s.dt.month.astype("Int64")
    if freq == "M":
        out = year + "-" + month.astype(str).str.zfill(2)
    elif freq == "Q":
        out = year + "-Q" + ((month - 1) // 3 + 1).astype(str)
    elif freq == "H":
        out = year + "-H" + (month > 6).astype("Int64").add(1).astype(str)
    elif freq == "Y":
        out = year
    else:
        nxt = ((s.dt.year.astype("Int64") + 1) % 100).astype(str).str.zfill(2)
        out = year + "/" + nxt
    return out.astype(object).where(s.notna(), None)


def add_period(frame: pd.DataFrame, date_col: str, freq: Freq) -> pd.DataFrame:
    """``frame`` with ``period``, ``period_start`` and ``period_end`` of ``date_col``."""
    out = frame.copy()
    start = period_start(out[date_col], freq)
    out["period_start"] = start.to_numpy()
    out["period_end"] = period_end(start, freq).to_numpy()
    out["period"] = period_label(start, freq).to_numpy()
    return out


def period_range(first: pd.Timestamp, last: pd.Timestamp, freq: Freq) -> pd.DataFrame:
    """Every period from the one holding ``first`` to the one holding ``last``."""
    _check(freq)
    a = period_start(pd.Series([pd.Timestamp(first)]), freq).iloc[0]
    b = period_start(pd.Series([pd.Timestamp(last)]), freq).iloc[0]
    step = {"M": 1, "Q": 3, "H": 6, "Y": 12, "FY": 12}[freq]
    starts = pd.Series(pd.date_range(a, b, freq=pd.DateOffset(months=step)))
    return pd.DataFrame({"period": period_label(starts, freq), "period_start": starts,
                         "period_end": period_end(starts, freq)})
