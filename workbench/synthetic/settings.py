"""Settings of the synthetic county, as data: volumes, hazards, planted effects and mess rates.

Every number the generator uses lives here (one dataclass per concern) so that it can be written
to ``truth/settings.yaml`` beside the generated county and changed without touching code. The
defaults are an Oxfordshire-sized county; see docs/assumptions/synthetic_county.md for where each
value comes from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

DISTRICT_PREFIX: dict[str, str] = {
    "oxford_city": "OXC",
    "cherwell": "CHE",
    "south_oxfordshire": "SOX",
    "vale_of_white_horse": "VWH",
    "west_oxfordshire": "WOX",
}


@dataclass
class Volumes:
    """Yearly volumes at scale 1 (a county the size of Oxfordshire)."""

    #: New statutory households approaching a council each year (their first case).
    household_approaches_per_year: float = 3150.0
    #: Share of household approaches by district (Oxford City largest).
    district_shares: dict[str, float] = field(
        default_factory=lambda: {
            "oxford_city": 0.35,
            "cherwell": 0.22,
            "south_oxfordshire": 0.15,
            "vale_of_white_horse": 0.14,
            "west_oxfordshire": 0.14,
        }
    )
    #: People newly arriving on the streets each year (first seen bedded down).
    new_rough_sleepers_per_year: float = 310.0
    #: Share of street activity by district (outreach contacts and arrivals).
    street_district_shares: dict[str, float] = field(
        default_factory=lambda: {
            "oxford_city": 0.62,
            "cherwell": 0.16,
            "south_oxfordshire": 0.08,
            "vale_of_white_horse": 0.07,
            "west_oxfordshire": 0.07,
        }
    )
    #: People already sleeping rough on 1 January 2018 (the stock at the start).
    rough_sleeping_stock_at_start: float = 90.0
    #: Supported-accommodation residents on 1 January 2018 (about 300 beds).
    supported_stock_at_start: float = 290.0
    #: Extra people entering supported accommodation directly each year (not from the street).
    supported_direct_entries_per_year: float = 70.0
    #: Share of household approaches preceded by an institutional discharge (Duty to Refer).
    approach_after_discharge_share: float = 0.09
    #: Share of households who approach again later (repeat homelessness).
    repeat_approach_share: float = 0.07
    #: Moves into settled tenancies per year in the years before the data begin (scenario profiles
    #: only; none by default). Only those still running on the simulation start reach the extracts,
    #: with their real, earlier move-in date: the tenancy extract is left-truncated.
    tenancy_move_ins_before_start_per_year: float = 0.0
    tenancies_before_start_years: float = 6.0


@dataclass
class Hazards:
    """Transition probabilities, durations and death rates on the paths."""

    # Initial assessment of a household's application.
    assessment_shares: dict[str, float] = field(
        default_factory=lambda: {
            "threatened_with_homelessness": 0.56,
            "homeless": 0.37,
            "not_threatened": 0.045,
            "not_eligible": 0.025,
        }
    )
    #: Prevention duty failure reasons (when not secured), shares.
    prevention_fail_reasons: dict[str, float] = field(
        default_factory=lambda: {
            "homeless": 0.46,
            "contact_lost": 0.14,
            "days_56_elapsed": 0.12,
            "withdrew_or_died": 0.12,
            "not_eligible": 0.02,
            "refused_offer": 0.04,
            "refused_cooperate": 0.03,
            "not_known": 0.07,
        }
    )
    #: Probability that a relief duty ends with accommodation secured for 6+ months.
    relief_success: float = 0.42
    relief_fail_reasons: dict[str, float] = field(
        default_factory=lambda: {
            "days_56_elapsed": 0.48,
            "contact_lost": 0.18,
            "withdrew_or_died": 0.13,
            "refused_final_offer": 0.04,
            "intentionally_homeless": 0.03,
            "local_connection_referral": 0.05,
            "not_eligible": 0.03,
            "refused_cooperate": 0.02,
            "not_known": 0.04,
        }
    )
    #: Accommodation secured when relief succeeds.
    relief_secured_accommodation: dict[str, float] = field(
        default_factory=lambda: {
            "social_rented": 0.36,
            "private_rented": 0.30,
            "supported_housing": 0.06,
            "staying_family_friends": 0.18,
            "other": 0.06,
            "not_known": 0.04,
        }
    )
    #: Main duty decisions after a relief duty ends by 56 days elapsed.
    main_duty_decisions: dict[str, float] = field(
        default_factory=lambda: {
            "accepted": 0.48,
            "not_priority": 0.28,
            "intentionally_homeless": 0.06,
            "no_decision": 0.18,
        }
    )
    #: Median days in temporary accommodation before a settled tenancy (main duty accepted).
    temporary_accommodation_median_days: float = 240.0
    #: Rough sleeping spell: median length (days) and log-scale spread.
    rough_sleeping_median_days: float = 35.0
    rough_sleeping_sigma: float = 1.2
    #: Outreach contacts per day on the streets (after the first).
    outreach_contacts_per_day: float = 0.09
    #: Share of later contacts in a spell where the worker sees the person bedded down.
    later_contact_verified: float = 0.7
    #: How rough sleeping spells end (death is drawn separately).
    rough_sleeping_exits: dict[str, float] = field(
        default_factory=lambda: {
            "supported_accommodation": 0.50,
            "housing_first": 0.09,
            "relief_approach": 0.12,
            "custody": 0.05,
            "left_area": 0.24,
        }
    )
    #: Supported accommodation stays: median days and spread.
    supported_median_days: float = 190.0
    supported_sigma: float = 0.8
    supported_departures: dict[str, float] = field(
        default_factory=lambda: {
            "planned_move_on": 0.46,
            "evicted": 0.13,
            "abandoned": 0.11,
            "transferred": 0.11,
            "custody": 0.04,
            "hospital": 0.03,
            "other": 0.12,
        }
    )
    #: Share of planned move-ons that go to social (rest private) rented tenancies.
    move_on_social_share: float = 0.62
    #: Prison stay after custody (median days).
    custody_median_days: float = 110.0
    #: Death rates per person-year at age 40, by where the person is; x exp(age_slope*(age-40)).
    death_rate_rough_sleeping: float = 0.045
    death_rate_supported: float = 0.016
    death_rate_housed: float = 0.009
    death_age_slope: float = 0.045
    #: Non-return tenancy failure within 12 months (not from supported accommodation).
    tenancy_failure_12m: float = 0.06
    #: Share of surviving tenancies with a planned move after 12 months.
    planned_move_after_12m: float = 0.10
    #: Share of move-ins from the street seen bedded down again within the 14-day grace window.
    grace_window_contact_share: float = 0.05
    #: How a return to homelessness is recorded, by channel (street only if seen there before).
    return_channels: dict[str, float] = field(
        default_factory=lambda: {"rough_sleeping": 0.35, "supported_accommodation": 0.15, "relief_duty": 0.50}
    )


@dataclass
class ReturnsEffect:
    """Planted effect 1: cause-specific proportional hazards of returning to homelessness."""

    #: Piecewise-constant baseline hazard per day: (start_day, rate). Zero in the 14-day grace window.
    baseline_pieces: list[tuple[float, float]] = field(
        default_factory=lambda: [
            (0.0, 0.0),
            (14.0, 0.00060),
            (183.0, 0.00040),
            (365.0, 0.00025),
            (730.0, 0.00015),
        ]
    )
    hr_housing_first: float = 0.5
    hr_drug_dependency: float = 1.8
    hr_age_per_10_years: float = 0.85
    #: Age centring (years) for the linear predictor; does not change the hazard ratios.
    age_centre: float = 40.0
    grace_days: int = 14
    #: A Housing First effect that changes over time (scenario profiles; None by default: proportional
    #: hazards): the hazard ratio is ``hr_housing_first`` until ``hr_change_day`` days after move-in
    #: and this value after it.
    hr_housing_first_late: float | None = None
    hr_change_day: float = 365.0


@dataclass
class SupportedHousingEffect:
    """Planted effect 2: congregate supported housing vs other models on keeping the tenancy."""

    # Propensity of a congregate placement (logit scale): needs drive placement (confounding).
    propensity_intercept: float = -0.9
    propensity_coefficients: dict[str, float] = field(
        default_factory=lambda: {
            "drug_dependency": 1.0,
            "alcohol_dependency": 0.9,
            "history_rough_sleeping": 0.8,
            "offending_history": 0.6,
            "mental_health": 0.2,
            "young_18_25": -0.7,
            "female": -0.5,
            "domestic_abuse": -0.9,
            "route_rough_sleeping": 0.7,
        }
    )
    # Probability of losing the tenancy (not by a return) within 12 months without congregate.
    failure_intercept: float = -2.1
    failure_coefficients: dict[str, float] = field(
        default_factory=lambda: {
            "drug_dependency": 0.9,
            "alcohol_dependency": 0.7,
            "history_rough_sleeping": 0.6,
            "offending_history": 0.5,
            "mental_health": 0.3,
            "young_18_25": 0.4,
            "female": -0.1,
            "domestic_abuse": 0.2,
            "route_rough_sleeping": 0.3,
        }
    )
    # Effect of congregate housing on the failure log-odds: baseline plus subgroup modifiers.
    effect_base: float = -0.2
    effect_rough_sleeping_and_substance: float = -1.1
    effect_young_18_25: float = 0.9
    effect_women_domestic_abuse: float = 1.0
    follow_up_days: int = 365
    #: Confounding outside the study's adjustment (scenario profiles; none by default). Interaction
    #: terms on the log-odds of placement and of losing the tenancy, keyed "a*b" (a product of two of
    #: the confounders above): the study adjusts for main effects only, so these are misspecified.
    propensity_interactions: dict[str, float] = field(default_factory=dict)
    failure_interactions: dict[str, float] = field(default_factory=dict)
    #: An unmeasured binary confounder (in no extract): its prevalence and its log-odds effects on
    #: placement into congregate housing and on losing the tenancy.
    unmeasured_prevalence: float = 0.0
    unmeasured_propensity_log_odds: float = 0.0
    unmeasured_failure_log_odds: float = 0.0


@dataclass
class NewArrivalsEffect:
    """Planted effect 3: new arrivals on the streets who had presented somewhere earlier."""

    share_presented_earlier: float = 0.60
    route_shares: dict[str, float] = field(
        default_factory=lambda: {
            "duty_ended_contact_lost_or_56_days": 0.40,
            "institution_discharge": 0.25,
            "supported_accommodation_eviction": 0.15,
            "approach_other_district": 0.20,
        }
    )
    #: Median days from the earlier contact to arrival, per route (lognormal, sigma below).
    route_median_days: dict[str, float] = field(
        default_factory=lambda: {
            "duty_ended_contact_lost_or_56_days": 35.0,
            "institution_discharge": 12.0,
            "supported_accommodation_eviction": 10.0,
            "approach_other_district": 60.0,
        }
    )
    route_sigma: float = 0.9
    #: Longest gap per route (the definitions' windows): 85 days for discharges, a year otherwise.
    route_max_days: dict[str, int] = field(
        default_factory=lambda: {
            "duty_ended_contact_lost_or_56_days": 365,
            "institution_discharge": 85,
            "supported_accommodation_eviction": 365,
            "approach_other_district": 365,
        }
    )
    #: Arrivals before this date are not in the study cohort (a year of statutory data to look back on).
    cohort_start: str = "2019-04-03"
    lookback_new_days: int = 1826  # 60 months


@dataclass
class DistrictEffect:
    """Planted effect 4: prevention success by district, one district truly out of line."""

    prevention_success: dict[str, float] = field(
        default_factory=lambda: {
            "oxford_city": 0.58,
            "cherwell": 0.58,
            "south_oxfordshire": 0.58,
            "vale_of_white_horse": 0.50,
            "west_oxfordshire": 0.58,
        }
    )
    #: Share of successful preventions where the household stayed (rest moved).
    stayed_share: float = 0.45


@dataclass
class EqualityEffect:
    """Planted effect 5: prevention success lower for one ethnic group (risk ratio)."""

    ethnic_group: str = "black"
    reference_group: str = "white"
    risk_ratio: float = 0.7


@dataclass
class MessRates:
    """Rates of realistic recording mess (each instance is written to the truth)."""

    name_typo: float = 0.04
    nickname_in_outreach: float = 0.40
    name_variant_elsewhere: float = 0.04
    dob_day_month_swap: float = 0.015
    outreach_dob_missing: float = 0.40
    outreach_family_name_missing: float = 0.45
    #: The outreach system logs each contact against a client profile (its client reference). A worker
    #: who does not recognise the person opens a new profile: seldom between regular contacts, often
    #: after a long absence (a new name or nickname, a different worker).
    outreach_new_profile: float = 0.005
    outreach_new_profile_after_gap: float = 0.25
    outreach_profile_gap_days: int = 180
    #: Contacts logged without a client (a brief encounter, the person would not engage).
    outreach_client_ref_missing: float = 0.03
    #: Contacts logged against the wrong client (someone else seen nearby around the same time).
    outreach_client_ref_wrong: float = 0.002
    dob_missing_other: float = 0.03
    duplicate_record: float = 0.015
    #: Probability that a real end in the last 120 days before the extract is still blank.
    late_end_recent: float = 0.35
    #: Probability that an older real end is still blank.
    late_end_older: float = 0.01
    late_end_recent_days: int = 120
    planted_error_rate: float = 0.003
    ni_held_statutory: float = 0.52
    ni_held_supported: float = 0.40
    ni_held_tenancy: float = 0.35
    ni_held_discharge: float = 0.45
    ni_held_death: float = 0.30
    ethnicity_not_recorded: float = 0.06
    #: Support needs recorded with error, independently on every record (scenario profiles; none by
    #: default): a person's true need left off a record, and a need they do not have put on one. So a
    #: person's records can disagree.
    need_not_recorded: float = 0.0
    need_recorded_wrongly: float = 0.0
    #: Richer identifier errors (workbench/synthetic/identifier_errors.py; scenario realistic_identifiers,
    #: none by default; evidence for the scenario's rates in docs/assumptions/linkage.md). Per record:
    #: forename and surname in swapped order (higher for names of non-UK origin), forename as an
    #: initial, date of birth defaulted to 1 January or to the 1st of the month or its year typed one
    #: off, one NI digit mistyped.
    name_order_swap: float = 0.0
    name_order_swap_non_uk: float = 0.0
    forename_initial: float = 0.0
    dob_default_jan1: float = 0.0
    dob_first_of_month: float = 0.0
    dob_year_off: float = 0.0
    ni_digit_typo: float = 0.0
    #: Per person over the whole period: surname changed on a day in it (marriage, divorce, a
    #: partner's name), by gender; records after the change keep the old name at this rate (a source
    #: not told). Two-part surnames, and the share of their records holding one part only. People of
    #: non-EU nationality registered as born on 1 January of their year (no documented date of birth).
    surname_change_women: float = 0.0
    surname_change_men: float = 0.0
    surname_change_old_kept: float = 0.0
    double_barrelled_share: float = 0.0
    double_barrelled_part: float = 0.0
    dob_jan1_person_non_eu: float = 0.0


@dataclass
class CountySettings:
    """Everything that defines a synthetic county apart from the seed, scale and extract date."""

    simulation_start: str = "2018-01-01"
    statutory_start: str = "2018-04-03"
    volumes: Volumes = field(default_factory=Volumes)
    hazards: Hazards = field(default_factory=Hazards)
    returns: ReturnsEffect = field(default_factory=ReturnsEffect)
    supported_housing: SupportedHousingEffect = field(default_factory=SupportedHousingEffect)
    new_arrivals: NewArrivalsEffect = field(default_factory=NewArrivalsEffect)
    districts: DistrictEffect = field(default_factory=DistrictEffect)
    equality: EqualityEffect = field(default_factory=EqualityEffect)
    mess: MessRates = field(default_factory=MessRates)

    def to_dict(self, seed: int, scale: float, extract_date: date) -> dict[str, Any]:
        out = asdict(self)
        out["returns"]["baseline_pieces"] = [list(p) for p in self.returns.baseline_pieces]
        # Settings that only scenario profiles use are written only when set, so the default county's
        # truth/settings.yaml is byte-for-byte what it was before they existed.
        for section, name in SCENARIO_ONLY:
            if out[section][name] == SCENARIO_ONLY_DEFAULTS[(section, name)]:
                del out[section][name]
        return {"seed": int(seed), "scale": float(scale), "extract_date": extract_date.isoformat(), **out}


#: (section, field) of the settings only scenario profiles change (workbench/synthetic/scenarios.yaml).
SCENARIO_ONLY: tuple[tuple[str, str], ...] = (
    ("volumes", "tenancy_move_ins_before_start_per_year"),
    ("volumes", "tenancies_before_start_years"),
    ("returns", "hr_housing_first_late"),
    ("returns", "hr_change_day"),
    ("supported_housing", "propensity_interactions"),
    ("supported_housing", "failure_interactions"),
    ("supported_housing", "unmeasured_prevalence"),
    ("supported_housing", "unmeasured_propensity_log_odds"),
    ("supported_housing", "unmeasured_failure_log_odds"),
    ("mess", "need_not_recorded"),
    ("mess", "need_recorded_wrongly"),
    *(("mess", f) for f in ("name_order_swap", "name_order_swap_non_uk", "forename_initial", "dob_default_jan1",
                            "dob_first_of_month", "dob_year_off", "ni_digit_typo", "surname_change_women",
                            "surname_change_men", "surname_change_old_kept", "double_barrelled_share",
                            "double_barrelled_part", "dob_jan1_person_non_eu")),
)
SCENARIO_ONLY_DEFAULTS: dict[tuple[str, str], Any] = {
    (section, name): asdict(CountySettings())[section][name] for section, name in SCENARIO_ONLY
}
