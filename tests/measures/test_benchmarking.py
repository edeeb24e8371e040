"""District benchmarking: indicator definitions on hand-made cases, indirect standardisation
worked by hand, the logistic fit against statsmodels, and the planted outlier district."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.definitions import COUNTY, DISTRICTS, district_households
from workbench.measures.benchmarking import (
    case_mix_adjusted,
    district_funnel,
    district_indicators,
    indicator_records,
    rates_per_1000_households,
)
from workbench.measures.sources import SourceTables


def _cases() -> SourceTables:
    sc = pd.DataFrame({
        "person_id": ["a", "b", "c", "d", "e", "f"],
        "district": ["cherwell", "cherwell", "cherwell", "oxford_city", "oxford_city", "oxford_city"],
        "approach_date": ["2021-01-04"] * 6,
        "prevention_duty_start": ["2021-01-05", "2021-01-05", "2021-01-05", "2021-01-05", "2021-01-05", None],
        "prevention_duty_end": ["2021-02-20", "2021-02-20", None, "2021-02-20", "2021-02-01", None],
        "prevention_duty_end_reason": ["secured_6_months_moved", "contact_lost", None, "secured_6_months_stayed",
                                       "homeless", None],
        "relief_duty_start": [None, None, None, None, "2021-02-01", "2021-01-04"],
        "relief_duty_end": [None, None, None, None, "2021-03-10", "2021-02-15"],
        "relief_duty_end_reason": [None, None, None, None, "secured_6_months", "days_56_elapsed"],
        "accommodation_secured": ["private_rented", None, None, "social_rented", "private_rented", None],
    })
    sa = pd.DataFrame({
        "person_id": ["g", "h", "i", "j"], "district": ["cherwell"] * 4, "model": ["congregate_hostel", "shared_house",
                                                                                "housing_first", "dispersed"],
        "start_date": ["2020-01-01"] * 4, "end_date": ["2021-01-01", "2021-01-01", "2021-01-01", None],
        "departure_reason": ["planned_move_on", "evicted", "planned_move_on", None],
        "destination": ["social_rented", "rough_sleeping", "social_rented", None],
    })
    return SourceTables.from_frames("2021-06-30", statutory_cases=sc, supported_accommodation=sa)


def test_indicators_by_hand():
    t = district_indicators(_cases()).set_index(["indicator", "district"])
    # Prevention: ended duties a (secured), b (contact lost) in Cherwell - c is still open;
    # d (secured), e (became homeless) in Oxford. 1/2 each, 2/4 for the county.
    assert t.loc[("prevention_success", "cherwell"), ["numerator", "denominator"]].tolist() == [1, 2]
    assert t.loc[("prevention_success", COUNTY), ["numerator", "denominator", "rate"]].tolist() == [2, 4, 0.5]
    # Relief: e secured, f 56 days elapsed, both Oxford: 1/2.
    assert t.loc[("relief_success", "oxford_city"), ["numerator", "denominator"]].tolist() == [1, 2]
    # Private rented access: duties that secured accommodation - a (private), d (social), e (relief,
    # private): 2 of 3 for the county; Cherwell 1/1, Oxford 1/2.
    assert t.loc[("private_rented_access", COUNTY), ["numerator", "denominator"]].tolist() == [2, 3]
    assert t.loc[("private_rented_access", "oxford_city"), ["numerator", "denominator"]].tolist() == [1, 2]
    # Move-on: stays ended g (social rented) and h (rough sleeping); i is Housing First (not a
    # supported stay for this measure); j is open. 1/2.
    assert t.loc[("move_on", "cherwell"), ["numerator", "denominator"]].tolist() == [1, 2]
    # Wilson 95% interval for 2/4: (0.1500, 0.8500)
    assert t.loc[("prevention_success", COUNTY), ["rate_lower", "rate_upper"]].tolist() == pytest.approx([0.15004, 0.84996], abs=1e-4)


def _mix_sources() -> SourceTables:
    # Two districts doing equally well within each household type: single_male 80% success,
    # couple_with_children 40%. Cherwell: 80 single men + 20 couples; Oxford the other way round.
    rows = []
    for district, n_x, n_y in (("cherwell", 80, 20), ("oxford_city", 20, 80)):
        for htype, n, rate in (("single_male", n_x, 0.8), ("couple_with_children", n_y, 0.4)):
            k = int(round(n * rate))
            for i in range(n):
                rows.append({"person_id": f"{district}{htype}{i}", "district": district, "household_type": htype,
                             "approach_date": "2021-01-04", "prevention_duty_start": "2021-01-05",
                             "prevention_duty_end": "2021-02-20",
                             "prevention_duty_end_reason": "secured_6_months_stayed" if i < k else "contact_lost"})
    return SourceTables.from_frames("2021-06-30", statutory_cases=pd.DataFrame(rows))


def test_indirect_standardisation_by_hand():
    # Crude: Cherwell (64 + 8)/100 = 0.72, Oxford (16 + 32)/100 = 0.48 - a big gap.
    # The county model on household type gives P(single_male) = 80/100 = 0.8 and
    # P(couple) = 40/100 = 0.4 exactly (a saturated model). Expected: Cherwell 80*0.8 + 20*0.4 = 72,
    # Oxford 20*0.8 + 80*0.4 = 48: O/E = 1 for both - the gap is all case mix.
    a = case_mix_adjusted(_mix_sources())
    a = a[a["target_kind"] == "county rate"].set_index("district")
    assert a.loc["cherwell", "crude_rate"] == pytest.approx(0.72)
    assert a.loc["oxford_city", "crude_rate"] == pytest.approx(0.48)
    assert a.loc["cherwell", "expected"] == pytest.approx(72, abs=1e-6)
    assert a["ratio"].tolist() == pytest.approx([1.0, 1.0], abs=1e-8)
    assert (a["position"] == "within limits").all()
    # Variance of O under the model: 80*0.16 + 20*0.24 = 17.6 for Cherwell; 95% limit
    # 1 + 1.959964 * sqrt(17.6) / 72 = 1.24439.
    assert a.loc["cherwell", "upper_95"] == pytest.approx(1 + 1.959964 * np.sqrt(17.6) / 72, abs=1e-6)
    # Crude funnel flags the same gap: pooled 120/200 = 0.6, normal z for Cherwell
    # (0.72 - 0.6) / sqrt(0.24/100) = 2.449, above the 95% limit.
    crude = district_funnel(_mix_sources(), method="normal")
    crude = crude[crude["target_kind"] == "county rate"].set_index("district")
    assert crude.loc["cherwell", "z"] == pytest.approx(0.12 / np.sqrt(0.0024))
    assert crude.loc["cherwell", "position"] == "above 95% limit"


def test_households_file_is_cited_and_marks_approximations():
    hh = district_households()
    assert sorted(hh["district"]) == sorted(DISTRICTS)
    assert hh["source"].str.contains("Census 2021").all()
    assert (hh.loc[hh["verified"] == "no", "note"].str.contains("APPROXIMATE")).all()
    assert hh["households"].between(40_000, 70_000).all()


def test_rates_per_1000_households_by_hand():
    sc = pd.DataFrame({"person_id": list("abc"), "district": ["cherwell"] * 3,
                       "approach_date": ["2021-04-10", "2021-05-01", "2022-04-02"]})
    r = rates_per_1000_households(SourceTables.from_frames("2022-06-30", statutory_cases=sc))
    hh = district_households().set_index("district").loc["cherwell", "households"]
    row = r[(r["measure"] == "approaches") & (r["district"] == "cherwell") & (r["period"] == "2021/22")].iloc[0]
    # 2 approaches in the financial year 2021/22 per 1,000 households: 2 / households * 1000
    assert row["count"] == 2 and row["per_1000"] == pytest.approx(2 / hh * 1000)
    # exact Poisson 95% interval for 2: (0.2422, 7.2247)
    assert row["per_1000_lower"] * hh / 1000 == pytest.approx(0.242209, abs=1e-5)
    assert row["per_1000_upper"] * hh / 1000 == pytest.approx(7.224687, abs=1e-5)
    part = r[(r["measure"] == "approaches") & (r["district"] == "cherwell") & (r["period"] == "2022/23")].iloc[0]
    assert part["days_covered"] == 91  # 1 April to 30 June 2022


# ---------------------------------------------------------------------------------------------
# Planted truth: one district out of line on prevention success
# ---------------------------------------------------------------------------------------------

def test_planted_outlier_district_is_the_only_one_outside_998(county_sources, planted):
    truth = planted["district_prevention_success"]
    outlier = truth["outlier_district"]
    direction = "below" if truth["true_rate"][outlier] < np.median(list(truth["true_rate"].values())) else "above"
    f = district_funnel(county_sources, "prevention_success")
    robust = f[f["target_kind"] == "robust county rate"].set_index("district")
    flagged = robust[robust["position"].str.contains("99.8")]
    assert list(flagged.index) == [outlier]
    assert flagged.loc[outlier, "position"] == f"{direction} 99.8% limit"
    # the robust target sets only the outlier aside and lands near the others' true rate
    assert robust["set_aside"].sum() == 1 and robust.loc[outlier, "set_aside"]
    others = [d for d in truth["true_rate"] if d != outlier]
    assert abs(robust["target"].iloc[0] - truth["true_rate"][others[0]]) < 0.02
    # against the plain county rate the outlier is outside too
    plain = f[f["target_kind"] == "county rate"].set_index("district")
    assert plain.loc[outlier, "position"] == f"{direction} 99.8% limit"


def test_planted_outlier_after_case_mix_adjustment(county_sources, planted):
    truth = planted["district_prevention_success"]
    outlier = truth["outlier_district"]
    a = case_mix_adjusted(county_sources, "prevention_success")
    robust = a[a["target_kind"] == "robust county rate"].set_index("district")
    assert list(robust.index[robust["position"].str.contains("99.8")]) == [outlier]
    plain = a[a["target_kind"] == "county rate"].set_index("district")
    # O/E of the outlier with its 95% interval below 1; its planted rate ratio to the others is
    # 0.4517 / 0.5696 = 0.79 - the estimate is within 0.05 of that
    assert plain.loc[outlier, "ratio_upper"] < 1
    planted_ratio = truth["true_rate"][outlier] / np.mean([v for d, v in truth["true_rate"].items() if d != outlier])
    assert abs(robust.loc[outlier, "ratio"] / robust.loc[outlier, "target"] - planted_ratio) < 0.05


def test_indicator_records_cover_every_ended_duty(county_sources):
    rec = indicator_records(county_sources, "prevention_success")
    sc = county_sources["statutory_cases"]
    assert len(rec) == int((sc["prevention_duty_start"].notna() & sc["prevention_duty_end"].notna()).sum())
    assert set(rec["district"]) == set(DISTRICTS)
