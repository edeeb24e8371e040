"""System performance study (issue 9): the measures of :mod:`workbench.measures` gathered with
plain-English findings.

``run(store, period_start=None, period_end=None, districts=None)`` returns a
:class:`~workbench.studies.base.StudyResult` whose ``tables`` are exact (for researchers) and tidy
(district x period). Commissioner-facing versions go through disclosure control:
:func:`workbench.reporting.system_performance.protected_tables` (``result`` and a
:class:`~workbench.reporting.policy.DisclosurePolicy`).

Every comparison between districts is made on all five districts, whatever ``districts`` asks to
show; ``districts`` only chooses the rows kept (the county rows are always kept). The period
chooses which outcomes count (duties and stays by the date they ended, handovers by the date they
began, months of the By Name List); the By Name List itself is always built from the whole
history so that people already on it are counted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from workbench.definitions import (  # noqa: E402
    COUNTY,
    DISTRICTS,
    district_households,  # noqa: E402
    district_label,
)
from workbench.measures import (  # noqa: E402
    benchmarking,
    by_name_list,
    data_quality,
    duty_outcomes,
    equality,
    housing_first,
    joins,
)
from workbench.measures.funnel import funnel_curve, plot_funnel  # noqa: E402
from workbench.measures.sources import SourceTables, as_sources  # noqa: E402
from workbench.studies.base import StudyResult  # noqa: E402
from workbench.studies.provenance import recorded  # noqa: E402

STUDY = "system_performance"
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def _label(code: str) -> str:
    return COUNTY if code == COUNTY else district_label(code)


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{100 * x:.1f}%"


def _keep(table: pd.DataFrame, districts: list[str] | None) -> pd.DataFrame:
    if districts is None or "district" not in table.columns:
        return table.reset_index(drop=True)
    return table[table["district"].isin([*districts, COUNTY])].reset_index(drop=True)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate, leaving out empty parts (a measure with too little data returns none)."""
    kept = [f for f in frames if len(f)]
    return pd.concat(kept, ignore_index=True) if kept else (frames[0].iloc[0:0] if frames else pd.DataFrame())


def _as_ts(value: Any) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value)


#: The figures every report leads with, and the linkage sensitivity re-estimates (path into estimates).
HEADLINE_FIGURES = {
    "bnl_active_at_end": ("the number of people active on the By Name List at the end of the period", "count"),
    "bnl_inflow_last_12_months": ("the By Name List inflow over the last 12 months", "count"),
    "housing_first_sustained_12_months": ("the share of Housing First tenancies sustained for 12 months", "share"),
}


@recorded("system_performance")  # no random numbers
def run(
    store: Any,
    period_start: dt.date | str | None = None,
    period_end: dt.date | str | None = None,
    districts: list[str] | str | None = None,
) -> StudyResult:
    """Run every system performance measure and gather the findings.

    ``districts`` is a list of district codes (a comma-separated string is accepted too)."""
    if isinstance(districts, str):
        districts = [d.strip() for d in districts.split(",") if d.strip()]
    if districts is not None:
        unknown = set(districts) - set(DISTRICTS)
        if unknown:
            raise ValueError(f"unknown districts {sorted(unknown)}; the districts are {list(DISTRICTS)}")
    src: SourceTables = as_sources(store)
    ps, pe = _as_ts(period_start), _as_ts(period_end)
    result = StudyResult(study=STUDY, parameters={
        "period_start": None if ps is None else ps.date().isoformat(),
        "period_end": None if pe is None else pe.date().isoformat(),
        "districts": districts, "extract_date": src.extract_date.date().isoformat()})
    T = result.tables

    # 1. By Name List
    bnl = by_name_list.by_name_list(src, period_start=ps, period_end=pe)
    T["bnl_monthly"] = _keep(bnl.monthly, districts)
    T["bnl_time_to_move_in"] = _keep(bnl.time_to_move_in, districts)
    # 2. Joins
    events = joins.handover_events(src)
    T["handovers_by_year"] = _keep(joins.handover_summary(events, freq="Y", period_start=ps, period_end=pe), districts)
    T["handovers"] = _keep(joins.handover_summary(events, freq=None, period_start=ps, period_end=pe), districts)
    # 3. Statutory duty outcomes
    T["duty_outcomes_by_quarter"] = _keep(duty_outcomes.duty_outcomes(src, freq="Q", period_start=ps, period_end=pe), districts)
    T["duty_outcomes"] = _keep(duty_outcomes.duty_outcomes(src, freq=None, period_start=ps, period_end=pe), districts)
    T["duty_without_outcome_by_quarter"] = _keep(duty_outcomes.without_outcome_rates(src, freq="Q", period_start=ps, period_end=pe), districts)
    T["duty_without_outcome"] = _keep(duty_outcomes.without_outcome_rates(src, freq=None, period_start=ps, period_end=pe), districts)
    T["duty_without_outcome_drivers"] = _concat(
        [duty_outcomes.without_outcome_drivers(src, d, period_start=ps, period_end=pe) for d in ("prevention", "relief")])
    # 4. District benchmarking
    T["district_indicators"] = _keep(benchmarking.district_indicators(src, period_start=ps, period_end=pe), districts)
    T["district_indicators_by_year"] = _keep(benchmarking.district_indicators(src, freq="FY", period_start=ps, period_end=pe), districts)
    funnels = _concat([benchmarking.district_funnel(src, i, period_start=ps, period_end=pe) for i in benchmarking.INDICATORS])
    T["district_funnels"] = _keep(funnels, districts)
    adjusted = _concat([benchmarking.case_mix_adjusted(src, i, period_start=ps, period_end=pe)
                        for i in ("prevention_success", "relief_success", "move_on")])
    T["district_case_mix_adjusted"] = _keep(adjusted, districts)
    T["case_mix_models"] = _concat([benchmarking.case_mix_model_table(src, i, period_start=ps, period_end=pe)
                                    for i in ("prevention_success", "relief_success", "move_on")])
    T["rates_per_1000_households"] = _keep(benchmarking.rates_per_1000_households(src, period_start=ps, period_end=pe), districts)
    T["district_households"] = district_households()
    # 5. Housing First
    T["housing_first_starts"] = _keep(housing_first.housing_first_starts(src, period_start=ps, period_end=pe), districts)
    T["housing_first_sustainment"] = _keep(housing_first.tenancy_sustainment(src, period_start=ps, period_end=pe), districts)
    # 6. Equality
    T["equality_outcomes"] = equality.equality_outcomes(src, period_start=ps, period_end=pe)
    T["equality_recording"] = _keep(equality.equality_recording(src, freq="FY", period_start=ps, period_end=pe), districts)
    # 7. Data quality
    T["data_quality_scorecard"] = _keep(data_quality.scorecard(src), districts)

    _findings(result, bnl, funnels, adjusted)
    _figures(result, bnl, funnels, adjusted)
    result.definitions += _definitions(bnl.settings)
    return result


def _outliers(table: pd.DataFrame, kind: str) -> pd.DataFrame:
    t = table[table["target_kind"] == kind]
    return t[t["position"].str.contains("99.8")]


def _findings(result: StudyResult, bnl: by_name_list.ByNameList, funnels: pd.DataFrame, adjusted: pd.DataFrame) -> None:
    T, F, E = result.tables, result.findings, result.estimates
    # By Name List
    county = bnl.monthly[(bnl.monthly["district"] == COUNTY) & ~bnl.monthly["partial_period"]]
    identity = bnl.identity_holds()
    E["bnl_identity_holds"] = identity
    if len(county):
        last = county.iloc[-1]
        year = county.tail(12)
        E["bnl_active_at_end"] = int(last["active_end"])
        E["bnl_inflow_last_12_months"] = int(year["inflow"].sum())
        E["bnl_outflow_last_12_months"] = int(year["outflow"].sum())
        F.append(
            f"By Name List: {int(last['active_end']):,} {'person was' if int(last['active_end']) == 1 else 'people were'} "
            f"actively homeless and known to services at the end of "
            f"{last['period']}. In the last 12 months {int(year['inflow'].sum()):,} joined the list "
            f"({int(year['newly_identified'].sum()):,} newly identified, {int(year['returned_from_housing'].sum()):,} returned "
            f"from housing, {int(year['returned_from_inactive'].sum()):,} returned from inactive) and "
            f"{int(year['outflow'].sum()):,} left it ({int(year['housed'].sum()):,} housed, "
            f"{int(year['became_inactive'].sum()):,} inactive after {bnl.settings['inactive_after_days']} days without "
            f"contact, {int(year['died'].sum()):,} died). The monthly identity (active at the end = active at the start + "
            f"inflow - outflow) {'holds exactly in every month and district' if identity else 'FAILS in some months - see bnl_monthly'}.")
    moves = bnl.time_to_move_in
    mc = moves[moves["district"] == COUNTY].tail(4)
    if len(mc):
        housed = int(mc["housed"].sum())
        mean = float((mc["mean_days"] * mc["housed"]).sum() / housed)
        within = int(mc["within_brief"].sum())
        E["bnl_mean_days_to_move_in_last_4_quarters"] = mean
        F.append(f"Time from identification to move-in over the last four quarters: {housed:,} people housed, on average "
                 f"{mean:.0f} days; {within:,} ({_pct(within / housed)}) within {bnl.settings['brief_days']} days. "
                 f"Built for Zero's 'brief' standard (an average of {bnl.settings['brief_days']} days or less) is "
                 f"{'met' if mean <= bnl.settings['brief_days'] else 'not met'}.")
    # Joins
    h = T["handovers"]
    hc = h[h["district"] == COUNTY]
    parts = []
    for _, r in hc.iterrows():
        def days(v: float, missing: str) -> str:
            return missing if pd.isna(v) else f"{v:.0f}"

        med = "not reached within the window" if pd.isna(r["km_median"]) else (
            f"{r['km_median']:.0f} days (95% CI {days(r['km_median_lower'], 'not estimable')} to "
            f"{days(r['km_median_upper'], 'not reached')})")
        parts.append(f"{joins.HANDOVERS[r['handover']].lower()}: median {med}, {int(r['n']):,} started, "
                     f"{int(r['censored']):,} not (yet) handed over")
    if parts:
        F.append("Handovers between services (Kaplan-Meier medians, counting those still waiting): " + "; ".join(parts) + ".")
    # Duty outcomes
    w = T["duty_without_outcome"]
    for duty in ("prevention", "relief"):
        c = w[(w["duty"] == duty) & (w["district"] == COUNTY)]
        if not len(c):
            continue
        c = c.iloc[0]
        E[f"{duty}_without_outcome_share"] = float(c["share"])
        drv = T["duty_without_outcome_drivers"]
        drv = drv[(drv["duty"] == duty) & (drv["term"] != "intercept") & ((drv["lower"] > 1) | (drv["upper"] < 1))]
        drv_txt = "; ".join(f"{r.term.replace('_', ' ')} {r.level.replace('_', ' ')} (odds ratio {r.odds_ratio:.2f}, "
                            f"95% CI {r.lower:.2f}-{r.upper:.2f}, vs {r.reference.replace('_', ' ')})"
                            for r in drv.sort_values("p_value").head(4).itertuples())
        F.append(f"{duty.title()} duties closed without an outcome (contact lost, 56 days elapsed, withdrew): "
                 f"{int(c['without_outcome']):,} of {int(c['ended']):,} ended ({_pct(c['share'])}, 95% CI "
                 f"{_pct(c['share_lower'])} to {_pct(c['share_upper'])}). "
                 + (f"Case characteristics with a clear association: {drv_txt}." if drv_txt else
                    "No case characteristic had an association whose 95% interval excluded no difference."))
    # Benchmarking
    E["funnel_outliers"] = {}
    for ind, text in benchmarking.INDICATORS.items():
        f = funnels[funnels["indicator"] == ind]
        if not len(f):
            continue
        robust = _outliers(f, "robust county rate")
        plain = _outliers(f, "county rate")
        E["funnel_outliers"][ind] = {"county rate": sorted(plain["district"]), "robust county rate": sorted(robust["district"])}
        target = f[f["target_kind"] == "county rate"]["target"].iloc[0]
        rtarget = f[f["target_kind"] == "robust county rate"]["target"].iloc[0]
        if not len(robust) and not len(plain):
            F.append(f"{text}: every district is within the 99.8% funnel limits around the county rate ({_pct(target)}).")
            continue
        desc = "; ".join(f"{_label(r.district)} {_pct(r.rate)} of {int(r.denominator):,} ({r.position})" for r in robust.itertuples())
        msg = f"{text}: against the county rate with outlying districts set aside ({_pct(rtarget)}), " + (
            f"outside the 99.8% limits: {desc}." if desc else "no district is outside the 99.8% limits.")
        extra = sorted(set(plain["district"]) - set(robust["district"]))
        if extra:
            msg += (f" Against the plain county rate ({_pct(target)}, pulled towards the outlying district) "
                    f"{', '.join(_label(d) for d in extra)} would also be outside the 99.8% limits, an artefact of the target.")
        F.append(msg)
    E["case_mix_adjusted"] = {}
    for ind in adjusted["indicator"].unique():
        a = adjusted[(adjusted["indicator"] == ind) & (adjusted["target_kind"] == "county rate")]
        E["case_mix_adjusted"][ind] = {r.district: (float(r.ratio), float(r.ratio_lower), float(r.ratio_upper)) for r in a.itertuples()}
        flagged = _outliers(adjusted[adjusted["indicator"] == ind], "robust county rate")
        if len(flagged):
            F.append(f"{benchmarking.INDICATORS[ind]}, adjusted for case mix (indirect standardisation): " + "; ".join(
                f"{_label(r.district)} achieved {r.ratio:.2f} times the outcomes expected for its cases (95% CI "
                f"{r.ratio_lower:.2f} to {r.ratio_upper:.2f}; crude rate {_pct(r.crude_rate)})" for r in flagged.itertuples())
                + " - the difference is not explained by case mix.")
    # Housing First
    s = result.tables["housing_first_sustainment"]
    s12 = s[(s["district"] == COUNTY) & (s["months"] == 12)]
    if len(s12) and pd.notna(s12["sustained"].iloc[0]):
        r = s12.iloc[0]
        E["housing_first_sustained_12_months"] = float(r["sustained"])
        F.append(f"Housing First: {int(r['tenancies']):,} tenancies; {_pct(r['sustained'])} still sustained at 12 months "
                 f"(95% CI {_pct(r['lower'])} to {_pct(r['upper'])}, Kaplan-Meier), against about 92% in the England pilots.")
    # Equality
    eq = result.tables["equality_outcomes"]
    sig = eq[(eq["group"] != eq["reference_group"]) & (eq["group"] != equality.NOT_RECORDED)
             & ((eq["rr_upper"] < 1) | (eq["rr_lower"] > 1))]
    E["disparities"] = [{"outcome": r.outcome, "characteristic": r.characteristic, "group": r.group, "reference": r.reference_group,
                         "risk_ratio": float(r.risk_ratio), "lower": float(r.rr_lower), "upper": float(r.rr_upper)}
                        for r in sig.itertuples()]
    if len(sig):
        F.append("Equality: outcomes differ by protected characteristic where the 95% interval of the risk ratio excludes 1: "
                 + "; ".join(f"{r.outcome.replace('_', ' ')} for {r.characteristic.replace('_', ' ')} {r.group.replace('_', ' ')} "
                             f"{r.risk_ratio:.2f} times the rate for {r.reference_group.replace('_', ' ')} "
                             f"(95% CI {r.rr_lower:.2f}-{r.rr_upper:.2f})" for r in sig.sort_values("risk_ratio").itertuples()) + ".")
    else:
        F.append("Equality: no outcome differs by protected characteristic beyond chance (every 95% interval includes 1).")
    rec = result.tables["equality_recording"]
    rc = rec[rec["district"] == COUNTY].groupby(["source", "characteristic"])[["records", "not_recorded"]].sum()
    rc["share"] = rc["not_recorded"] / rc["records"]
    worst = rc.sort_values("share", ascending=False).head(3)
    F.append("Equality data not recorded (blank or not known): " + "; ".join(
        f"{c.replace('_', ' ')} in {s.replace('_', ' ')} {_pct(r.share)}" for (s, c), r in worst.iterrows()) + ".")
    # Data quality
    dq = result.tables["data_quality_scorecard"]
    dqc = dq[dq["district"] == COUNTY]
    stale = dqc[dqc["measure"].str.startswith("stale_open")]
    dup = dqc[dqc["measure"] == "duplicates"]
    F.append("Data quality: " + "; ".join(
        f"{r.measure.split(':')[1].replace('_', ' ')} records still open after the usual length {int(r.numerator):,} of "
        f"{int(r.denominator):,} open ({_pct(r.value)})" for r in stale.itertuples())
        + f"; duplicate records {int(dup['numerator'].sum()):,} across the sources (removed before measuring).")


def _figures(result: StudyResult, bnl: by_name_list.ByNameList, funnels: pd.DataFrame, adjusted: pd.DataFrame) -> None:
    labels = {d: district_label(d) for d in DISTRICTS}
    c = bnl.monthly[bnl.monthly["district"] == COUNTY]
    fig, ax = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    ax[0].plot(c["period_start"], c["active_end"], color=PALETTE[0])
    ax[0].set_ylabel("actively homeless")
    ax[0].set_title("By Name List, Oxfordshire (end of each month)")
    ax[1].plot(c["period_start"], c["inflow"], color=PALETTE[5], label="inflow")
    ax[1].plot(c["period_start"], c["outflow"], color=PALETTE[2], label="outflow")
    ax[1].set_ylabel("people per month")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    result.figures["bnl_county"] = fig
    for ind in benchmarking.INDICATORS:
        f = funnels[(funnels["indicator"] == ind) & (funnels["target_kind"] == "robust county rate")]
        if not len(f):
            continue
        curve = funnel_curve(float(f["target"].iloc[0]), float(f["denominator"].max()) * 1.2,
                             n_min=max(1.0, float(f["denominator"].min()) * 0.5))
        plain = funnels[(funnels["indicator"] == ind) & (funnels["target_kind"] == "county rate")]["target"].iloc[0]
        fig = plot_funnel(f.rename(columns={"district": "unit"}), curve=curve, labels=labels,
                          title=f"{ind.replace('_', ' ').capitalize()}: districts against the county rate "
                                f"(outliers set aside; plain county rate {100 * plain:.1f}%)",
                          xlabel="number of duties or stays ended", ylabel="rate")
        result.figures[f"funnel_{ind}"] = fig
    a = adjusted[(adjusted["indicator"] == "prevention_success") & (adjusted["target_kind"] == "county rate")]
    if len(a):
        fig, ax = plt.subplots(figsize=(7, 4))
        y = np.arange(len(a))
        ax.errorbar(a["ratio"], y, xerr=[a["ratio"] - a["ratio_lower"], a["ratio_upper"] - a["ratio"]], fmt="o", color=PALETTE[0],
                    label="case-mix adjusted O/E (95% CI)")
        ax.scatter(a["crude_rate"] / (a["observed"].sum() / a["denominator"].sum()), y + 0.15, marker="x", color=PALETTE[1],
                   label="crude rate / county rate")
        ax.axvline(1, color="grey", lw=1)
        ax.set_yticks(y, [labels.get(d, d) for d in a["district"]])
        ax.set_xlabel("ratio to the county (1 = as the county)")
        ax.set_title("Prevention success: crude and case-mix adjusted")
        ax.legend(fontsize=8)
        fig.tight_layout()
        result.figures["prevention_success_adjusted"] = fig
    eq = result.tables["equality_outcomes"]
    e = eq[(eq["outcome"] == "prevention_success") & eq["risk_ratio"].notna()]
    if len(e):
        fig, ax = plt.subplots(figsize=(7, 0.28 * len(e) + 1.2))
        y = np.arange(len(e))
        err = np.vstack([(e["risk_ratio"] - e["rr_lower"]).fillna(0), (e["rr_upper"] - e["risk_ratio"]).fillna(0)])
        ax.errorbar(e["risk_ratio"], y, xerr=err, fmt="o", color=PALETTE[0])
        ax.axvline(1, color="grey", lw=1)
        ax.set_yticks(y, [f"{c.replace('_', ' ')}: {g.replace('_', ' ')}" for c, g in zip(e["characteristic"], e["group"], strict=True)],
                      fontsize=7)
        ax.set_xlabel("risk ratio of prevention success vs the reference group (95% CI)")
        ax.invert_yaxis()
        fig.tight_layout()
        result.figures["equality_prevention_success"] = fig


def _definitions(bnl_settings: dict[str, Any]) -> list[str]:
    return [
        "Homeless activity (By Name List): a verified bedded-down outreach contact, an open relief duty, an open stay in "
        "supported accommodation (not Housing First), or a main duty accepted. Housed: the start of a settled tenancy.",
        f"Active: homeless activity, not since housed, died, or {bnl_settings['inactive_after_days']} days without "
        f"activity. Inflow: newly identified, returned from housing, returned from inactive. Outflow: housed, became "
        f"inactive, died. Activity starting within {bnl_settings['grace_days']} days of a move-in is part of the move.",
        f"Brief (Built for Zero): identification to move-in averaging {bnl_settings['brief_days']} days or less.",
        "Handovers: time from a discharge, release, first outreach contact of a street episode, supported accommodation "
        "entry or duty start to the next accommodation, move-on or duty end; not yet made = censored (extract date, "
        "death, the 365-day window, a stay ending otherwise); Kaplan-Meier medians.",
        "Closed without an outcome: a prevention or relief duty ended because contact was lost, 56 days elapsed, or the "
        "applicant withdrew or died.",
        "Prevention (relief) success: duties ended with accommodation secured for 6+ months, of duties ended. Move-on: "
        "supported stays ended with a move to a settled home, of stays ended. Private rented access: duties securing a "
        "private rented home, of duties securing accommodation of a known type.",
        "Funnel plots (Spiegelhalter 2005): exact binomial 95% and 99.8% limits around the county rate, and around the "
        "county rate with districts outside the 99.8% limits set aside one at a time (Phase I control limits).",
        "Case-mix adjustment: indirect standardisation; expected counts from a county-wide logistic model on household "
        "type, age band, referral route, reason for loss of home, number of support needs and the main needs (not on "
        "protected characteristics); observed/expected with a 95% interval.",
        "Housing First sustainment: Kaplan-Meier probability of not losing the tenancy (ended other than by a planned "
        "move or death) at 6, 12 and 24 months; England pilots about 92% at 12 months.",
        "Equality: risk ratios of each outcome against White, male, no disability, heterosexual and aged 25-34, with "
        "Katz 95% intervals; not recorded = blank or not known.",
        "Duplicates: a second record of the same source, person, main date and district; removed before measuring.",
    ]
