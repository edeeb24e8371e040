"""The disclosure rule of every table of every study (:class:`~workbench.reporting.study_tables.Rule`).

A table missing here, or with a column its rule does not name, is withheld from the shareable
export (and listed as withheld in it): adding a column to a study does not publish it by accident.
Model tables carry ``model=``: they are released only when they pass output checking.
"""

from __future__ import annotations

from workbench.definitions import COUNTY
from workbench.reporting.study_tables import Rule

# ------------------------------------------------------------------------------------------ returns
_WINDOWED = dict(counts=("cohort", "returned"), rates={"rate": ("returned", "cohort")},
                 intervals={"lower": "rate", "upper": "rate"}, keep=("basis",))
_CIF = dict(counts=("people_at_risk", "move_ins"), estimates={"cumulative_incidence": "people_at_risk"},
            intervals={"lower": "cumulative_incidence", "upper": "cumulative_incidence"})
_COEFFICIENTS = ("coef", "exp(coef)", "se(coef)", "robust se", "z", "p", "lower .95", "upper .95")


def _moved_in(result) -> float | None:
    return result.estimates.get("move_ins")


RETURNS: dict[str, Rule] = {
    "windowed_rates": Rule(dims=("group", "window"), **_WINDOWED),
    "cumulative_incidence": Rule(dims=("group", "months"), **_CIF),
    "kaplan_meier_death_censored": Rule(dims=("months",), estimates={"one_minus_km": "@size"},
                                        intervals={"lower": "one_minus_km", "upper": "one_minus_km"}, size=_moved_in),
    "cox_cause_specific": Rule(keep=("term", "label"), estimates=dict.fromkeys(_COEFFICIENTS, "@size"),
                               model="cox_cause_specific", size=_moved_in),
    "proportional_hazards_test": Rule(keep=("index", "df"), estimates={"chisq": "@size", "p": "@size"},
                                      model="cox_cause_specific", size=_moved_in),
    "fine_gray": Rule(keep=("covariate", "label"),
                      estimates=dict.fromkeys([c for c in _COEFFICIENTS if c != "robust se"], "@size"),
                      model="fine_gray", size=_moved_in),
    "rmst_housing_first": Rule(keep=("comparison", "tau_days"),
                               estimates=dict.fromkeys(("estimate_days", "se", "p"), "@size"),
                               intervals={"lower": "estimate_days", "upper": "estimate_days"},
                               model="rmst_housing_first", size=_moved_in, decimals=1),
    "recurrent_pwp_gap_time": Rule(keep=("term",), estimates=dict.fromkeys(_COEFFICIENTS, "@size"),
                                   model="recurrent_pwp_gap_time", size=_moved_in),
    "cumulative_incidence_from_history_start": Rule(dims=("group", "months"), **_CIF),
    "hazard_ratios_by_period": Rule(keep=("term", "period"), counts=("events_with_term",),
                                    estimates={"hazard_ratio": "@size", "p": "@size"},
                                    intervals={"lower": "hazard_ratio", "upper": "hazard_ratio"},
                                    model="hazard_ratios_by_period", size=_moved_in),
    "definition_sensitivity": Rule(dims=("definition",), keep=("grace_days", "return_kinds"), **_CIF),
}
for _g in ("route_in", "tenure", "district"):
    RETURNS[f"windowed_rates_by_{_g}"] = Rule(dims=(_g, "window"), overall=("windowed_rates", "group", "all"),
                                              **_WINDOWED)
    RETURNS[f"cumulative_incidence_by_{_g}"] = Rule(dims=(_g, "months"),
                                                    overall=("cumulative_incidence", "group", "all"), **_CIF)

# ------------------------------------------------------------------------------------- new arrivals
_SHARES = dict(counts=("people", "total"), rates={"share": ("people", "total")},
               intervals={"lower": "share", "upper": "share", "simultaneous_lower": "share",
                          "simultaneous_upper": "share"})

NEW_ARRIVALS: dict[str, Rule] = {
    # the figure the study leads with: corrected for linkage error (an estimate behind the arrivals)
    # or as linked (a share of counts), with the arrival review's counts
    "headline": Rule(keep=("method", "why"), counts=("arrivals", "presented", "reviewed", "unsure"),
                     rates={"uncorrected": ("presented", "arrivals")},
                     estimates={"estimate": "arrivals", "fragment_share": "arrivals"},
                     intervals={"lower": "estimate", "upper": "estimate", "uncorrected_lower": "uncorrected",
                                "uncorrected_upper": "uncorrected", "fragment_lower": "fragment_share",
                                "fragment_upper": "fragment_share"}),
    "rough_sleeping_by_month": Rule(dims=("period",), counts=("new", "stock", "returner", "new_with_short_history",
                                                              "seen", "living_on_streets"),
                                    sums={"seen": ("new", "stock", "returner")}),
    "rough_sleeping_by_month_and_district": Rule(dims=("district", "period"), counts=("new", "stock", "returner", "seen"),
                                                 sums={"seen": ("new", "stock", "returner")}),
    "new_arrivals_by_month_and_district": Rule(dims=("arrival_district", "month"), counts=("new_arrivals",)),
    "presented_share": Rule(dims=("window",), keep=("meaning",),
                            counts=("arrivals", "presented", "arrivals_left_out_short_history"),
                            rates={"share": ("presented", "arrivals")}, intervals={"lower": "share", "upper": "share"}),
    "routes": Rule(dims=("route",), keep=("label",), counts=("people", "presented"),
                   rates={"share": ("people", "presented")},
                   estimates={"share_of_all_arrivals": "people"},
                   summaries={"median_days": "people", "q1_days": "people", "q3_days": "people"},
                   intervals={"lower": "share", "upper": "share", "simultaneous_lower": "share",
                              "simultaneous_upper": "share", "all_lower": "share_of_all_arrivals",
                              "all_upper": "share_of_all_arrivals", "median_lower": "median_days",
                              "median_upper": "median_days"}),
    "time_before_arrival": Rule(dims=("route", "quantile"), keep=("label",), counts=("people",),
                                summaries={"estimate": "people"},
                                intervals={"lower": "estimate", "upper": "estimate"}),
    "agencies": Rule(dims=("agency",), counts=("people",),
                     estimates={"share_of_all_arrivals": "people", "share_of_presented": "people"},
                     intervals={"lower": "share_of_all_arrivals", "upper": "share_of_all_arrivals"}),
    "last_contact_outcome": Rule(dims=("last_contact_outcome",), **_SHARES),
    "last_council_case_outcome": Rule(dims=("outcome",), **_SHARES),
    "main_duty_decisions_before_arrival": Rule(dims=("main_duty_decision",), **_SHARES),
    "presented_other_district": Rule(counts=("presented_to_a_council", "in_another_district"),
                                     rates={"share": ("in_another_district", "presented_to_a_council")},
                                     intervals={"lower": "share", "upper": "share"}),
    "characteristics": Rule(dims=("variable", "value"), keep=("is_characteristic",),
                            counts=("presented_n", "presented_with", "not_presented_n", "not_presented_with"),
                            rates={"presented_share": ("presented_with", "presented_n"),
                                   "not_presented_share": ("not_presented_with", "not_presented_n")},
                            estimates={"difference": "presented_with", "p_value": "presented_with",
                                       "variable_p_value": "presented_n", "p_holm": "presented_with"},
                            intervals={"presented_lower": "presented_share", "presented_upper": "presented_share",
                                       "not_presented_lower": "not_presented_share",
                                       "not_presented_upper": "not_presented_share",
                                       "difference_lower": "difference", "difference_upper": "difference"}),
    "age": Rule(counts=("presented_n", "not_presented_n"),
                summaries={"presented_mean": "presented_n", "presented_median": "presented_n",
                           "not_presented_mean": "not_presented_n", "not_presented_median": "not_presented_n",
                           "difference_of_means": "not_presented_n"},
                estimates={"welch_p": "not_presented_n", "mann_whitney_p": "not_presented_n"},
                intervals={"lower": "difference_of_means", "upper": "difference_of_means"}),
    # linkage_sensitivity (false and missed links, spurious and hidden arrivals: small counts by design) and
    # district_of_last_council_case_by_arrival_district (a flow matrix of small cells) have no rule: withheld
}

# -------------------------------------------------------------------------------- supported housing
SUPPORTED_HOUSING: dict[str, Rule] = {
    "outcomes_by_model": Rule(dims=("model",), counts=("leavers", "people_with_12_months_observed"),
                              estimates={"planned_move_on": "leavers", "moved_on_to_settled": "leavers",
                                         "evicted_or_abandoned": "leavers", "kept_settled_6_months": "leavers",
                                         "kept_settled_12_months": "people_with_12_months_observed"},
                              summaries={"median_stay_days": "leavers"}),
    "congregate_effect": Rule(dims=("method",), counts=("n",),
                              estimates=dict.fromkeys(("risk_treated", "risk_control", "risk_difference", "rd_se",
                                                       "risk_ratio", "p_value", "e_value", "e_value_ci"), "n"),
                              intervals={"rd_lower": "risk_difference", "rd_upper": "risk_difference",
                                         "rr_lower": "risk_ratio", "rr_upper": "risk_ratio"},
                              model="congregate_effect"),
    "entrants_effect": Rule(dims=("method",), counts=("n", "clusters"),
                            estimates=dict.fromkeys(("risk_treated", "risk_control", "risk_difference", "rd_se",
                                                     "risk_ratio", "p_value", "e_value", "e_value_ci"), "n"),
                            intervals={"rd_lower": "risk_difference", "rd_upper": "risk_difference",
                                       "rr_lower": "risk_ratio", "rr_upper": "risk_ratio"},
                            model="entrants_effect"),
    "unmeasured_confounding": Rule(keep=("share_with_factor_treated", "share_with_factor_control", "factor_risk_ratio",
                                         "bias_factor"),
                                   estimates={"adjusted_risk_ratio": "@size"},
                                   intervals={"adjusted_lower": "adjusted_risk_ratio",
                                              "adjusted_upper": "adjusted_risk_ratio"},
                                   model="entrants_effect", size=lambda r: r.estimates.get("entrants_analysed")),
    "balance": Rule(keep=("covariate", "label"), estimates={"smd_unweighted": "@size", "smd_weighted": "@size"},
                    model="balance", size=lambda r: r.estimates.get("analysed")),
    "subgroup_effects": Rule(dims=("subgroup",), keep=("label",), counts=("n", "n_treated"),
                             estimates=dict.fromkeys(("risk_difference", "se", "effect_p", "effect_p_holm",
                                                      "complement_risk_difference", "interaction_difference",
                                                      "interaction_p", "interaction_p_holm"), "n_treated"),
                             intervals={"lower": "risk_difference", "upper": "risk_difference"},
                             model="congregate_effect"),
}

# ------------------------------------------------------------------------------- system performance
_PERIOD = ("period_start", "period_end")
_BNL_IN = ("newly_identified", "returned_from_housing", "returned_from_inactive", "moved_in_from_other_district")
_BNL_OUT = ("housed", "became_inactive", "died", "moved_out_to_other_district")
_COUNTY = ("district", COUNTY)
_INDICATORS = dict(counts=("numerator", "denominator"), rates={"rate": ("numerator", "denominator")},
                   intervals={"rate_lower": "rate", "rate_upper": "rate"}, keep=_PERIOD, total=_COUNTY)
_WITHOUT = dict(counts=("ended", "without_outcome"), rates={"share": ("without_outcome", "ended")},
                intervals={"share_lower": "share", "share_upper": "share"}, keep=_PERIOD, total=_COUNTY)
_HANDOVERS = dict(counts=("n", "events", "censored"),
                  summaries={"median_observed": "events", "km_median": "n"},
                  estimates={"within_7_days": "n", "within_28_days": "n"},
                  intervals={"km_median_lower": "km_median", "km_median_upper": "km_median",
                             "within_7_days_lower": "within_7_days", "within_7_days_upper": "within_7_days",
                             "within_28_days_lower": "within_28_days", "within_28_days_upper": "within_28_days"},
                  keep=(*_PERIOD, "method"), total=_COUNTY, sums={"n": ("events", "censored")})
_DUTY = dict(counts=("count", "ended"), rates={"share": ("count", "ended")},
             keep=(*_PERIOD, "outcome_group"), total=_COUNTY)

SYSTEM_PERFORMANCE: dict[str, Rule] = {
    "bnl_monthly": Rule(dims=("district", "period"), counts=("active_start", *_BNL_IN, "inflow", *_BNL_OUT,
                                                             "outflow", "active_end"),
                        keep=(*_PERIOD, "burn_in", "partial_period"), total=_COUNTY,
                        sums={"inflow": _BNL_IN, "outflow": _BNL_OUT}),
    "bnl_time_to_move_in": Rule(dims=("district", "period"), counts=("housed", "within_brief"),
                                rates={"share_within_brief": ("within_brief", "housed")},
                                summaries={"mean_days": "housed", "median_days": "housed"},
                                keep=(*_PERIOD, "brief"), total=_COUNTY),
    "handovers_by_year": Rule(dims=("district", "period", "handover"), **_HANDOVERS),
    "handovers": Rule(dims=("district", "handover", "period"), **_HANDOVERS),
    "duty_outcomes_by_quarter": Rule(dims=("district", "end_reason", "duty", "period"), **_DUTY),
    "duty_outcomes": Rule(dims=("district", "end_reason", "duty", "period"), **_DUTY),
    "duty_without_outcome_by_quarter": Rule(dims=("district", "period", "duty"), **_WITHOUT),
    "duty_without_outcome": Rule(dims=("district", "duty", "period"), **_WITHOUT),
    "district_indicators": Rule(dims=("district", "indicator", "period"), **_INDICATORS),
    "district_indicators_by_year": Rule(dims=("district", "period", "indicator"), **_INDICATORS),
    "rates_per_1000_households": Rule(dims=("district", "period", "measure"), counts=("count",),
                                      per={"per_1000": ("count", "households", 1000.0)}, decimals=2,
                                      intervals={"per_1000_lower": "per_1000", "per_1000_upper": "per_1000"},
                                      keep=(*_PERIOD, "households", "households_verified", "days_covered"),
                                      total=_COUNTY),
    # published Census figures, not data about people in the extracts
    "district_households": Rule(keep=("district", "households", "rounded_to", "verified", "source", "note")),
    "housing_first_starts": Rule(dims=("district", "period"), counts=("started",), keep=_PERIOD, total=_COUNTY),
    "housing_first_sustainment": Rule(dims=("district", "months"), counts=("tenancies", "lost", "still_followed"),
                                      estimates={"sustained": "tenancies"}, keep=("comparator", "method"),
                                      intervals={"lower": "sustained", "upper": "sustained"}, total=_COUNTY),
    "equality_outcomes": Rule(dims=("group", "characteristic", "outcome"), keep=("reference_group",),
                              counts=("n", "successes"), rates={"rate": ("successes", "n")},
                              estimates={"risk_ratio": "successes"},
                              intervals={"rate_lower": "rate", "rate_upper": "rate", "rr_lower": "risk_ratio",
                                         "rr_upper": "risk_ratio"}),
    "equality_recording": Rule(dims=("district", "period", "characteristic", "source"),
                               counts=("records", "not_recorded"),
                               rates={"share_not_recorded": ("not_recorded", "records")}, keep=_PERIOD,
                               total=_COUNTY),
    # district_funnels, district_case_mix_adjusted (observed counts beside exact expected values and limits),
    # duty_without_outcome_drivers and case_mix_models (regressions whose per-level counts are not recorded)
    # and data_quality_scorecard (record-level counts of errors) have no rule yet: withheld
}

#: Rules by the study's name as its result records it (``StudyResult.study``).
RULES: dict[str, dict[str, Rule]] = {
    "returns_to_homelessness": RETURNS,
    "new_arrivals": NEW_ARRIVALS,
    "supported_housing_outcomes": SUPPORTED_HOUSING,
    "system_performance": SYSTEM_PERFORMANCE,
}
