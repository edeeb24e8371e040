"""Ground truth: the planted effects with their exact values, and the per-study truth tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from workbench.definitions import DISTRICTS
from workbench.synthetic.hazards import cumulative_incidence, housing_first_pieces
from workbench.synthetic.population import ETHNICITY_SHARES, zero_pad
from workbench.synthetic.settings import CountySettings
from workbench.synthetic.simulate import NA, Simulation, to_day

CIF_HORIZONS = {"6_months": 182, "12_months": 365, "24_months": 730}


def _concat(chunks: list[dict[str, np.ndarray]] | None) -> pd.DataFrame:
    if not chunks:
        return pd.DataFrame()
    return pd.DataFrame({k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]})


def _iso(days: pd.Series | np.ndarray) -> np.ndarray:
    from workbench.synthetic.extracts import days_to_text

    return days_to_text(np.asarray(days, dtype=np.int64))


def person_ids(person: np.ndarray) -> np.ndarray:
    return ("P" + zero_pad(person, 8)).astype(object)


def returns_truth(sim: Simulation, key_to_id: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict[str, Any]]:
    s = sim.settings.returns
    t = _concat(sim.truth.get("returns"))
    t = t[t["in_cohort"]].reset_index(drop=True)
    for name, days in CIF_HORIZONS.items():
        mult, death = t["hazard_multiplier"].to_numpy(), t["death_rate_per_day"].to_numpy()
        cif = cumulative_incidence(days, mult, death, s.baseline_pieces)
        if s.hr_housing_first_late is not None and len(t):  # a scenario: the ratio changes over time
            hfs = t["housing_first"].to_numpy() == 1
            cif[hfs] = cumulative_incidence(days, mult[hfs] / s.hr_housing_first, death[hfs], housing_first_pieces(s))
        t[f"cif_return_{name}"] = cif
    table = pd.DataFrame({
        "tenancy_id": key_to_id["settled_tenancies"][t["tenancy_key"]],
        "person_id": person_ids(t["person"]),
        "move_in_date": _iso(t["move_in_day"]),
        "tenure": t["tenure"], "route_in": t["route_in"],
        "housing_first": t["housing_first"], "drug_dependency": t["drug_dependency"],
        "age10": t["age10"].round(6), "linear_predictor": t["linear_predictor"].round(6),
        "death_rate_per_day": t["death_rate_per_day"],
        "event": t["event"], "time_days": t["time_days"],
        "event_date": _iso(t["move_in_day"] + t["time_days"]),
        "return_channel": t["return_channel"],
        **{f"cif_return_{k}": t[f"cif_return_{k}"].round(8) for k in CIF_HORIZONS},
    })
    effect = {
        "definition": (
            "Cohort: every row of settled_tenancies with route_in in rough_sleeping, temporary_accommodation, "
            "supported_accommodation or relief_duty (a move into settled accommodation). Event: the person's first "
            "later homelessness more than 14 days after move-in: a verified-bedded-down outreach contact, a relief duty "
            "start (or main duty acceptance), or a supported_accommodation start. Death is a competing event; "
            "censoring at the extract date. The record marking the return is dated exactly at the return time."
        ),
        "model": "cause-specific proportional hazards: h(t|x) = h0(t) * exp(beta'x), t = days since move-in",
        "baseline_hazard_per_day": [{"from_day": a, "rate": r} for a, r in s.baseline_pieces],
        "hazard_ratios": {
            "housing_first": s.hr_housing_first,
            "drug_dependency": s.hr_drug_dependency,
            "age_per_10_years": s.hr_age_per_10_years,
        },
        **({} if s.hr_housing_first_late is None else {
            "hazard_ratio_housing_first_over_time": {
                f"before_day_{s.hr_change_day:g}": s.hr_housing_first, f"from_day_{s.hr_change_day:g}": s.hr_housing_first_late,
                "note": "not proportional: hazard_ratios.housing_first holds only before the change day"}}),
        "covariates": {
            "housing_first": "1 if the settled tenancy's tenure is housing_first (settled_tenancies.tenure)",
            "drug_dependency": "1 if the person has the support need drug_dependency, as recorded in support_needs "
                               "of their statutory_cases and supported_accommodation records (a person-level flag)",
            "age_per_10_years": "age at move-in in years / 10 = (start_date - date_of_birth) in days / 365.25 / 10",
        },
        "competing_death_hazard": "constant per person while housed: "
                                  f"{sim.settings.hazards.death_rate_housed}/year at 40 x exp("
                                  f"{sim.settings.hazards.death_age_slope} * (age at move-in - 40))",
        "cumulative_incidence_of_return": {
            k: float(t[f"cif_return_{k}"].mean()) for k in CIF_HORIZONS
        },
        "cumulative_incidence_method": "exact integral of the planted hazards per move-in (return hazard x "
                                       "survival from both return and death), averaged over the cohort",
        "cohort_size": int(len(t)),
        "events": {k: int((t["event"] == k).sum()) for k in ("return", "death", "censored")},
    }
    return table, effect


def supported_housing_truth(sim: Simulation, key_to_id: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict[str, Any]]:
    e = sim.settings.supported_housing
    t = _concat(sim.truth.get("supported_housing"))
    table = pd.DataFrame({
        "tenancy_id": key_to_id["settled_tenancies"][t["tenancy_key"]],
        "episode_id": key_to_id["supported_accommodation"][t["sa_key"]],
        "person_id": person_ids(t["person"]), "move_in_date": _iso(t["move_in_day"]),
        "model": t["model"], "congregate": t["congregate"],
    })
    covariates = list(e.propensity_coefficients)
    for c in covariates:
        table[c] = t[c]
    table["age_years"] = t["age_years"].round(4)
    for c in ("propensity", "q_fail_other", "q_fail_congregate", "p_no_return_365", "p_alive_365",
              "p_kept_congregate", "p_kept_other"):
        table[c] = t[c].round(8)
    table["eligible"] = t["eligible"].astype(int)
    for c in ("lost_tenancy_12m", "returned_12m", "died_12m", "kept_12m"):
        table[c] = t[c].astype(int)
    el = table[table["eligible"] == 1]
    diff = el["p_kept_congregate"] - el["p_kept_other"]
    rs_sub = (el["history_rough_sleeping"] == 1) & ((el["drug_dependency"] == 1) | (el["alcohol_dependency"] == 1))
    young = el["young_18_25"] == 1
    women_da = (el["female"] == 1) & (el["domestic_abuse"] == 1)
    rest = ~rs_sub & ~young & ~women_da
    treated = el["congregate"] == 1
    effect = {
        "definition": (
            "Cohort: moves into a settled tenancy (settled_tenancies.route_in = supported_accommodation) straight from a "
            "supported_accommodation stay (its end date = the tenancy start date), with move-in at least 365 days "
            "before the extract date. Treatment: the stay moved on from was model congregate_hostel (vs any other "
            "model). Outcome kept_12m = 1 if, 365 days after move-in, the person had not lost the tenancy (ended for "
            "eviction, abandonment or similar), had not returned to homelessness (see returns) and had not died; "
            "tenancies ended by a planned move do not occur in the first year."
        ),
        "estimand": "average treatment effect on kept_12m as a risk difference (congregate minus other)",
        "ate_risk_difference": float(diff.mean()),
        "ate_method": "sample ATE: mean over the eligible cohort of p_kept_congregate - p_kept_other, each person's "
                      "two potential-outcome probabilities",
        "subgroup_effects": {
            "history_rough_sleeping_and_drug_or_alcohol": float(diff[rs_sub].mean()),
            "young_person_18_25": float(diff[young].mean()),
            "women_with_domestic_abuse": float(diff[women_da].mean()),
            "everyone_else": float(diff[rest].mean()),
        },
        "subgroup_sizes": {"history_rough_sleeping_and_drug_or_alcohol": int(rs_sub.sum()),
                           "young_person_18_25": int(young.sum()), "women_with_domestic_abuse": int(women_da.sum()),
                           "everyone_else": int(rest.sum())},
        "expected_naive_difference": float(el.loc[treated, "p_kept_congregate"].mean()
                                           - el.loc[~treated, "p_kept_other"].mean()),
        "observed_naive_difference": float(el.loc[treated, "kept_12m"].mean() - el.loc[~treated, "kept_12m"].mean()),
        "confounders": covariates,
        "confounder_definitions": "needs flags from support_needs of the supported_accommodation stay; young_18_25 = "
                                  "need young_person_18_25; female = gender female; route_rough_sleeping = the stay's "
                                  "route_in is rough_sleeping",
        "propensity_model": {"intercept": e.propensity_intercept, **e.propensity_coefficients},
        "failure_model_logit": {"intercept": e.failure_intercept, **e.failure_coefficients,
                                "congregate_effect_base": e.effect_base,
                                "congregate_x_rough_sleeping_and_substance": e.effect_rough_sleeping_and_substance,
                                "congregate_x_young_18_25": e.effect_young_18_25,
                                "congregate_x_female_domestic_abuse": e.effect_women_domestic_abuse},
        "cohort_size": int(len(el)), "treated": int(treated.sum()),
    }
    return table, effect


def new_arrivals_truth(sim: Simulation, key_to_id: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict[str, Any]]:
    s = sim.settings.new_arrivals
    t = _concat(sim.truth.get("new_arrivals"))
    t = t[t["in_cohort"]].reset_index(drop=True)
    starts = _concat(sim.truth.get("spell_starts"))
    starts = starts[starts["kind"] == "arrival"]
    contact_of = pd.Series(starts["contact_key"].to_numpy(), index=starts["person"].to_numpy())
    earlier_id = np.full(len(t), "", dtype=object)
    for src in ("statutory_cases", "institutional_discharges", "supported_accommodation"):
        sel = (t["earlier_source"] == src).to_numpy()
        earlier_id[sel] = key_to_id[src][t.loc[sel, "earlier_key"].to_numpy()]
    table = pd.DataFrame({
        "person_id": person_ids(t["person"]),
        "arrival_date": _iso(t["arrival_day"]),
        "arrival_contact_id": key_to_id["outreach_contacts"][contact_of.loc[t["person"].to_numpy()].to_numpy()],
        "district": t["district"],
        "presented_earlier": t["presented_earlier"].astype(int),
        "route": t["route"],
        "earlier_source": t["earlier_source"],
        "earlier_record_id": earlier_id,
        "earlier_date": _iso(t["earlier_day"]),
        "days_before_arrival": np.where(t["days_before_arrival"] == NA, "", t["days_before_arrival"].astype(str)),
    })
    pres = t[t["presented_earlier"]]
    gaps = pres["days_before_arrival"].to_numpy()
    planted_medians = {}
    for r, med in s.route_median_days.items():
        hi = norm.cdf((np.log(s.route_max_days[r]) - np.log(med)) / s.route_sigma)
        planted_medians[r] = float(np.exp(np.log(med) + s.route_sigma * norm.ppf(0.5 * hi)))
    effect = {
        "definition": (
            f"Cohort: people newly seen rough sleeping (first verified_bedded_down outreach contact, none in the previous "
            f"60 months) with arrival on or after {s.cohort_start}. Presented earlier = before arrival they had, by "
            "priority: an institutional discharge within 85 days; a prevention or relief duty that ended contact_lost "
            "or days_56_elapsed within 365 days; a supported_accommodation stay ended evicted within 365 days; or an "
            "approach (statutory case) to a district other than the arrival district within 365 days. Time before "
            "arrival is measured from the discharge date, duty end date, stay end date or approach date."
        ),
        "share_presented_earlier": s.share_presented_earlier,
        "route_shares": dict(s.route_shares),
        "time_before_arrival_days": {
            "planted_per_route": {r: {"lognormal_median_before_truncation": s.route_median_days[r], "sigma": s.route_sigma,
                                      "max_days": s.route_max_days[r], "median": planted_medians[r]}
                                  for r in s.route_shares},
            "realised": {"median": float(np.median(gaps)) if len(gaps) else None,
                         "q1": float(np.quantile(gaps, 0.25)) if len(gaps) else None,
                         "q3": float(np.quantile(gaps, 0.75)) if len(gaps) else None},
        },
        "realised": {"arrivals": int(len(t)), "presented_earlier": int(t["presented_earlier"].sum()),
                     "by_route": {r: int((pres["route"] == r).sum()) for r in s.route_shares}},
    }
    return table, effect


def districts_and_equality_truth(sim: Simulation, key_to_id: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict, dict]:
    s = sim.settings
    t = _concat(sim.truth.get("prevention"))
    ended = t["prevention_end"] <= sim.extract_day
    table = pd.DataFrame({
        "case_id": key_to_id["statutory_cases"][t["case_key"]],
        "person_id": person_ids(t["person"]), "district": t["district"], "ethnicity": t["ethnicity"],
        "prevention_duty_start": _iso(t["prevention_start"]), "true_prevention_duty_end": _iso(t["prevention_end"]),
        "true_end_reason": t["end_reason"], "ended_by_extract_date": ended.astype(int),
        "success": t["success"].astype(int), "p_success": t["p_success"].round(6),
    })
    shares = ETHNICITY_SHARES
    mean_rr = 1.0 - (1.0 - s.equality.risk_ratio) * shares[s.equality.ethnic_group] / sum(shares.values())
    e_ok = table["ended_by_extract_date"] == 1
    districts = {
        "definition": "Prevention success = a prevention duty (statutory_cases.prevention_duty_start set) that ended "
                      "with prevention_duty_end_reason secured_6_months_stayed or secured_6_months_moved, among "
                      "prevention duties that ended by the extract date (true end dates, see late_end_dates).",
        "outlier_district": (None if len(set(s.districts.prevention_success.values())) == 1 else
                             min(s.districts.prevention_success, key=s.districts.prevention_success.get)),
        "planted_success_white_reference": dict(s.districts.prevention_success),
        "true_rate": {d: float(s.districts.prevention_success[d] * mean_rr) for d in DISTRICTS},
        "true_rate_note": "expected success probability of an applicant in the district, averaging over the county's "
                          "ethnic mix (the same in every district), so every district but the outlier shares one rate",
        "realised": {d: {"ended": int((e_ok & (table["district"] == d)).sum()),
                         "successes": int((e_ok & (table["district"] == d) & (table["success"] == 1)).sum())}
                     for d in DISTRICTS},
    }
    g, ref = s.equality.ethnic_group, s.equality.reference_group
    eg = e_ok & (table["ethnicity"] == g)
    er = e_ok & (table["ethnicity"] == ref)
    equality = {
        "definition": f"Prevention success (as for districts) for applicants whose true ethnicity is {g} vs {ref}; "
                      "statutory_cases.ethnicity records it (blank for about 6% of records, at random).",
        "outcome": "prevention_success", "characteristic": "ethnicity", "group": g, "reference_group": ref,
        "risk_ratio": s.equality.risk_ratio,
        "realised": {"group_ended": int(eg.sum()), "group_successes": int((eg & (table["success"] == 1)).sum()),
                     "reference_ended": int(er.sum()), "reference_successes": int((er & (table["success"] == 1)).sum())},
    }
    return table, districts, equality


def cohort_start_day(settings: CountySettings) -> int:
    return to_day(settings.new_arrivals.cohort_start)
