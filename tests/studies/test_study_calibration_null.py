"""The studies calibrated where nothing is planted (issue 17 items 2 and 3): the all-nulls scenario,
R = 20 counties at scale 0.2 (seeds 101-120). In a file of its own so that the two 20-county runs
(this one and test_study_calibration.py's default county) go to different test workers."""

from __future__ import annotations

import pytest
from calibration_bands import calibrated_counties
from calibration_bands import covers as _covers
from calibration_bands import false_positives as _false_positives
from calibration_bands import no_failures as _no_failures

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def null_county():
    return calibrated_counties("null_all", seed_start=101)


def test_no_effect_planted_no_finding_beyond_chance(null_county):
    rows, s = null_county
    _no_failures(rows)
    _false_positives(s.loc[("supported_housing", "any subgroup named (Holm)")], "a subgroup named")
    for name in ("movers: ipw", "movers: doubly_robust", "entrants: doubly_robust"):
        _false_positives(s.loc[("supported_housing", name)], name)
        _covers(s.loc[("supported_housing", name)], name)
    _false_positives(s.loc[("returns", "log hazard ratio: housing_first")], "Housing First")
    _covers(s.loc[("returns", "log hazard ratio: housing_first")], "Housing First")
