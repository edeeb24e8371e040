"""The new arrivals study's tables: shares with their intervals, routes, timing, agencies,
characteristics of those who had and had not presented, and the CHAIN-style monthly counts."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from scipy import stats

from workbench.cohorts import rough_sleeping as rs
from workbench.statistics.intervals import bootstrap_quantiles, goodman, newcombe, wilson
from workbench.statistics.multiplicity import holm

#: Bootstrap of medians and quartiles: replicates and seed (recorded, so a run reproduces).
BOOTSTRAP = {"replicates": 2000, "seed": 20240401}


def share_table(labels: pd.Series, order: list[str] | None = None, name: str = "category") -> pd.DataFrame:
    """Distribution of ``labels``: count, share, Goodman simultaneous and Wilson 95% intervals."""
    counts = labels.value_counts()
    if order is not None:
        counts = counts.reindex([o for o in order if o in counts.index] +
                                [c for c in counts.index if c not in order], fill_value=0)
    n = int(counts.sum())
    sim = goodman(counts.to_numpy())
    rows = []
    for (cat, k), (slo, shi) in zip(counts.items(), sim, strict=True):
        lo, hi = wilson(k, n)
        rows.append({name: cat, "people": int(k), "share": k / n if n else math.nan, "lower": lo, "upper": hi,
                     "simultaneous_lower": slo, "simultaneous_upper": shi, "total": n})
    return pd.DataFrame(rows, columns=[name, "people", "share", "lower", "upper", "simultaneous_lower",
                                       "simultaneous_upper", "total"])


def presented_by_window(paths: pd.DataFrame, windows: dict[str, int], lookback_months: int,
                        contact_history_start: pd.Timestamp) -> pd.DataFrame:
    """Share who had presented within each window, over arrivals whose window lies in the data."""
    rows = []
    spec = [("any", f"any time in the {lookback_months} months before", "presented",
             rs._months_before(paths["arrival_date"], lookback_months))]
    for name, value in windows.items():
        start = (rs._months_before(paths["arrival_date"], value) if name.endswith("m")
                 else paths["arrival_date"] - pd.Timedelta(days=value))
        words = f"within {value} months before" if name.endswith("m") else f"within {value} days before"
        spec.append((name, words, f"presented_{name}", start))
    for name, words, col, start in spec:
        full = start >= contact_history_start
        n, k = int(full.sum()), int(paths.loc[full, col].sum())
        lo, hi = wilson(k, n)
        rows.append({"window": name, "meaning": f"presented {words} arrival", "arrivals": n, "presented": k,
                     "share": k / n if n else math.nan, "lower": lo, "upper": hi,
                     "arrivals_left_out_short_history": int((~full).sum())})
    return pd.DataFrame(rows)


def routes_table(paths: pd.DataFrame) -> pd.DataFrame:
    """Route into rough sleeping among those who presented, with intervals and timing."""
    pres = paths[paths["presented"]]
    order = list(rs.ROUTE_PRIORITY)
    out = share_table(pres["route"], order, name="route").rename(columns={"total": "presented"})
    out.insert(1, "label", out["route"].map(rs.ROUTE_LABELS))
    n_all = len(paths)
    out["share_of_all_arrivals"] = out["people"] / n_all if n_all else math.nan
    ci = [wilson(k, n_all) for k in out["people"]]
    out["all_lower"], out["all_upper"] = [c[0] for c in ci], [c[1] for c in ci]
    timing = []
    for r in out["route"]:
        q = bootstrap_quantiles(pres.loc[pres["route"] == r, "days_before_arrival"].to_numpy(), **BOOTSTRAP)
        timing.append({"median_days": q["estimate"][1], "median_lower": q["lower"][1], "median_upper": q["upper"][1],
                       "q1_days": q["estimate"][0], "q3_days": q["estimate"][2]})
    return pd.concat([out, pd.DataFrame(timing, columns=["median_days", "median_lower", "median_upper", "q1_days",
                                                         "q3_days"])], axis=1)


def time_before_arrival(paths: pd.DataFrame) -> pd.DataFrame:
    """Quartiles (bootstrap 95% intervals) of days from the route's contact to arrival."""
    pres = paths[paths["presented"]]
    parts = [bootstrap_quantiles(pres["days_before_arrival"].to_numpy(), **BOOTSTRAP).assign(route="all", people=len(pres))]
    for r in rs.ROUTE_PRIORITY:
        d = pres.loc[pres["route"] == r, "days_before_arrival"]
        if len(d):
            parts.append(bootstrap_quantiles(d.to_numpy(), **BOOTSTRAP).assign(route=r, people=len(d)))
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "label", out["route"].map(rs.ROUTE_LABELS).fillna("All who presented"))
    return out[["route", "label", "people", "quantile", "estimate", "lower", "upper"]]


def agencies_table(paths: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """Arrivals with any earlier contact with each agency (several per person possible)."""
    pres = contacts[contacts["presenting"] & contacts["person_id"].isin(paths["person_id"])]
    per = pres.drop_duplicates(["person_id", "agency"]).groupby("agency").size().sort_values(ascending=False)
    n, n_pres = len(paths), int(paths["presented"].sum())
    rows = []
    for agency, k in per.items():
        lo, hi = wilson(k, n)
        rows.append({"agency": agency, "people": int(k), "share_of_all_arrivals": k / n, "lower": lo, "upper": hi,
                     "share_of_presented": k / n_pres if n_pres else math.nan})
    return pd.DataFrame(rows, columns=["agency", "people", "share_of_all_arrivals", "lower", "upper",
                                       "share_of_presented"])


def last_contact_tables(complete: pd.DataFrame, contacts: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Among arrivals who had presented: how their last contact ended, their last council case's
    outcome and main duty decision, and whether that case was in another district than the one
    where they were first seen rough sleeping."""
    pres = complete[complete["presented"]]
    out = {"last_contact_outcome": share_table(pres["last_outcome_label"].fillna("not recorded"),
                                               name="last_contact_outcome")}
    stat_last = contacts[contacts["source"] == "statutory_cases"].sort_values("last_date").drop_duplicates(
        "person_id", keep="last")
    stat_last = stat_last[stat_last["person_id"].isin(pres["person_id"])]
    out["last_council_case_outcome"] = share_table(stat_last["outcome_label"], name="outcome")
    decided = stat_last["main_duty_decision"].dropna()
    out["main_duty_decisions_before_arrival"] = share_table(decided, name="main_duty_decision")

    # Presented in one district, first seen rough sleeping in another.
    with_case = complete[complete["presented_statutory"]]
    k_other, n_case = int(with_case["presented_other_district"].sum()), len(with_case)
    lo, hi = wilson(k_other, n_case)
    out["presented_other_district"] = pd.DataFrame([{
        "presented_to_a_council": n_case, "in_another_district": k_other,
        "share": k_other / n_case if n_case else math.nan, "lower": lo, "upper": hi}])
    last_case = stat_last.set_index("person_id")["district"]
    flows = complete.assign(presented_district=complete["person_id"].map(last_case)).dropna(subset=["presented_district"])
    out["district_of_last_council_case_by_arrival_district"] = pd.crosstab(
        flows["presented_district"], flows["arrival_district"]).reset_index()
    return out


def characteristics(paths: pd.DataFrame) -> pd.DataFrame:
    """Those who had and had not presented, compared: shares with Wilson intervals, the difference
    (Newcombe interval), Fisher's exact test per row, a chi-square test per variable, Holm-adjusted."""
    pres = paths["presented"].to_numpy(dtype=bool)
    rows: list[dict[str, Any]] = []

    def add(variable: str, value: str, indicator: pd.Series, base: pd.Series, variable_p: float = math.nan) -> None:
        ind, base_ = indicator.to_numpy(dtype=bool), base.to_numpy(dtype=bool)
        k1, n1 = int((ind & base_ & pres).sum()), int((base_ & pres).sum())
        k0, n0 = int((ind & base_ & ~pres).sum()), int((base_ & ~pres).sum())
        row = {"variable": variable, "value": value, "presented_n": n1, "presented_with": k1,
               "presented_share": k1 / n1 if n1 else math.nan, "presented_lower": wilson(k1, n1)[0],
               "presented_upper": wilson(k1, n1)[1], "not_presented_n": n0, "not_presented_with": k0,
               "not_presented_share": k0 / n0 if n0 else math.nan, "not_presented_lower": wilson(k0, n0)[0],
               "not_presented_upper": wilson(k0, n0)[1], "difference": math.nan, "difference_lower": math.nan,
               "difference_upper": math.nan, "p_value": math.nan, "variable_p_value": variable_p}
        if n1 and n0:
            row["difference"] = k1 / n1 - k0 / n0
            row["difference_lower"], row["difference_upper"] = newcombe(k1, n1, k0, n0)
            row["p_value"] = float(stats.fisher_exact([[k1, n1 - k1], [k0, n0 - k0]])[1])
        rows.append(row)

    everyone = pd.Series(True, index=paths.index)
    for var in ("gender", "nationality"):
        values = paths[var].fillna("not_known")
        table = pd.crosstab(values, paths["presented"])
        p_var = float(stats.chi2_contingency(table)[1]) if table.shape == (table.shape[0], 2) and table.shape[0] > 1 else math.nan
        for v in sorted(values.unique()):
            add(var, str(v), values == v, everyone, p_var)
    age = pd.to_numeric(paths["age"], errors="coerce")
    add("age", "under 26", age < 26, age.notna())
    add("age", "50 or over", age >= 50, age.notna())
    nrpf = paths["nrpf"].astype("boolean")
    add("no_recourse_public_funds", "yes (of those with a council case recording it)",
        nrpf.fillna(False).astype(bool), nrpf.notna())
    add("needs_recorded", "any needs-bearing record in the window", paths["needs_recorded"], everyone)
    recorded = paths["needs_recorded"].astype(bool)
    needs = paths["support_needs"].fillna("").str.split(";")
    codes = sorted({c for cs in needs for c in cs if c})
    for code in codes:
        add("support_need", code, needs.apply(lambda cs, c=code: c in cs), recorded)
    out = pd.DataFrame(rows)
    # Having a needs record is a fact about recording (people who presented have more records), not a
    # characteristic of the person: shown, but kept out of the family of tests.
    out["is_characteristic"] = out["variable"] != "needs_recorded"
    ok = out["p_value"].notna() & out["is_characteristic"]
    out["p_holm"] = math.nan
    if ok.any():
        out.loc[ok, "p_holm"] = holm(out.loc[ok, "p_value"].to_numpy())
    return out


def age_comparison(paths: pd.DataFrame) -> pd.DataFrame:
    """Age at arrival by group: medians, means, Welch difference of means (95% CI), Mann-Whitney."""
    age = pd.to_numeric(paths["age"], errors="coerce")
    a1, a0 = age[paths["presented"]].dropna(), age[~paths["presented"]].dropna()
    row: dict[str, Any] = {"presented_n": len(a1), "presented_mean": a1.mean(), "presented_median": a1.median(),
                           "not_presented_n": len(a0), "not_presented_mean": a0.mean(),
                           "not_presented_median": a0.median(), "difference_of_means": math.nan,
                           "lower": math.nan, "upper": math.nan, "welch_p": math.nan, "mann_whitney_p": math.nan}
    if len(a1) > 1 and len(a0) > 1:
        t = stats.ttest_ind(a1, a0, equal_var=False)
        ci = t.confidence_interval(0.95)
        row.update(difference_of_means=a1.mean() - a0.mean(), lower=float(ci.low), upper=float(ci.high),
                   welch_p=float(t.pvalue), mann_whitney_p=float(stats.mannwhitneyu(a1, a0).pvalue))
    return pd.DataFrame([row])


def chain_tables(outreach: pd.DataFrame, lookback_months: int, start: pd.Timestamp,
                 end: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """People seen rough sleeping per month, CHAIN-style, for the county and per district."""
    ch = rs.chain_classification(outreach, lookback_months=lookback_months)
    if not len(ch):
        return pd.DataFrame(), pd.DataFrame()
    ch = ch[(ch["period"].dt.end_time >= start) & (ch["period"].dt.start_time <= end)]
    county = ch.pivot_table(index="period", columns="status", values="person_id", aggfunc="count", fill_value=0)
    county = county.reindex(columns=["new", "stock", "returner"], fill_value=0)
    county["new_with_short_history"] = ch[(ch["status"] == "new") & ~ch["lookback_complete"]].groupby("period").size()
    county["seen"] = county[["new", "stock", "returner"]].sum(axis=1)
    county["living_on_streets"] = ch[ch["living_on_streets"]].groupby("period").size()
    county = county.fillna(0).astype(int).reset_index()
    county["period"] = county["period"].astype(str)
    # Per district: each person counted in every district they were seen in that month.
    per_district = ch.assign(district=ch["districts"].str.split(";")).explode("district")
    district = per_district.pivot_table(index=["period", "district"], columns="status", values="person_id",
                                        aggfunc="count", fill_value=0)
    district = district.reindex(columns=["new", "stock", "returner"], fill_value=0)
    district["seen"] = district.sum(axis=1)
    district = district.reset_index()
    district["period"] = district["period"].astype(str)
    return county, district
