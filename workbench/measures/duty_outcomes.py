"""How statutory duties end (strategy action 3.3: why cases close without an outcome).

For every prevention and relief duty that has ended (``statutory_cases``), the H-CLIC reason it
ended, grouped as:

- *accommodation secured* (for 6+ months; prevention: stayed or moved);
- *became homeless* (prevention only: the household became homeless, so a relief duty followed);
- *closed without an outcome*: ``system_performance.duty_outcomes.without_outcome_reasons`` -
  by default contact lost, 56 days elapsed (and no further action), withdrew application or died.
  For a relief duty, 56 days elapsed is also the door to the main duty decision, so the share is
  shown by reason as well as in total;
- *other ending* (no longer eligible, refused an offer, refused to cooperate, local connection
  referral, intentionally homeless, not known).

:func:`without_outcome_drivers` fits a logistic regression of "closed without an
outcome" on case characteristics (:class:`~workbench.statistics.logistic.LogisticRegression`) - district, household type, referral route, age band, the
number of support needs and the main needs - among duties that ended, and reports odds ratios
with 95% intervals (reference levels: Oxford City, and the most common level of the other
factors). Associations, not causes: a district's practice, not its cases, may be what differs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.definitions import COUNTY, DISTRICTS, definition, outcome_codes
from workbench.measures.benchmarking import (
    KEY_NEEDS,
    age_band,
    pool_rare_levels,
)
from workbench.measures.periods import add_period
from workbench.measures.sources import as_sources, has_need, need_count
from workbench.statistics.intervals import wilson
from workbench.statistics.logistic import INTERCEPT, LogisticRegression

SECURED = {"prevention": outcome_codes("prevention_success"), "relief": outcome_codes("relief_success")}
REFERENCE_DISTRICT: str = definition("system_performance", "benchmarking", "reference_district")
GROUPS = ("accommodation secured", "became homeless", "closed without an outcome", "other ending")
DRIVER_TERMS = ["district", "household_type", "referral_route", "age_band", "needs_band", *[f"need_{n}" for n in KEY_NEEDS]]


def without_outcome_reasons() -> tuple[str, ...]:
    return tuple(definition("system_performance", "duty_outcomes", "without_outcome_reasons"))


def duty_endings(source: Any) -> pd.DataFrame:
    """One row per ended duty: duty (prevention / relief), case_id, person_id, district, start,
    end, days, end_reason, outcome_group, without_outcome (0/1) and the case characteristics
    (household_type, referral_route, age_band, needs_band, need_<code> flags, ethnicity, gender,
    disability, sexual_orientation)."""
    src = as_sources(source)
    key = ("duty_endings", without_outcome_reasons())
    if key not in src.cache:
        src.cache[key] = _duty_endings(src)
    return src.cache[key].copy()


def _duty_endings(src: Any) -> pd.DataFrame:
    sc = src["statutory_cases"]
    without = set(without_outcome_reasons())
    parts = []
    for duty in ("prevention", "relief"):
        d = sc[sc[f"{duty}_duty_start"].notna() & sc[f"{duty}_duty_end"].notna()]
        reason = d[f"{duty}_duty_end_reason"].fillna("not_known")
        group = np.select(
            [reason.isin(SECURED[duty]), reason == "homeless", reason.isin(without)],
            ["accommodation secured", "became homeless", "closed without an outcome"], "other ending")
        count = need_count(d["support_needs"])
        f = pd.DataFrame({
            "duty": duty, "case_id": d["case_id"], "person_id": d["person_id"], "district": d["district"],
            "start": d[f"{duty}_duty_start"], "end": d[f"{duty}_duty_end"], "end_reason": reason,
            "outcome_group": group, "without_outcome": reason.isin(without).astype(int),
            "household_type": d["household_type"].fillna("not recorded"),
            "referral_route": d["referral_route"].fillna("not recorded"),
            "age_band": age_band(d["age_at_approach_date"]),
            "needs_band": np.select([count == 0, count == 1, count == 2], ["0", "1", "2"], "3+"),
            "ethnicity": d["ethnicity"], "gender": d["gender"], "disability": d["disability"],
            "sexual_orientation": d["sexual_orientation"],
        })
        for n in KEY_NEEDS:
            f[f"need_{n}"] = has_need(d["support_needs"], n).astype(str)
        parts.append(f)
    out = pd.concat(parts, ignore_index=True)
    out["days"] = (out["end"] - out["start"]).dt.days
    return out


def _periodise(frame: pd.DataFrame, freq: str | None, period_start: Any, period_end: Any) -> pd.DataFrame:
    f = frame
    if period_start is not None:
        f = f[f["end"] >= pd.Timestamp(period_start)]
    if period_end is not None:
        f = f[f["end"] <= pd.Timestamp(period_end)]
    if freq is None:
        return f.assign(period="all", period_start=f["end"].min(), period_end=f["end"].max())
    return add_period(f, "end", freq)  # type: ignore[arg-type]


def duty_outcomes(source: Any, *, freq: str | None = "Q", period_start: Any = None, period_end: Any = None) -> pd.DataFrame:
    """How duties ended, by district (and the county) and period of ending: duty, district,
    period, period_start, period_end, end_reason, outcome_group, count, ended (all duties of that
    kind ended in the district and period), share."""
    e = _periodise(duty_endings(source), freq, period_start, period_end)
    both = pd.concat([e, e.assign(district=COUNTY)], ignore_index=True)
    keys = ["duty", "district", "period", "period_start", "period_end"]
    g = both.groupby([*keys, "outcome_group", "end_reason"]).size().rename("count").reset_index()
    g["ended"] = g.groupby(keys)["count"].transform("sum")
    g["share"] = g["count"] / g["ended"]
    return g.sort_values([*keys[:1], "period_start", "district", "outcome_group", "end_reason"], ignore_index=True)


def without_outcome_rates(source: Any, *, freq: str | None = "Q", period_start: Any = None,
                          period_end: Any = None) -> pd.DataFrame:
    """Share of duties closed without an outcome: duty, district, period, ended,
    without_outcome, share, share_lower, share_upper (Wilson 95%)."""
    e = _periodise(duty_endings(source), freq, period_start, period_end)
    both = pd.concat([e, e.assign(district=COUNTY)], ignore_index=True)
    keys = ["duty", "district", "period", "period_start", "period_end"]
    g = both.groupby(keys)["without_outcome"].agg(ended="count", without_outcome="sum").reset_index()
    g["share"] = g["without_outcome"] / g["ended"]
    lo, hi = wilson(g["without_outcome"].to_numpy(), g["ended"].to_numpy())
    g["share_lower"], g["share_upper"] = np.asarray(lo), np.asarray(hi)
    return g.sort_values(["duty", "period_start", "district"], ignore_index=True)


def without_outcome_drivers(source: Any, duty: str = "prevention", *, period_start: Any = None,
                            period_end: Any = None, terms: list[str] | None = None) -> pd.DataFrame:
    """Logistic regression of closing without an outcome on case characteristics.

    Returns duty, term, level, reference, odds_ratio, lower, upper, p_value, n, events (one row per
    non-reference level; ``term == "intercept"`` first)."""
    e = _periodise(duty_endings(source), None, period_start, period_end)
    e = e[e["duty"] == duty].reset_index(drop=True)
    cols = ["duty", "term", "level", "reference", "odds_ratio", "lower", "upper", "p_value", "n", "events"]
    if len(e) < 2 or e["without_outcome"].nunique() < 2:  # nothing to model
        return pd.DataFrame(columns=cols)
    terms = terms or DRIVER_TERMS
    x = pool_rare_levels(e, terms)
    refs: dict[str, str] = {}
    columns = []
    for t in terms:
        counts = x[t].value_counts()
        if len(counts) < 2:
            continue
        if t == "district" and REFERENCE_DISTRICT in counts.index:
            ref = REFERENCE_DISTRICT
        elif t.startswith("need_") and "0" in counts.index:
            ref = "0"
        else:
            ref = str(counts.index[0])
        refs[t] = ref
        for level in sorted(set(counts.index) - {ref}):
            columns.append((t, level, (x[t] == level).astype(float).rename(f"{t}={level}")))
    design = pd.concat([e["without_outcome"].astype(float), *[c for _, _, c in columns]], axis=1)
    fit = LogisticRegression().fit(design, "without_outcome", [c.name for _, _, c in columns])
    s = fit.summary

    def row(name: str, term: str, level: str, reference: str) -> dict[str, Any]:
        return {"duty": duty, "term": term, "level": level, "reference": reference,
                "odds_ratio": float(s.loc[name, "exp(coef)"]), "lower": float(s.loc[name, "lower .95"]),
                "upper": float(s.loc[name, "upper .95"]), "p_value": float(s.loc[name, "p"])}

    rows = [row(INTERCEPT, "intercept", "", "")]
    rows += [row(str(col.name), t, level, refs[t]) for t, level, col in columns]
    out = pd.DataFrame(rows)
    out["n"], out["events"] = fit.n_obs_, int(e["without_outcome"].sum())
    return out


def district_order(values: pd.Series) -> pd.Series:
    """Sort key: the five districts in vocabulary order, then the county."""
    order = {d: i for i, d in enumerate([*DISTRICTS, COUNTY])}
    return values.map(lambda v: order.get(v, len(order)))
