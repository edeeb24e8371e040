"""Equality, diversity and inclusion (strategy action 7.1): outcomes by protected characteristic,
and how often the characteristic is not recorded.

Outcomes (see :mod:`workbench.measures.benchmarking` for their definitions): prevention success
and relief success (statutory cases), and move-on from supported accommodation.
Characteristics, where the source records them: age band (from the date of birth), gender,
ethnicity (ONS high-level groups), disability (statutory cases) and sexual orientation
(statutory cases).

**Disparity ratio**: the risk ratio of the outcome in a group against a reference group, with a
95% interval on the log scale (Katz et al. 1978: ``SE(log RR) = sqrt(1/a - 1/n1 + 1/c - 1/n0)``).
References (``system_performance.equality.reference_groups``): White, male, no disability,
heterosexual, aged 25-34 - the largest groups in the county's caseload. People whose
characteristic is not recorded form their own group, so their outcomes are visible too.

**Recording** is a data-quality measure in its own right: the share of records where the
characteristic is blank or recorded as not known, by source, district and period.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from workbench.definitions import COUNTY, definition, event_date
from workbench.measures.benchmarking import age_band, indicator_records
from workbench.measures.periods import add_period
from workbench.measures.sources import as_sources
from workbench.statistics.intervals import wilson

NOT_RECORDED = "not recorded"
OUTCOME_SOURCES = {"prevention_success": "statutory_cases", "relief_success": "statutory_cases",
                   "move_on": "supported_accommodation"}
#: The characteristics compared, per source (definitions.yaml: system_performance.equality).
CHARACTERISTICS: dict[str, list[str]] = definition("system_performance", "equality", "characteristics")


def reference_groups() -> dict[str, str]:
    return definition("system_performance", "equality", "reference_groups")


def characteristic_values(records: pd.DataFrame, source: str) -> pd.DataFrame:
    """The characteristics of :data:`CHARACTERISTICS` as text, "not recorded" where blank or not known."""
    out = pd.DataFrame(index=records.index)
    for c in CHARACTERISTICS[source]:
        if c == "age_band":
            age_col = f"age_at_{event_date(source)}"
            v = age_band(records[age_col]) if age_col in records else pd.Series(NOT_RECORDED, index=records.index)
        elif c == "disability":
            d = records[c].astype("boolean")
            v = pd.Series(np.where(d.isna(), NOT_RECORDED, np.where(d.fillna(False), "yes", "no")), index=records.index)
        else:
            v = records[c].astype(object).where(records[c].notna() & (records[c] != "not_known"), NOT_RECORDED)
        out[c] = v.replace({"not recorded": NOT_RECORDED}).astype(str)
    return out


def risk_ratio(a: float, n1: float, c: float, n0: float, level: float = 0.95) -> tuple[float, float, float]:
    """Risk ratio (a/n1)/(c/n0) with the Katz log interval; NaN where a cell is empty."""
    if min(a, c) <= 0 or min(n1, n0) <= 0:
        return (float(a / n1 / (c / n0)) if (n1 > 0 and n0 > 0 and c > 0) else np.nan, np.nan, np.nan)
    rr = (a / n1) / (c / n0)
    se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)  # the standard library's: no scipy in page kernels
    return float(rr), float(rr * np.exp(-z * se)), float(rr * np.exp(z * se))


def equality_outcomes(
    source: Any,
    *,
    outcomes: list[str] | None = None,
    period_start: Any = None,
    period_end: Any = None,
    district: str | None = None,
) -> pd.DataFrame:
    """Outcome rates by group and disparity ratios against the reference group.

    Columns: outcome, characteristic, group, reference_group, n, successes, rate, rate_lower,
    rate_upper (Wilson 95%), risk_ratio, rr_lower, rr_upper (Katz 95%; 1 for the reference)."""
    src = as_sources(source)
    refs = reference_groups()
    rows = []
    for outcome in outcomes or list(OUTCOME_SOURCES):
        table = OUTCOME_SOURCES[outcome]
        rec = indicator_records(src, outcome)
        chars = characteristic_values(src[table].loc[rec["source_index"]], table).reset_index(drop=True)
        rec = pd.concat([rec.reset_index(drop=True), chars.add_prefix("char_")], axis=1)
        if period_start is not None:
            rec = rec[rec["date"] >= pd.Timestamp(period_start)]
        if period_end is not None:
            rec = rec[rec["date"] <= pd.Timestamp(period_end)]
        if district is not None:
            rec = rec[rec["district"] == district]
        for c in CHARACTERISTICS[table]:
            g = rec.groupby(f"char_{c}")["success"].agg(["sum", "count"])
            ref = refs.get(c)
            for group, r in g.iterrows():
                rr = (1.0, np.nan, np.nan) if group == ref else (
                    risk_ratio(r["sum"], r["count"], g.loc[ref, "sum"], g.loc[ref, "count"]) if ref in g.index else (np.nan,) * 3)
                rows.append({"outcome": outcome, "characteristic": c, "group": group, "reference_group": ref,
                             "n": int(r["count"]), "successes": int(r["sum"]), "rate": r["sum"] / r["count"],
                             "risk_ratio": rr[0], "rr_lower": rr[1], "rr_upper": rr[2]})
    out = pd.DataFrame(rows)
    if len(out):
        lo, hi = wilson(out["successes"].to_numpy(), out["n"].to_numpy())
        out.insert(out.columns.get_loc("rate") + 1, "rate_lower", np.asarray(lo))
        out.insert(out.columns.get_loc("rate_lower") + 1, "rate_upper", np.asarray(hi))
    return out


def equality_recording(source: Any, *, freq: str | None = "FY", period_start: Any = None,
                       period_end: Any = None) -> pd.DataFrame:
    """How often each characteristic is not recorded: source, characteristic, district (and the
    county), period, records, not_recorded, share_not_recorded."""
    src = as_sources(source)
    rows = []
    for table, chars in CHARACTERISTICS.items():
        f = src[table]
        if not len(f):
            continue
        vals = characteristic_values(f, table)
        base = pd.DataFrame({"district": f["district"].to_numpy(), "date": pd.to_datetime(f[event_date(table)]).to_numpy()})
        if period_start is not None or period_end is not None:
            keep = pd.Series(True, index=base.index)
            if period_start is not None:
                keep &= base["date"] >= pd.Timestamp(period_start)
            if period_end is not None:
                keep &= base["date"] <= pd.Timestamp(period_end)
            base, vals = base[keep.to_numpy()], vals[keep.to_numpy()]
        base = base.assign(period="all", period_start=base["date"].min(), period_end=base["date"].max()) if freq is None \
            else add_period(base, "date", freq)  # type: ignore[arg-type]
        for c in chars:
            b = base.assign(missing=(vals[c] == NOT_RECORDED).to_numpy())
            both = pd.concat([b, b.assign(district=COUNTY)], ignore_index=True)
            g = both.groupby(["district", "period", "period_start", "period_end"])["missing"].agg(records="count", not_recorded="sum").reset_index()
            g.insert(0, "characteristic", c)
            g.insert(0, "source", table)
            rows.append(g)
    out = pd.concat(rows, ignore_index=True)
    out["not_recorded"] = out["not_recorded"].astype(int)
    out["share_not_recorded"] = out["not_recorded"] / out["records"]
    return out
