"""Kaplan-Meier summaries for the measures (medians, survival at fixed times), with censoring.

Uses :class:`workbench.statistics.kaplan_meier.KaplanMeier` (R ``survival``-compatible: Greenwood
variance, log-transformed limits, R's median rule).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from workbench.statistics.kaplan_meier import KaplanMeier


def km_summary(frame: pd.DataFrame, duration: str, event: str, times: Sequence[float] = ()) -> dict[str, float | str]:
    """n, events, censored, observed median (events only), KM median with its 95% CI, and
    S(t) with 95% CI at each of ``times`` (keys ``surv_<t>``, ``surv_<t>_lower``, ``surv_<t>_upper``).
    ``method`` names the estimator."""
    d = frame[duration].to_numpy(dtype=float)
    e = frame[event].to_numpy(dtype=int)
    out: dict[str, float | str] = {
        "n": float(len(d)), "events": float(e.sum()), "censored": float(len(d) - e.sum()),
        "median_observed": float(np.median(d[e == 1])) if e.sum() else np.nan,
        "km_median": np.nan, "km_median_lower": np.nan, "km_median_upper": np.nan,
        "method": "Kaplan-Meier",
    }
    for t in times:
        out[f"surv_{t:g}"] = out[f"surv_{t:g}_lower"] = out[f"surv_{t:g}_upper"] = np.nan
    if not len(d):
        return out
    km = KaplanMeier().fit(frame, duration, event)
    out["km_median"] = float(km.median_)
    out["km_median_lower"], out["km_median_upper"] = (float(v) for v in km.median_ci_)
    if len(times):
        at = km.survival_at(np.asarray(times, dtype=float), extend=False)
        last = float(km.timeline_[-1])
        for t, row in zip(times, at.itertuples(), strict=True):
            if t <= last:
                out[f"surv_{t:g}"], out[f"surv_{t:g}_lower"], out[f"surv_{t:g}_upper"] = row.surv, row.lower, row.upper
    return out


def km_table(frame: pd.DataFrame, by: Sequence[str], *, duration: str = "days", event: str = "event",
             times: Sequence[float] = ()) -> pd.DataFrame:
    """:func:`km_summary` for each group of ``frame`` by ``by`` (one row per group)."""
    rows = []
    for key, g in frame.groupby(list(by), dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key, strict=True)), **km_summary(g, duration, event, times)})
    return pd.DataFrame(rows)
