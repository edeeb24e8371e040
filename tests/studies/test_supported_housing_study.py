"""The supported housing study on the default county: its outputs (issue 7); its accuracy is calibrated
over replicate counties in test_study_calibration.py (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.studies.supported_housing import run


@pytest.fixture(scope="module")
def result(county_store):
    return run(county_store, n_bootstrap=100)


# The planted effects (overall, naive bias, subgroups) are tested over replicate counties in
# tests/studies/test_study_calibration.py: on a single seed an interval misses its planted value one
# time in twenty, and the subgroup test that lived here passed on the default seed by luck (it failed
# on 12 of seeds 1-24; issue 17).


def test_every_prespecified_subgroup_is_estimated_with_holm_adjusted_evidence(result):
    sub = result.tables["subgroup_effects"]
    assert {"rough_sleeping_and_substance_use", "young_person_18_25", "women_with_domestic_abuse"} <= set(sub["subgroup"])
    assert (sub["lower"] <= sub["risk_difference"]).all() and (sub["risk_difference"] <= sub["upper"]).all()
    assert (sub["effect_p_holm"] >= sub["effect_p"]).all()


def test_weighting_achieves_balance_and_outputs_are_complete(result):
    assert result.estimates["max_abs_smd_weighted"] < 0.1  # the usual balance threshold (Austin 2009)
    bal = result.tables["balance"]
    assert (bal.smd_unweighted.abs() > 0.1).any()  # placement really was driven by needs
    for name in ["outcomes_by_model", "congregate_effect", "subgroup_effects", "balance"]:
        assert len(result.tables[name])
    assert {"overlap", "subgroup_forest"} <= set(result.figures)
    assert "e_value" in result.tables["congregate_effect"]
    # Findings never state certainties without their interval.
    # every finding states its uncertainty (an interval, an E-value, an adjusted p-value) or describes a cohort
    # (or says a subgroup was not estimated)
    assert all(any(w in f for w in ("CI", "E-value", "p-value", "moved on", "who entered", "Not estimated"))
               for f in result.findings)


def test_the_primary_estimate_has_a_bias_analysis_for_an_unmeasured_factor(result):
    """Each row of the grid divides the doubly robust risk ratio and its limits by the row's bias factor;
    a factor commoner among congregate entrants that lowers the chance of settling moves the ratio up."""
    d = result.tables["entrants_effect"].iloc[1]
    t = result.tables["unmeasured_confounding"]
    assert len(t) == 8
    np.testing.assert_allclose(t["adjusted_risk_ratio"] * t["bias_factor"], d.risk_ratio, rtol=1e-12)
    np.testing.assert_allclose(t["adjusted_lower"] * t["bias_factor"], d.rr_lower, rtol=1e-12)
    commoner_in_congregate = t["share_with_factor_treated"] > t["share_with_factor_control"]
    assert (t.loc[commoner_in_congregate, "adjusted_risk_ratio"] > d.risk_ratio).all()
    assert any(f.startswith("Bias analysis: if a factor the data do not hold") for f in result.findings)


def test_housing_first_is_described_but_left_out_of_both_comparisons(result, county_store):
    """A Housing First 'stay' starts on its tenancy's first day (settled from entry by construction):
    it is in the outcomes-by-model table and in neither comparison (definitions 1.3.0)."""
    from workbench.cohorts.supported_housing import entrants_cohort, leavers_cohort

    assert "housing_first" in set(result.tables["outcomes_by_model"]["model"])
    entrants = entrants_cohort(county_store)
    observed = entrants[entrants["settled_at_horizon"].notna()]
    hf = observed["model"] == "housing_first"
    assert hf.sum() > 0  # so the count below could fail
    assert result.estimates["entrants_analysed"] == int((~hf).sum())
    leavers = leavers_cohort(county_store)
    movers = leavers[leavers["kept_12m"].notna()]
    assert result.estimates["analysed"] == int((movers["model"] != "housing_first").sum())
