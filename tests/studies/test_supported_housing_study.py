"""The supported housing study on the default county: its outputs (issue 7); its accuracy is calibrated
over replicate counties in test_study_calibration.py (issue 17)."""

from __future__ import annotations

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
    assert all(any(w in f for w in ("CI", "E-value", "p-value", "moved on", "who entered")) for f in result.findings)
