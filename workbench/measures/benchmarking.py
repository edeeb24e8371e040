"""District benchmarking (strategy actions 3, 4.1 and 5): the five housing authorities compared
fairly, with funnel plots and a case-mix-adjusted comparison beside the crude one.

Indicators (each a proportion; the date is when the duty or stay ended, so a period holds the
outcomes known in it):

- ``prevention_success``: prevention duties that ended with accommodation secured for 6+ months
  (stayed or moved), of all prevention duties that ended (H-CLIC's measure).
- ``relief_success``: relief duties that ended with accommodation secured for 6+ months, of all
  relief duties that ended.
- ``move_on``: stays in supported accommodation (not Housing First) that ended with a move to a
  settled home (social or private rented, or Housing First), of all stays that ended.
- ``private_rented_access``: duties that secured accommodation where the home secured was a
  private rented tenancy (``accommodation_secured = private_rented``), of all duties that secured
  accommodation of a known type.

Districts are compared with funnel plots (:mod:`workbench.measures.funnel`) around the county rate
and around the Phase I (outlier-robust) county rate. The case-mix-adjusted comparison uses
**indirect standardisation**: a logistic model fitted to the whole county on case characteristics
(never on the district) gives each case its expected chance of success; a district's expected
count ``E`` is the sum over its cases, and ``O/E`` says how the district does compared with the
county for the cases it actually has (1 = as the county). Protected characteristics (ethnicity,
gender, disability, sexual orientation) are deliberately left out of the case mix: differences by
them are outcomes to be reduced (see :mod:`workbench.measures.equality`), not excuses.

Rates per 1,000 households use the Census 2021 household counts (:func:`workbench.definitions.district_households`)
(two of the five are approximate - see that file).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench.definitions import (
    COUNTY,
    DISTRICTS,
    definition,
    district_households,
    outcome_codes,
)
from workbench.measures.funnel import (
    Method,
    proportion_funnel,
    ratio_funnel,
    robust_proportion_target,
    robust_ratio_target,
)
from workbench.measures.periods import add_period
from workbench.measures.sources import as_sources, has_need, need_count
from workbench.statistics.intervals import wilson

if TYPE_CHECKING:
    from workbench.statistics.logistic import LogisticRegression

# scipy.stats and the logistic regression (statsmodels) are imported in the functions that use
# them: the dashboards import this module for its constants in every page kernel, which then
# start without them (about a second and tens of megabytes each; docs/assumptions/dashboards.md).

INDICATORS: dict[str, str] = {
    "prevention_success": "Prevention duties ended with accommodation secured for 6+ months, of prevention duties ended",
    "relief_success": "Relief duties ended with accommodation secured for 6+ months, of relief duties ended",
    "move_on": "Supported accommodation stays ended with a move to a settled home, of stays ended",
    "private_rented_access": "Duties that secured a private rented home, of duties that secured accommodation of a known type",
}
SETTLED_DESTINATIONS: tuple[str, ...] = tuple(definition("system_performance", "benchmarking", "settled_destinations"))
KEY_NEEDS: tuple[str, ...] = tuple(definition("system_performance", "benchmarking", "case_mix_needs"))
#: Case-mix terms per source (categorical columns built by :func:`case_mix_frame`).
CASE_MIX: dict[str, list[str]] = {
    source: [*terms, *[f"need_{n}" for n in KEY_NEEDS]]
    for source, terms in definition("system_performance", "benchmarking", "case_mix_terms").items()
}
AGE_BANDS = [(16, 24, "16-24"), (25, 34, "25-34"), (35, 44, "35-44"), (45, 54, "45-54"), (55, 200, "55+")]
MIN_LEVEL_SIZE = 20  # rarer levels of a case-mix factor are pooled, so the model stays estimable


def age_band(age: pd.Series) -> pd.Series:
    """Age bands 16-24, 25-34, 35-44, 45-54, 55+ ("not recorded" when missing)."""
    a = pd.to_numeric(age, errors="coerce")
    out = pd.Series("not recorded", index=age.index, dtype=object)
    for lo, hi, label in AGE_BANDS:
        out[(a >= lo) & (a <= hi)] = label
    return out


def case_mix_frame(records: pd.DataFrame, source: str) -> pd.DataFrame:
    """The case-mix columns of :data:`CASE_MIX` derived from the source columns."""
    out = pd.DataFrame(index=records.index)
    age_col = "age_at_approach_date" if source == "statutory_cases" else "age_at_start_date"
    out["age_band"] = age_band(records.get(age_col, pd.Series(np.nan, index=records.index)))
    needs = records.get("support_needs", pd.Series(None, index=records.index))
    count = need_count(needs)
    out["needs_band"] = np.select([count == 0, count == 1, count == 2], ["0", "1", "2"], "3+")
    for n in KEY_NEEDS:
        out[f"need_{n}"] = has_need(needs, n).astype(str)
    for col in ("household_type", "referral_route", "loss_reason", "route_in"):
        if col in records:
            out[col] = records[col].fillna("not recorded").astype(str)
    return out[[c for c in CASE_MIX[source] if c in out.columns]]


def indicator_records(source: Any, indicator: str) -> pd.DataFrame:
    """One row per duty or stay in the indicator's denominator: source_index (the row of the
    source table), person_id, district, date, success (0/1), source (the table the case mix
    comes from) and the case-mix columns."""
    src = as_sources(source)
    key = ("indicator_records", indicator)
    if key not in src.cache:
        src.cache[key] = _indicator_records(src, indicator)
    return src.cache[key].copy()


def _indicator_records(src: Any, indicator: str) -> pd.DataFrame:
    if indicator in ("prevention_success", "relief_success", "private_rented_access"):
        sc = src["statutory_cases"]
        if indicator == "prevention_success":
            d = sc[sc["prevention_duty_start"].notna() & sc["prevention_duty_end"].notna()]
            success = d["prevention_duty_end_reason"].isin(outcome_codes("prevention_success"))
            date = d["prevention_duty_end"]
        elif indicator == "relief_success":
            d = sc[sc["relief_duty_start"].notna() & sc["relief_duty_end"].notna()]
            success = d["relief_duty_end_reason"].isin(outcome_codes("relief_success"))
            date = d["relief_duty_end"]
        else:
            prev_ok = sc["prevention_duty_end_reason"].isin(outcome_codes("prevention_success"))
            rel_ok = sc["relief_duty_end_reason"].isin(outcome_codes("relief_success"))
            known = sc["accommodation_secured"].notna() & (sc["accommodation_secured"] != "not_known")
            d = sc[(prev_ok | rel_ok) & known]
            success = d["accommodation_secured"] == "private_rented"
            date = d["prevention_duty_end"].where(prev_ok.loc[d.index], d["relief_duty_end"])
        table = "statutory_cases"
    elif indicator == "move_on":
        sa = src["supported_accommodation"]
        d = sa[(sa["model"] != "housing_first") & sa["end_date"].notna()]
        success = d["destination"].isin(SETTLED_DESTINATIONS)
        date = d["end_date"]
        table = "supported_accommodation"
    else:
        raise ValueError(f"unknown indicator {indicator!r}; known: {list(INDICATORS)}")
    out = pd.DataFrame({"source_index": d.index, "person_id": d["person_id"], "district": d["district"],
                        "date": pd.to_datetime(date), "success": success.astype(int)}, index=d.index)
    out = pd.concat([out, case_mix_frame(d, table)], axis=1)
    out["source"] = table
    return out.dropna(subset=["date", "district"]).reset_index(drop=True)


def _in_period(frame: pd.DataFrame, period_start: Any, period_end: Any, col: str = "date") -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    if period_start is not None:
        keep &= frame[col] >= pd.Timestamp(period_start)
    if period_end is not None:
        keep &= frame[col] <= pd.Timestamp(period_end)
    return frame[keep]


def district_indicators(
    source: Any,
    *,
    indicators: list[str] | None = None,
    freq: str | None = None,
    period_start: Any = None,
    period_end: Any = None,
) -> pd.DataFrame:
    """Tidy table: indicator, district (the five and the county), period (``"all"`` when
    ``freq`` is None), period_start, period_end, numerator, denominator, rate, rate_lower,
    rate_upper (Wilson 95%)."""
    src = as_sources(source)
    rows = []
    for ind in indicators or list(INDICATORS):
        rec = _in_period(indicator_records(src, ind), period_start, period_end)
        if freq is None:
            rec = rec.assign(period="all", period_start=rec["date"].min() if len(rec) else pd.NaT,
                             period_end=rec["date"].max() if len(rec) else pd.NaT)
        else:
            rec = add_period(rec, "date", freq)  # type: ignore[arg-type]
        both = pd.concat([rec, rec.assign(district=COUNTY)])
        g = both.groupby(["district", "period", "period_start", "period_end"])["success"].agg(["sum", "count"]).reset_index()
        g = g.rename(columns={"sum": "numerator", "count": "denominator"})
        g.insert(0, "indicator", ind)
        rows.append(g)
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if len(out):
        out["rate"] = out["numerator"] / out["denominator"]
        out["rate_lower"], out["rate_upper"] = wilson(out["numerator"].to_numpy(), out["denominator"].to_numpy())
        order = {d: i for i, d in enumerate([*DISTRICTS, COUNTY])}
        out = out.sort_values(["indicator", "period_start", "district"], key=lambda s: s.map(order) if s.name == "district" else s,
                              ignore_index=True)
    return out


def district_funnel(
    source: Any,
    indicator: str = "prevention_success",
    *,
    period_start: Any = None,
    period_end: Any = None,
    method: Method | None = None,
) -> pd.DataFrame:
    """Crude funnel for one indicator: each district against the county rate and against the
    Phase I (robust) county rate. Columns: indicator, target_kind ("county rate" / "robust county
    rate"), district, observed, denominator, rate, target, limits, z, position, set_aside (the
    district was left out of the robust target). ``method`` defaults to
    ``system_performance.benchmarking.funnel_method`` (exact)."""
    method = method or definition("system_performance", "benchmarking", "funnel_method")
    rec = _in_period(indicator_records(source, indicator), period_start, period_end)
    g = rec.groupby("district")["success"].agg(["sum", "count"])
    g = g[g["count"] > 0]
    if g.empty:
        return pd.DataFrame(columns=["indicator", "district", "observed", "denominator", "rate", "target", "lower_95",
                                     "upper_95", "lower_998", "upper_998", "z", "position", "target_kind", "set_aside"])
    units = list(g.index)
    parts = []
    plain = proportion_funnel(units, g["sum"], g["count"], method=method)
    parts.append(plain.assign(target_kind="county rate", set_aside=False))
    theta, aside = robust_proportion_target(g["sum"], g["count"], method=method)
    robust = proportion_funnel(units, g["sum"], g["count"], target=theta, method=method)
    robust["set_aside"] = [i in aside for i in range(len(units))]
    parts.append(robust.assign(target_kind="robust county rate"))
    out = pd.concat(parts, ignore_index=True).rename(columns={"unit": "district"})
    out.insert(0, "indicator", indicator)
    return out


def pool_rare_levels(records: pd.DataFrame, terms: list[str]) -> pd.DataFrame:
    """The ``terms`` columns as text, each level rarer than ``MIN_LEVEL_SIZE`` pooled into
    "other (rare)" so that a model on them stays estimable."""
    x = records[terms].astype(str).copy()
    for c in terms:
        counts = x[c].value_counts()
        rare = counts.index[counts < MIN_LEVEL_SIZE]
        if len(rare):
            x.loc[x[c].isin(rare), c] = "other (rare)"
    return x


def case_mix_design(records: pd.DataFrame, terms: list[str]) -> pd.DataFrame:
    """0/1 indicator columns for the levels of ``terms`` (rare levels pooled; the first level of
    each is the reference), constant columns dropped."""
    design = pd.get_dummies(pool_rare_levels(records, terms), drop_first=True, dtype=float)
    return design.loc[:, design.std() > 0]


def fit_case_mix_model(records: pd.DataFrame) -> tuple[LogisticRegression, pd.Series]:
    """County-wide logistic regression of success on the case mix (no district term).

    Returns (fitted model, predicted probability per record)."""
    source = records["source"].iloc[0]
    design = case_mix_design(records, [c for c in CASE_MIX[source] if c in records.columns])
    frame = design.assign(success=records["success"].astype(float).to_numpy())
    from workbench.statistics.logistic import LogisticRegression

    fit = LogisticRegression().fit(frame, "success", list(design.columns))
    return fit, pd.Series(fit.predict(frame), index=records.index)


def _cached_fit(source: Any, indicator: str, period_start: Any, period_end: Any, rec: pd.DataFrame) -> tuple[Any, pd.Series]:
    src = as_sources(source)
    key = ("case_mix_fit", indicator, str(period_start), str(period_end))
    if key not in src.cache:
        src.cache[key] = fit_case_mix_model(rec)
    return src.cache[key]


def case_mix_adjusted(
    source: Any,
    indicator: str = "prevention_success",
    *,
    period_start: Any = None,
    period_end: Any = None,
) -> pd.DataFrame:
    """Indirectly standardised comparison: per district observed (O), expected from the county
    case-mix model (E), O/E with a 95% confidence interval, the crude rate beside it, and funnel
    limits for O/E around 1 (county) and around the robust target.

    Columns: indicator, target_kind, district, observed, denominator, expected, crude_rate,
    crude_lower, crude_upper, ratio (O/E), ratio_lower, ratio_upper, target, lower_95 ...
    upper_998, z, position, set_aside.
    """
    rec = _in_period(indicator_records(source, indicator), period_start, period_end).reset_index(drop=True)
    cols = ["indicator", "target_kind", "district", "observed", "denominator", "expected", "crude_rate", "crude_lower",
            "crude_upper", "ratio", "ratio_lower", "ratio_upper", "target", "lower_95", "upper_95", "lower_998",
            "upper_998", "z", "position", "set_aside"]
    if len(rec) < 2 or rec["success"].nunique() < 2:  # no model to fit: no adjusted comparison
        return pd.DataFrame(columns=cols)
    _, p = _cached_fit(source, indicator, period_start, period_end, rec)
    rec["expected"] = p.to_numpy()
    g = rec.groupby("district").agg(observed=("success", "sum"), denominator=("success", "count"),
                                    expected=("expected", "sum"))
    units = list(g.index)
    probs = [rec.loc[rec["district"] == u, "expected"].to_numpy() for u in units]
    lo, hi = wilson(g["observed"].to_numpy(), g["denominator"].to_numpy())
    base = pd.DataFrame({"district": units, "denominator": g["denominator"].to_numpy(), "crude_rate": (g["observed"] / g["denominator"]).to_numpy(),
                         "crude_lower": lo, "crude_upper": hi})
    # 95% CI of each district's own O/E: variance of O at the district's own level of success
    ratio = (g["observed"] / g["expected"]).to_numpy()
    var_own = np.array([np.sum(np.minimum(r * q, 1) * (1 - np.minimum(r * q, 1))) for r, q in zip(ratio, probs, strict=True)])
    from scipy import stats

    z975 = stats.norm.ppf(0.975)
    base["ratio_lower"] = np.maximum(ratio - z975 * np.sqrt(var_own) / g["expected"].to_numpy(), 0)
    base["ratio_upper"] = ratio + z975 * np.sqrt(var_own) / g["expected"].to_numpy()
    parts = []
    plain = ratio_funnel(units, g["observed"], g["expected"], probs, target=1.0)
    parts.append(plain.assign(target_kind="county rate", set_aside=False))
    rho, aside = robust_ratio_target(g["observed"], g["expected"], probs)
    robust = ratio_funnel(units, g["observed"], g["expected"], probs, target=rho)
    robust["set_aside"] = [i in aside for i in range(len(units))]
    parts.append(robust.assign(target_kind="robust county rate"))
    out = pd.concat(parts, ignore_index=True).rename(columns={"unit": "district"}).merge(base, on="district")
    out.insert(0, "indicator", indicator)
    return out[cols]


def case_mix_expected_by_quarter(source: Any, indicator: str = "prevention_success") -> pd.DataFrame:
    """Observed and expected successes per district and quarter, from one county case-mix model
    fitted over the whole history with the quarter as a term: the sums over any run of whole
    quarters give that run's indirectly standardised comparison, so a dashboard can offer every
    period without refitting (:func:`case_mix_adjusted` refits for one chosen period).

    With the quarter in the model, the county's expected equals its observed in each quarter (a
    quarter too small to estimate is pooled with the other rare ones), so a district's O/E
    compares it with the county over the same quarters, given its case mix; ``variance`` is
    ``sum p (1 - p)``, the variance of O when the district is as the county (target 1, see
    :func:`workbench.measures.funnel.ratio_limits`).

    Columns: indicator, district, month (first day of the quarter), observed, denominator,
    expected, variance."""
    cols = ["indicator", "district", "month", "observed", "denominator", "expected", "variance"]
    rec = indicator_records(source, indicator).reset_index(drop=True)
    if len(rec) < 2 or rec["success"].nunique() < 2:
        return pd.DataFrame(columns=cols)
    rec = add_period(rec, "date", "Q")
    rec["quarter"] = rec["period"]
    terms = [c for c in CASE_MIX[rec["source"].iloc[0]] if c in rec.columns] + ["quarter"]
    design = case_mix_design(rec, terms)
    frame = design.assign(success=rec["success"].astype(float).to_numpy())
    from workbench.statistics.logistic import LogisticRegression

    p = LogisticRegression().fit(frame, "success", list(design.columns)).predict(frame)
    rec["expected"] = np.asarray(p, float)
    rec["variance"] = rec["expected"] * (1 - rec["expected"])
    g = rec.groupby(["district", "period_start"]).agg(observed=("success", "sum"), denominator=("success", "count"),
                                                      expected=("expected", "sum"), variance=("variance", "sum"))
    out = g.reset_index().rename(columns={"period_start": "month"})
    out.insert(0, "indicator", indicator)
    return out[cols]


def case_mix_model_table(source: Any, indicator: str = "prevention_success", *, period_start: Any = None,
                         period_end: Any = None) -> pd.DataFrame:
    """The county case-mix model's odds ratios (for researchers checking the adjustment)."""
    rec = _in_period(indicator_records(source, indicator), period_start, period_end).reset_index(drop=True)
    if len(rec) < 2 or rec["success"].nunique() < 2:
        return pd.DataFrame(columns=["indicator", "term", "odds_ratio", "lower", "upper", "p_value", "n"])
    fit, _ = _cached_fit(source, indicator, period_start, period_end, rec)
    s = fit.summary
    return pd.DataFrame({"indicator": indicator, "term": s.index, "odds_ratio": s["exp(coef)"].to_numpy(),
                         "lower": s["lower .95"].to_numpy(), "upper": s["upper .95"].to_numpy(),
                         "p_value": s["p"].to_numpy(), "n": fit.n_obs_})


def _poisson_ci(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) 95% interval for a Poisson count."""
    from scipy import stats

    k = np.asarray(k, float)
    lo = np.where(k > 0, stats.chi2.ppf(0.025, 2 * k) / 2, 0.0)
    hi = stats.chi2.ppf(0.975, 2 * (k + 1)) / 2
    return lo, hi


def rates_per_1000_households(
    source: Any,
    *,
    freq: str = "FY",
    period_start: Any = None,
    period_end: Any = None,
) -> pd.DataFrame:
    """Approaches, prevention duties, relief duties and successful preventions per 1,000
    households, per district and period, with exact Poisson 95% intervals.

    Columns: measure, district, period, period_start, period_end, count, households, per_1000,
    per_1000_lower, per_1000_upper, days_covered (a part period's rate is for the days covered,
    not annualised), households_verified."""
    src = as_sources(source)
    sc = src["statutory_cases"]
    counts = {
        "approaches": (sc, "approach_date"),
        "prevention_duties_owed": (sc[sc["prevention_duty_start"].notna()], "prevention_duty_start"),
        "relief_duties_owed": (sc[sc["relief_duty_start"].notna()], "relief_duty_start"),
    }
    succ = indicator_records(src, "prevention_success")
    succ = succ[succ["success"] == 1]
    hh = district_households().set_index("district")
    rows = []
    frames = {name: pd.DataFrame({"district": f["district"], "date": pd.to_datetime(f[col])}) for name, (f, col) in counts.items()}
    frames["successful_preventions"] = succ[["district", "date"]]
    for name, f in frames.items():
        f = _in_period(f.dropna(), period_start, period_end)
        f = add_period(f, "date", freq)  # type: ignore[arg-type]
        g = f.groupby(["district", "period", "period_start", "period_end"]).size().rename("count").reset_index()
        county = g.groupby(["period", "period_start", "period_end"])["count"].sum().reset_index().assign(district=COUNTY)
        g = pd.concat([g, county], ignore_index=True)
        g.insert(0, "measure", name)
        rows.append(g)
    out = pd.concat(rows, ignore_index=True)
    hh_county = hh["households"].sum()
    out["households"] = out["district"].map(hh["households"]).astype(float)
    out.loc[out["district"] == COUNTY, "households"] = float(hh_county)
    verified = hh["verified"].eq("yes")
    out["households_verified"] = [bool(verified.all()) if d == COUNTY else bool(verified.get(d, False)) for d in out["district"]]
    lo, hi = _poisson_ci(out["count"].to_numpy())
    out["per_1000"] = out["count"] / out["households"] * 1000
    out["per_1000_lower"] = lo / out["households"] * 1000
    out["per_1000_upper"] = hi / out["households"] * 1000
    first = pd.Timestamp(period_start) if period_start is not None else pd.Timestamp("1900-01-01")
    last = min(pd.Timestamp(period_end), src.extract_date) if period_end is not None else src.extract_date
    out["days_covered"] = (out["period_end"].clip(upper=last) - out["period_start"].clip(lower=first)).dt.days + 1
    return out
