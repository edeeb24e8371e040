"""New arrivals on the streets: had they asked for help before? (Strategy action 3.2)

One entry point, :func:`run`, returns a :class:`~workbench.studies.base.StudyResult` with:

- **who is new**: people newly seen rough sleeping per month and district (England's framework,
  60-month lookback; 24 as an option), and the CHAIN classification of everyone seen (new, stock,
  returner, living on the streets);
- **earlier contacts** of each new arrival across all sources and districts, and from them the
  share who had presented anywhere (in the contact lookback, within 85 days, 6, 12 and 24
  months), by route and by agency, how the last contact ended, presentations in another district,
  and the time from the route's contact to arrival, every share with a 95% interval (Wilson for
  one proportion, Goodman simultaneous intervals for a distribution over categories, bootstrap for
  medians and quartiles);
- **characteristics** of those who had and had not presented, with differences, intervals and
  Holm-adjusted tests;
- **the common paths** as an alluvial (Sankey-like) figure;
- **sensitivity to linkage error**: worst-case bounds on the headline share from the linkage's
  measured precision and recall.

The cohort and the definitions are in :mod:`workbench.cohorts.rough_sleeping`; the reasons for
each choice in ``docs/assumptions/new_arrivals.md``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

# Figures are made without pyplot: nothing is kept open between runs, and no backend is chosen for
# the caller (notebooks show them as PNG; see notebooks/new_arrivals.ipynb).
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from scipy import stats
from statsmodels.stats.multitest import multipletests

from workbench.cohorts import rough_sleeping as rs
from workbench.definitions import definitions, history_start
from workbench.statistics.intervals import bootstrap_quantiles, goodman, newcombe, wilson
from workbench.studies.base import StudyResult

SOURCES = ("statutory_cases", "outreach_contacts", "supported_accommodation", "settled_tenancies",
           "institutional_discharges")
#: Colour-blind-safe palette (Okabe-Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
#: Bootstrap of medians and quartiles: replicates and seed (recorded, so a run reproduces).
BOOTSTRAP = {"replicates": 2000, "seed": 20240401}
DISTRICT_LABELS = {
    "oxford_city": "Oxford City", "cherwell": "Cherwell", "south_oxfordshire": "South Oxfordshire",
    "vale_of_white_horse": "Vale of White Horse", "west_oxfordshire": "West Oxfordshire",
    "outside_oxfordshire": "Outside Oxfordshire",
}


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


# --------------------------------------------------------------------------------- linkage bounds
def linkage_bounds(
    paths: pd.DataFrame,
    precision: float | None,
    recall: float | None,
    *,
    spurious_arrival_share: float = 0.0,
    hidden_arrival_share: float = 0.0,
) -> dict[str, Any]:
    """Worst-case bounds on the share who had presented, given the linkage's error rates.

    ``paths`` is one row per arrival with ``earlier_contacts`` (linked presenting records in the
    lookback). With L such links among N arrivals, K of whom have at least one:

    - a false link can only *invent* an earlier contact: about (1 - precision) x L links are false;
      at worst they are the only links of the presenters with fewest links, so the lower bound
      removes whole presenters, fewest links first, until those links are used up (K_low);
    - a missed link can only *hide* one: the links found that are true, precision x L, are a share
      ``recall`` of all true links, so about precision x L x (1 - recall) / recall were missed; at
      worst each belongs to a different arrival counted as not presented (K_high).

    Errors among outreach records change the arrivals themselves. ``spurious_arrival_share`` (s) is
    the share of arrivals that are fragments of someone seen before (missed links between their
    sightings); ``hidden_arrival_share`` (h) the share of true arrivals merged into someone seen
    earlier (false links); both are measured on the synthetic county by
    :func:`arrival_linkage_errors`. Of the N arrivals, S = s x N are spurious and T = N - S true;
    H = h / (1 - h) x T true arrivals are missing. At worst every spurious arrival had presented and
    every hidden one had not: lower bound max(0, K_low - S) / (T + H); and the reverse: upper bound
    (min(T, K_high) + H) / (T + H). ``corrected_estimate`` is min(K, T) / T: spurious arrivals
    counted as not having presented (a fragment rarely carries the earlier records) and hidden
    arrivals like the rest. With s = h = 0 the bounds are K_low / N and K_high / N.

    Each bound also gets the Wilson interval at its own end (lower of the lower bound, upper of the
    upper bound), so the pair covers both linkage error and sampling error.
    """
    n = len(paths)
    links = paths["earlier_contacts"].to_numpy(dtype=int)
    k = int((links > 0).sum())
    total_links = int(links.sum())
    out: dict[str, Any] = {"arrivals": n, "presented": k, "links": total_links,
                           "estimate": k / n if n else math.nan, "precision": precision, "recall": recall,
                           "spurious_arrival_share": spurious_arrival_share,
                           "hidden_arrival_share": hidden_arrival_share}
    if precision is None or recall is None or n == 0:
        out.update(lower_bound=math.nan, upper_bound=math.nan, bound_lower_ci=math.nan, bound_upper_ci=math.nan,
                   corrected_estimate=math.nan, false_links=math.nan, missed_links=math.nan)
        return out
    if not (0 < recall <= 1 and 0 <= precision <= 1):
        raise ValueError("precision must be in [0, 1] and recall in (0, 1].")
    if not (0 <= spurious_arrival_share < 1 and 0 <= hidden_arrival_share < 1):
        raise ValueError("spurious_arrival_share and hidden_arrival_share must be in [0, 1).")
    false_links = math.ceil((1 - precision) * total_links - 1e-9)
    missed_links = math.ceil(precision * total_links * (1 - recall) / recall - 1e-9)
    per_presenter = np.sort(links[links > 0])
    removable = int(np.searchsorted(np.cumsum(per_presenter), false_links, side="right"))
    spurious = min(n - 1, math.ceil(spurious_arrival_share * n - 1e-9))
    true_seen = n - spurious
    hidden = math.ceil(hidden_arrival_share / (1 - hidden_arrival_share) * true_seen - 1e-9)
    true_arrivals = true_seen + hidden
    k_low = max(0, k - removable - spurious)
    k_high = min(true_seen, k + min(n - k, missed_links)) + hidden
    out.update(false_links=false_links, missed_links=missed_links, spurious_arrivals=spurious,
               hidden_arrivals=hidden, presented_lower=k_low, presented_upper=k_high,
               lower_bound=k_low / true_arrivals, upper_bound=k_high / true_arrivals,
               corrected_estimate=min(k, true_seen) / true_seen,
               bound_lower_ci=wilson(k_low, true_arrivals)[0], bound_upper_ci=wilson(k_high, true_arrivals)[1])
    return out


#: The record reference of each source, to re-link records by (source, record_id).
RECORD_IDS = {"statutory_cases": "case_id", "outreach_contacts": "contact_id",
              "supported_accommodation": "episode_id", "settled_tenancies": "tenancy_id",
              "institutional_discharges": "discharge_id"}


def relinked(tables: dict[str, pd.DataFrame], person_ids: pd.Series) -> dict[str, pd.DataFrame]:
    """``tables`` with ``person_id`` replaced by another linkage's: one id per (source, record_id)."""
    out = {}
    for source, frame in tables.items():
        if source not in RECORD_IDS or frame is None or not len(frame):
            out[source] = frame
            continue
        ids = person_ids[person_ids.index.get_level_values(0) == source].droplevel(0)
        ids = ids[~ids.index.duplicated()]
        out[source] = frame.assign(person_id=frame[RECORD_IDS[source]].astype(str).map(ids))
    return out


def presented_share_headline(
    tables: dict[str, pd.DataFrame],
    *,
    period_start: dt.date,
    period_end: dt.date,
    lookback_months: int = 60,
):
    """The headline (share of new arrivals who had presented, over those with the whole contact
    lookback) as a function of a linkage, for ``workbench.linkage.sensitivity.compare_linkage``.

    The function takes one person id per record, indexed by (source, record_id), re-links
    ``tables`` (any store's tables of the same extracts) with it, and recomputes the arrivals, their
    earlier contacts and the share; unlike :func:`linkage_bounds` this also shows how linkage error
    changes who counts as a new arrival.
    """
    def headline(person_ids: pd.Series) -> float:
        t = relinked(tables, person_ids)
        arrivals = rs.new_arrivals(t["outreach_contacts"], period_start=period_start, period_end=period_end,
                                   lookback_months=lookback_months)
        paths = rs.arrival_paths(arrivals, rs.earlier_contacts(arrivals, t))
        complete = paths[paths["contact_history_complete"]]
        return float(complete["presented"].mean()) if len(complete) else math.nan

    return headline


def arrival_linkage_errors(
    tables: dict[str, pd.DataFrame],
    estimated_ids: pd.Series,
    true_ids: pd.Series,
    *,
    period_start: dt.date,
    period_end: dt.date,
    lookback_months: int = 60,
) -> dict[str, float]:
    """How a linkage changes who counts as a new arrival, and which earlier contacts each arrival
    has, measured where the truth is known.

    Both id series give one person id per (source, record_id). An arrival under the estimated
    linkage is *spurious* when the true person of its arrival contact has no true arrival that day
    (a fragment of someone seen before: a missed link between their outreach records); a true
    arrival is *hidden* when no estimated arrival falls on that day for that person (merged into
    someone seen earlier: a false link). For arrivals found by both, ``arrival_link_precision`` and
    ``arrival_link_recall`` compare the presenting records linked to each arrival with the true
    ones: the error rates of the very links the headline counts, which can be worse than the
    linkage's overall rates (an arrival's first contact is often a thin one). Returns the shares
    and rates for :func:`linkage_bounds`.
    """
    truth_of = true_ids[true_ids.index.get_level_values(0) == "outreach_contacts"].droplevel(0)
    truth_of = truth_of[~truth_of.index.duplicated()]

    def arrivals_and_presenting(ids: pd.Series) -> tuple[pd.DataFrame, set]:
        t = relinked(tables, ids)
        arr = rs.new_arrivals(t["outreach_contacts"], period_start=period_start, period_end=period_end,
                              lookback_months=lookback_months)
        # Key each arrival by its true person and date, so the two linkages' arrivals line up.
        arr = arr.assign(key_person=arr["arrival_contact_id"].astype(str).map(truth_of).to_numpy())
        contacts = rs.earlier_contacts(arr, t)
        contacts = contacts[contacts["presenting"]].merge(
            arr[["person_id", "arrival_date", "key_person"]], on=["person_id", "arrival_date"])
        links = set(zip(contacts["key_person"], contacts["arrival_date"], contacts["source"],
                        contacts["record_id"].astype(str), strict=True))
        return arr, links

    true_arr, true_links = arrivals_and_presenting(true_ids)
    est_arr, est_links = arrivals_and_presenting(estimated_ids)
    true_keys = set(zip(true_arr["key_person"], true_arr["arrival_date"], strict=True))
    est_keys = set(zip(est_arr["key_person"], est_arr["arrival_date"], strict=True))
    spurious = int(sum(1 for k in zip(est_arr["key_person"], est_arr["arrival_date"], strict=True) if k not in true_keys))
    hidden = len(true_keys - est_keys)
    both = true_keys & est_keys
    t_links = {x for x in true_links if x[:2] in both}
    e_links = {x for x in est_links if x[:2] in both}
    right = len(t_links & e_links)
    return {"estimated_arrivals": len(est_arr), "true_arrivals": len(true_arr), "spurious": spurious,
            "hidden": hidden, "spurious_arrival_share": spurious / len(est_arr) if len(est_arr) else 0.0,
            "hidden_arrival_share": hidden / len(true_arr) if len(true_arr) else 0.0,
            "arrival_links_true": len(t_links), "arrival_links_found": len(e_links),
            "arrival_link_precision": right / len(e_links) if e_links else 1.0,
            "arrival_link_recall": right / len(t_links) if t_links else 1.0}


LINKAGE_RATES = ("linkage_precision", "linkage_recall", "spurious_arrival_share", "hidden_arrival_share")


def _linkage_quality_from_store(store) -> tuple[dict[str, float | None], str]:
    """Linkage error rates recorded with the store, if any (no error for the true linkage)."""
    try:
        meta = store.meta()
    except Exception:  # a store without meta: nothing known
        return dict.fromkeys(LINKAGE_RATES), "unknown"
    method = meta.get("linkage", "unknown")
    if method == "truth":
        return {"linkage_precision": 1.0, "linkage_recall": 1.0, "spurious_arrival_share": 0.0,
                "hidden_arrival_share": 0.0}, method
    return {k: (float(meta[k]) if meta.get(k) not in (None, "") else None) for k in LINKAGE_RATES}, method


# ---------------------------------------------------------------------------------------- tables
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


def flow_outcome(source: object, outcome: object) -> str:
    """How a contact ended, grouped for the flow diagram and the last-contact table."""
    if source is None or (isinstance(source, float) and np.isnan(source)):
        return "No earlier contact"
    if outcome == "open_at_arrival":
        return "Still open at arrival"
    if source == "statutory_cases":
        return {"contact_lost": "Contact lost", "days_56_elapsed": "56 days elapsed", "not_eligible": "Not eligible",
                "intentionally_homeless": "Intentionally homeless", "refused_offer": "Refused an offer",
                "refused_final_offer": "Refused an offer", "local_connection_referral": "Referred to another council",
                "withdrew_or_died": "Withdrew", "refused_cooperate": "Refused to cooperate",
                "secured_6_months": "Accommodation secured", "secured_6_months_moved": "Accommodation secured",
                "secured_6_months_stayed": "Accommodation secured", "not_threatened": "Not threatened or homeless",
                }.get(str(outcome), "Other ending")
    if source == "institutional_discharges":
        return ("Released with no fixed abode" if outcome in ("no_fixed_abode", "rough_sleeping")
                else "Released, other")
    if source == "supported_accommodation":
        return {"evicted": "Evicted", "abandoned": "Abandoned"}.get(str(outcome), "Other ending")
    if source == "settled_tenancies":
        return "Tenancy ended"
    return "Other ending"


def flow_source(source: object, duty_to_refer: bool = False) -> str:
    if source is None or (isinstance(source, float) and np.isnan(source)):
        return "No earlier contact"
    return {"statutory_cases": "Council (Duty to Refer)" if duty_to_refer else "Council",
            "institutional_discharges": "Hospital or prison", "supported_accommodation": "Supported accommodation",
            "settled_tenancies": "Settled tenancy"}.get(str(source), "Other")


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
        out.loc[ok, "p_holm"] = multipletests(out.loc[ok, "p_value"], method="holm")[1]
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


# --------------------------------------------------------------------------------------- figures
def _smooth(t: np.ndarray) -> np.ndarray:
    return t * t * (3 - 2 * t)


def alluvial_figure(frame: pd.DataFrame, stages: list[str], titles: list[str] | None = None,
                    min_people: int = 5, title: str = ""):
    """A simple alluvial (Sankey-like) diagram of people through ``stages`` (columns of ``frame``).

    Categories with fewer than ``min_people`` people at a stage are merged into "Other (small)" so
    that small flows are neither drawn nor identifiable. Flows are coloured by the first stage.
    """
    f = frame[stages].astype(str).copy()
    for s in stages:
        small = f[s].map(f[s].value_counts()) < min_people
        f.loc[small, s] = "Other (small)"
    n = len(f)
    fig = Figure(figsize=(11, 6.5))
    ax = fig.subplots()
    if n == 0:
        ax.text(0.5, 0.5, "No new arrivals in the period", ha="center", va="center")
        ax.axis("off")
        return fig
    gap = 0.02 * n
    width = 0.12
    positions: dict[tuple[int, str], list[float]] = {}  # (stage, category) -> [bottom, top, out_cursor, in_cursor]
    orders = []
    for i, s in enumerate(stages):
        order = f[s].value_counts().index.tolist()
        order = [c for c in order if c not in ("No earlier contact", "Other (small)")] + \
                [c for c in ("Other (small)", "No earlier contact") if c in order]
        orders.append(order)
        y = 0.0
        for c in reversed(order):  # first category on top
            k = int((f[s] == c).sum())
            positions[(i, c)] = [y, y + k, y + k, y + k]
            y += k + gap
    colours = {c: PALETTE[j % len(PALETTE)] for j, c in enumerate(orders[0])}
    colours["No earlier contact"] = "#BBBBBB"
    x = np.linspace(0, 1, 50)
    for i in range(len(stages) - 1):
        pairs = f.groupby([stages[0], stages[i], stages[i + 1]]).size()
        # Draw in the order of the target so bands do not cross more than they must.
        for (origin, a, b), k in sorted(pairs.items(), key=lambda kv: (orders[i].index(kv[0][1]),
                                                                      orders[i + 1].index(kv[0][2]))):
            src, dst = positions[(i, a)], positions[(i + 1, b)]
            y0_top, y1_top = src[2], dst[3]
            src[2] -= k
            dst[3] -= k
            xs = i + width / 2 + x * (1 - width)
            top = y0_top + (y1_top - y0_top) * _smooth(x)
            ax.fill_between(xs, top - k, top, color=colours.get(origin, "#999999"), alpha=0.45, linewidth=0)
    for (i, c), (lo, hi, _, _) in positions.items():
        ax.add_patch(Rectangle((i - width / 2, lo), width, hi - lo, color="#333333"))
        label = f"{DISTRICT_LABELS.get(c, c)} ({int(hi - lo)})"
        ha, xo = ("right", i - width / 2 - 0.02) if i == 0 else ("left", i + width / 2 + 0.02)
        ax.text(xo, (lo + hi) / 2, label, ha=ha, va="center", fontsize=8,
                bbox=dict(facecolor="white", alpha=0.75, edgecolor="none", pad=0.5))
    for i, t in enumerate(titles or stages):
        ax.text(i, -0.04 * n, t, ha="center", va="top", fontsize=9, fontweight="bold")
    ax.set_xlim(-0.9, len(stages) - 0.2)
    ax.set_ylim(-0.09 * n, max(p[1] for p in positions.values()) * 1.02)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def _interval_bars(table: pd.DataFrame, label_col: str, est: str, lo: str, hi: str, title: str, xlabel: str):
    fig = Figure(figsize=(8, 0.45 * max(len(table), 3) + 1.2))
    ax = fig.subplots()
    y = np.arange(len(table))[::-1]
    e, low, high = (table[c].to_numpy(dtype=float) for c in (est, lo, hi))
    ax.barh(y, np.nan_to_num(e), color=PALETTE[0], alpha=0.8)
    ax.errorbar(np.nan_to_num(e), y, xerr=np.nan_to_num([e - low, high - e]), fmt="none", ecolor="#333333", capsize=3)
    ax.set_yticks(y, table[label_col].astype(str).tolist())
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    top = np.nanmax(high) if len(high) and np.isfinite(high).any() else 1.0
    ax.set_xlim(0, min(1.0, float(top) * 1.15))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _monthly_figure(county: pd.DataFrame):
    fig = Figure(figsize=(9, 4))
    ax = fig.subplots()
    if len(county):
        x = pd.PeriodIndex(county["period"], freq="M").to_timestamp()
        for i, col in enumerate(["new", "stock", "returner", "living_on_streets"]):
            ax.plot(x, county[col], color=PALETTE[i], label=col.replace("_", " "),
                    linestyle="--" if col == "living_on_streets" else "-")
    ax.set_ylabel("People seen bedded down")
    ax.set_title("People seen sleeping rough each month (CHAIN categories)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _timing_figure(paths: pd.DataFrame):
    fig = Figure(figsize=(8, 4.2))
    ax = fig.subplots()
    pres = paths[paths["presented"]]
    for i, r in enumerate(rs.ROUTE_PRIORITY):
        d = np.sort(pres.loc[pres["route"] == r, "days_before_arrival"].dropna().to_numpy())
        if len(d) < 10:
            continue
        ax.step(d, np.arange(1, len(d) + 1) / len(d), where="post", color=PALETTE[i % len(PALETTE)],
                label=rs.ROUTE_LABELS[r])
    ax.axvline(definitions()["new_arrivals"]["institution_window_days"], color="#999999", linestyle=":")
    ax.set_xscale("log")  # days are at least 1: earlier contacts are before the arrival day
    ax.set_xlim(left=1)
    ax.set_xlabel("Days from the contact to being first seen rough sleeping")
    ax.set_ylabel("Share of the route's arrivals")
    ax.set_title("How long before arrival the earlier contact was, by route")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------- run
def _load(store) -> dict[str, pd.DataFrame]:
    have = set(store.tables())
    return {name: store.table(name) if name in have else pd.DataFrame() for name in SOURCES}


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _ci(lo: float, hi: float) -> str:
    return f"95% CI {_pct(lo)} to {_pct(hi)}"


def default_period_start(contact_lookback_months: int, contact_history_start: dt.date, period_end: dt.date) -> dt.date:
    """The first day whose whole contact lookback lies inside the statutory data (else history start)."""
    start = (pd.Timestamp(contact_history_start) + pd.DateOffset(months=contact_lookback_months)).date()
    return start if start < period_end else contact_history_start


def default_period(extract_date: dt.date) -> tuple[dt.date, dt.date]:
    """The study's default arrival period for an extract: :func:`default_period_start` to the extract date."""
    cfg = definitions()["new_arrivals"]
    hist_start = pd.Timestamp(cfg.get("contact_history_start", history_start())).date()
    return default_period_start(int(cfg.get("contact_lookback_months", 24)), hist_start, extract_date), extract_date


def run(
    store=None,
    period_start: dt.date | str | None = None,
    period_end: dt.date | str | None = None,
    lookback_months: int = 60,
    linkage_precision: float | None = None,
    linkage_recall: float | None = None,
    *,
    tables: dict[str, pd.DataFrame] | None = None,
    extract_date: dt.date | None = None,
    short_history: rs.ShortHistory | None = None,
    spurious_arrival_share: float | None = None,
    hidden_arrival_share: float | None = None,
) -> StudyResult:
    """Run the new-arrivals study on a store (or on ``tables`` of the same shape).

    ``period_start``/``period_end`` bound the arrival dates (default: from the first day with a full
    contact lookback in the data to the extract date). ``lookback_months`` defines "new" (60, or 24
    as HUD Measure 5). ``linkage_precision``/``linkage_recall`` give the linkage-error
    bounds: best the rates of the arrival-to-presentation links themselves
    (``arrival_link_precision``/``arrival_link_recall`` from :func:`arrival_linkage_errors`), which
    can be worse than the linkage's overall (e.g. B-cubed) rates; ``spurious_arrival_share``/``hidden_arrival_share`` (from
    :func:`arrival_linkage_errors` on the synthetic county) widen them for errors in who counts as
    new. Any not given is read from the store's metadata (no error for the true linkage).
    """
    cfg = definitions()["new_arrivals"]
    tables = tables if tables is not None else _load(store)
    if extract_date is None:
        extract_date = dt.date.fromisoformat(store.meta()["extract_date"])
    contact_months = int(cfg.get("contact_lookback_months", 24))
    hist_start = pd.Timestamp(cfg.get("contact_history_start", history_start())).date()
    period_end = pd.Timestamp(period_end).date() if period_end else extract_date
    period_start = (pd.Timestamp(period_start).date() if period_start
                    else default_period(period_end)[0])
    short_history = short_history or cfg.get("short_history", "count_as_new")
    rates = {"linkage_precision": linkage_precision, "linkage_recall": linkage_recall,
             "spurious_arrival_share": spurious_arrival_share, "hidden_arrival_share": hidden_arrival_share}
    link_method = "given"
    if store is not None and any(v is None for v in rates.values()):
        recorded, link_method = _linkage_quality_from_store(store)
        rates = {k: recorded[k] if v is None else v for k, v in rates.items()}
    linkage_precision, linkage_recall = rates["linkage_precision"], rates["linkage_recall"]
    arrival_set_known = rates["spurious_arrival_share"] is not None or rates["hidden_arrival_share"] is not None

    params: dict[str, Any] = dict(period_start=str(period_start), period_end=str(period_end),
                                  lookback_months=lookback_months, short_history=short_history,
                                  contact_lookback_months=contact_months,
                                  institution_window_days=cfg["institution_window_days"],
                                  extract_date=str(extract_date), linkage=link_method,
                                  linkage_precision=linkage_precision, linkage_recall=linkage_recall,
                                  spurious_arrival_share=rates["spurious_arrival_share"],
                                  hidden_arrival_share=rates["hidden_arrival_share"])
    result = StudyResult(study="new_arrivals", parameters=params)
    outreach = tables.get("outreach_contacts", pd.DataFrame())

    # Who is new, and everyone seen, per month and district.
    arrivals = rs.new_arrivals(outreach, period_start=period_start, period_end=period_end,
                               lookback_months=lookback_months, short_history=short_history)
    county, district = chain_tables(outreach, lookback_months, pd.Timestamp(period_start), pd.Timestamp(period_end))
    result.tables["rough_sleeping_by_month"] = county
    result.tables["rough_sleeping_by_month_and_district"] = district
    by_md = arrivals.assign(month=arrivals["arrival_date"].dt.to_period("M").astype(str))
    result.tables["new_arrivals_by_month_and_district"] = (
        by_md.groupby(["month", "arrival_district"]).size().rename("new_arrivals").reset_index())

    # Earlier contacts and each arrival's path.
    contacts = rs.earlier_contacts(arrivals, tables, contact_lookback_months=contact_months)
    paths = rs.arrival_paths(arrivals, contacts, contact_lookback_months=contact_months,
                             contact_history_start=hist_start)
    paths = paths.merge(rs.needs_around_arrival(arrivals, tables, before_months=contact_months), on="person_id",
                        how="left")
    # The headline and everything after it use arrivals whose whole contact lookback is in the data.
    complete = paths[paths["contact_history_complete"]].reset_index(drop=True)

    windows = rs.default_windows()
    shares = presented_by_window(paths, windows, contact_months, pd.Timestamp(hist_start))
    result.tables["presented_share"] = shares
    result.tables["routes"] = routes_table(complete)
    result.tables["time_before_arrival"] = time_before_arrival(complete)
    result.tables["agencies"] = agencies_table(complete, contacts)
    pres = complete[complete["presented"]]
    last = share_table(pres["last_outcome_label"].fillna("not recorded"), name="last_contact_outcome")
    result.tables["last_contact_outcome"] = last
    stat_last = contacts[contacts["source"] == "statutory_cases"].sort_values("last_date").drop_duplicates(
        "person_id", keep="last")
    stat_last = stat_last[stat_last["person_id"].isin(pres["person_id"])]
    result.tables["last_council_case_outcome"] = share_table(stat_last["outcome_label"], name="outcome")
    decided = stat_last["main_duty_decision"].dropna()
    result.tables["main_duty_decisions_before_arrival"] = share_table(decided, name="main_duty_decision")

    # Presented in one district, first seen rough sleeping in another.
    with_case = complete[complete["presented_statutory"]]
    k_other, n_case = int(with_case["presented_other_district"].sum()), len(with_case)
    lo, hi = wilson(k_other, n_case)
    result.tables["presented_other_district"] = pd.DataFrame([{
        "presented_to_a_council": n_case, "in_another_district": k_other,
        "share": k_other / n_case if n_case else math.nan, "lower": lo, "upper": hi}])
    last_case = stat_last.set_index("person_id")["district"]
    flows = complete.assign(presented_district=complete["person_id"].map(last_case)).dropna(subset=["presented_district"])
    result.tables["district_of_last_council_case_by_arrival_district"] = pd.crosstab(
        flows["presented_district"], flows["arrival_district"]).reset_index()

    # Characteristics of those who had and had not presented.
    result.tables["characteristics"] = characteristics(complete)
    result.tables["age"] = age_comparison(complete)

    # Sensitivity to linkage error.
    bounds = linkage_bounds(complete, linkage_precision, linkage_recall,
                            spurious_arrival_share=rates["spurious_arrival_share"] or 0.0,
                            hidden_arrival_share=rates["hidden_arrival_share"] or 0.0)
    bounds["arrival_set_errors_given"] = arrival_set_known
    result.tables["linkage_sensitivity"] = pd.DataFrame([bounds])

    # Figures.
    flow = complete.assign(
        stage_source=[flow_source(s, d is True) for s, d in zip(complete["last_source"],
                                                                complete["last_duty_to_refer"], strict=True)],
        stage_outcome=[flow_outcome(s, o) for s, o in zip(complete["last_source"], complete["last_outcome"],
                                                          strict=True)],
        stage_district=complete["arrival_district"].map(DISTRICT_LABELS).fillna(complete["arrival_district"]),
    )
    threshold = int(definitions().get("disclosure", {}).get("threshold", 5))
    result.figures["paths_into_rough_sleeping"] = alluvial_figure(
        flow, ["stage_source", "stage_outcome", "stage_district"],
        ["Last contact before arrival", "How it ended", "Where first seen rough sleeping"], min_people=threshold,
        title="Paths into rough sleeping: last contact, how it ended, and where people were first seen")
    result.figures["presented_share"] = _interval_bars(
        shares.assign(label=shares["meaning"].str.replace("presented ", "").str.replace(" arrival", "")),
        "label", "share", "lower", "upper", "Share of new arrivals who had presented before", "Share (95% CI)")
    routes = result.tables["routes"]
    result.figures["routes"] = _interval_bars(routes, "label", "share", "simultaneous_lower", "simultaneous_upper",
                                              "Route into rough sleeping, among those who presented",
                                              "Share (Goodman simultaneous 95% CI)")
    result.figures["time_before_arrival"] = _timing_figure(complete)
    result.figures["rough_sleeping_by_month"] = _monthly_figure(county)

    # Definitions and findings.
    result.definitions += _definitions_text(lookback_months, short_history, contact_months, cfg, hist_start)
    result.findings += _findings(arrivals, complete, shares, routes, result.tables, bounds, lookback_months,
                                 contact_months, period_start, period_end)
    head = shares.set_index("window")
    result.estimates.update({
        "arrivals": len(arrivals), "arrivals_with_full_contact_history": len(complete),
        "arrivals_with_short_rough_sleeping_history": int((~arrivals["lookback_complete"]).sum()),
        "presented_share": {w: (r["share"], r["lower"], r["upper"]) for w, r in head.iterrows()},
        "route_shares": {r["route"]: (r["share"], r["simultaneous_lower"], r["simultaneous_upper"])
                         for _, r in routes.iterrows()},
        "median_days_before_arrival": {r["route"]: (r["median_days"], r["median_lower"], r["median_upper"])
                                       for _, r in routes.iterrows()},
        "linkage_bounds": {k: bounds[k] for k in ("estimate", "lower_bound", "upper_bound", "bound_lower_ci",
                                                   "bound_upper_ci", "corrected_estimate")},
    })
    return result


def _definitions_text(lookback_months: int, short_history: str, contact_months: int, cfg: dict,
                      hist_start: dt.date) -> list[str]:
    window = cfg["institution_window_days"]
    return [
        "Seen rough sleeping: an outreach contact where a worker saw the person bedded down (verified). Other "
        "contacts (walking, begging) do not count; several contacts on one day are one sighting.",
        f"New arrival: seen rough sleeping with no earlier sighting in the {lookback_months} months before (England's "
        "Ending Rough Sleeping Data Framework; 24 months is HUD Measure 5). A sighting exactly "
        f"{lookback_months} months earlier counts (not new); one a day earlier does not (new).",
        "Short history: people whose lookback starts before the outreach data begin ("
        f"{history_start().isoformat()}) are "
        + ("counted as new and flagged, as England's framework does for areas with shorter history."
           if short_history == "count_as_new" else "left out of the new arrivals."),
        "CHAIN categories per month: new (first sighting of the month is a new arrival), stock (also seen the month "
        "before), returner (seen before in the lookback but not the month before). Living on the streets: at least "
        f"{cfg.get('living_on_streets_min_contacts', 3)} sightings on different days in the month, the first and last "
        f"at least {cfg.get('living_on_streets_min_span_days', 21)} days apart.",
        f"Presented before: a council homelessness case, an institutional discharge, a supported accommodation stay "
        f"or a settled tenancy of the same person that began before the arrival day and whose last date before it "
        f"lies in the {contact_months} months before. Same-day records do not count (the order within a day is not "
        "recorded). Unverified outreach contacts are listed but are not presenting.",
        f"Windows: presented within {window} days or 6, 12, 24 months uses the record's last date before arrival "
        "(a duty or stay still open at arrival counts as the day before). Each share is over arrivals whose whole "
        f"window lies after the statutory data begin ({hist_start.isoformat()}).",
        "Route: one per person who presented, the first that applies of: " + "; ".join(
            rs.ROUTE_LABELS[r] for r in rs.ROUTE_PRIORITY) + ". Time before arrival is from the discharge, the end "
        "of the duty, the end of the stay, the approach to the other district, or otherwise the last date.",
        "Duty to Refer: a council case whose referral route is a dtr_ code (prison, probation, hospital, mental "
        "health, Jobcentre, social care, armed forces).",
        "Support needs and NRPF come from council cases and supported stays from 24 months before to 12 months after "
        "arrival, so that those who had not presented are described from the help they got afterwards.",
        "Intervals: Wilson for single shares, Goodman simultaneous for distributions over categories, Newcombe for "
        "differences in shares, percentile bootstrap (2,000 resamples) for medians and quartiles; Fisher's exact "
        "tests with Holm's adjustment for characteristics.",
        "Linkage sensitivity: false links can only invent earlier contacts and missed links can only hide them; the "
        "bounds place the expected numbers of each in the worst way (docs/assumptions/new_arrivals.md).",
    ]


def _findings(arrivals, complete, shares, routes, t, bounds, lookback_months, contact_months, start, end) -> list[str]:
    out = []
    n = len(arrivals)
    short = int((~arrivals["lookback_complete"]).sum())
    out.append(f"{n:,} people were newly seen sleeping rough between {start} and {end} (no sighting in the "
               f"previous {lookback_months} months); {short:,} of them had less than {lookback_months} months of "
               "outreach history before them and are counted as new, as England's framework does.")
    h = shares.set_index("window")
    if len(complete):
        a = h.loc["any"]
        out.append(f"Of the {int(a['arrivals']):,} with {contact_months} months of records before arrival, "
                   f"{int(a['presented']):,} ({_pct(a['share'])}, {_ci(a['lower'], a['upper'])}) had presented to a "
                   "council, been discharged from hospital or prison, or stayed in supported or settled housing in "
                   "those months.")
        bits = [f"{_pct(r['share'])} within {w.replace('d', ' days').replace('m', ' months')} "
                f"({_ci(r['lower'], r['upper'])})" for w, r in h.drop(index="any").iterrows()]
        out.append("Presented shortly before: " + "; ".join(bits) + ".")
    if len(routes):
        top = routes.iloc[routes["people"].to_numpy().argmax()]
        out.append(f"The commonest route was '{top['label']}': {_pct(top['share'])} of those who presented "
                   f"({top['simultaneous_lower']:.0%} to {top['simultaneous_upper']:.0%}, simultaneous 95% interval), "
                   f"a median {top['median_days']:.0f} days before arrival (95% CI {top['median_lower']:.0f} to "
                   f"{top['median_upper']:.0f}).")
    last = t["last_contact_outcome"]
    if len(last):
        top = last.sort_values("people", ascending=False).head(3)
        out.append("The last contact before arrival most often ended: " + "; ".join(
            f"{r['last_contact_outcome']} ({_pct(r['share'])}, {_ci(r['lower'], r['upper'])})"
            for _, r in top.iterrows()) + ".")
    od = t["presented_other_district"].iloc[0]
    if od["presented_to_a_council"]:
        out.append(f"Of those who had a council case before arrival, {int(od['in_another_district']):,} "
                   f"({_pct(od['share'])}, {_ci(od['lower'], od['upper'])}) had approached a district other than the "
                   "one where they were first seen sleeping rough.")
    ch = t["characteristics"]
    sig = ch[(ch["p_holm"] < 0.05) & ch["is_characteristic"]]
    if len(sig):
        out.append("Those who had presented differed (Holm-adjusted p < 0.05) in: " + "; ".join(
            f"{r['variable']} {r['value']} ({_pct(r['presented_share'])} vs {_pct(r['not_presented_share'])}, "
            f"difference {100 * r['difference']:+.0f} points, 95% CI {100 * r['difference_lower']:+.0f} to "
            f"{100 * r['difference_upper']:+.0f})" for _, r in sig.iterrows()) + ".")
    elif len(ch) and complete["presented"].any() and not complete["presented"].all():
        out.append("No characteristic differed clearly between those who had and had not presented (no Holm-adjusted "
                   "p below 0.05); see the characteristics table for each difference and its interval.")
    exact = (bounds.get("precision") == 1 and bounds.get("recall") == 1
             and not bounds.get("spurious_arrival_share") and not bounds.get("hidden_arrival_share"))
    if exact:
        out.append("The linkage is taken as exact (precision and recall 1, no arrivals split or merged), so the "
                   "linkage bounds equal the estimate.")
    elif not math.isnan(bounds.get("lower_bound", math.nan)):
        s, h = bounds["spurious_arrival_share"], bounds["hidden_arrival_share"]
        text = (f"Allowing for linkage error (precision {bounds['precision']:.3f}, recall {bounds['recall']:.3f}"
                + (f"; {s:.0%} of arrivals fragments of people seen before, {h:.0%} of arrivals hidden" if s or h else "")
                + f"), the share who had presented lies between {_pct(bounds['lower_bound'])} and "
                f"{_pct(bounds['upper_bound'])} at worst ({_pct(bounds['bound_lower_ci'])} to "
                f"{_pct(bounds['bound_upper_ci'])} with sampling error)")
        if s or h:
            text += f"; counting the fragments as not having presented, it is {_pct(bounds['corrected_estimate'])}"
        out.append(text + ".")
        if not bounds.get("arrival_set_errors_given"):
            out.append("These bounds take the set of new arrivals as right. Missed links between one person's "
                       "outreach records make later sightings look like new arrivals (on the synthetic county the "
                       "probabilistic linkage did this for 6% of apparent arrivals); give spurious_arrival_share "
                       "and hidden_arrival_share, measured with arrival_linkage_errors, to cover it.")
    else:
        out.append("Linkage error bounds need the linkage's measured precision and recall "
                   "(pass linkage_precision and linkage_recall).")
    return out
