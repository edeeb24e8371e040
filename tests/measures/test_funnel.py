"""Funnel limits: the PHE/OHID published values, Spiegelhalter's exact binomial limits worked by
hand, the Phase I (robust) target, and ratio limits."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.measures.funnel import (
    binomial_limit,
    proportion_funnel,
    proportion_limits,
    ratio_funnel,
    robust_proportion_target,
)

# PHEindicatormethods (UKHSA, R package implementing the Fingertips funnel plot guidance),
# tests/testthat/testdata_funnel_prop_outputs.csv: limits in % for the average proportion
# 80.642448% at each population: (n, lower 95%, upper 95%, lower 99.8%, upper 99.8%).
PHE_AVERAGE = 0.80642448
PHE_ROWS = [
    (30, 66.504234, 94.780661, 58.351036, 100.0),
    (102, 72.974925, 88.309971, 68.553233, 92.731663),
    (1008, 78.203374, 83.081521, 76.796814, 84.488082),
    (9998, 79.867989, 81.416907, 79.421375, 81.863521),
    (110000, 80.408963, 80.875933, 80.274317, 81.010578),
]


@pytest.mark.parametrize("n,lo95,hi95,lo998,hi998", PHE_ROWS)
def test_normal_limits_match_phe_published_values(n, lo95, hi95, lo998, hi998):
    got = [100 * float(v) for lv in (0.95, 0.998) for v in proportion_limits(PHE_AVERAGE, n, lv, "normal")]
    assert got == pytest.approx([lo95, hi95, lo998, hi998], abs=1e-5)


def test_exact_limits_by_hand():
    # Spiegelhalter (2005) Appendix A.1.1, for R ~ Binomial(10, 0.5):
    # P(R<=1) = 11/1024 = 0.0107422, P(R<=2) = 56/1024 = 0.0546875, so for p = 0.025, r_p = 2,
    # alpha = (0.0546875 - 0.025) / (0.0546875 - 0.0107422) = 0.675556, limit = (2 - 0.675556)/10.
    assert float(binomial_limit(0.5, 10, 0.025)) == pytest.approx(0.1324444, abs=1e-6)
    # P(R<=7) = 968/1024 = 0.9453125, P(R<=8) = 1013/1024 = 0.9892578, so for p = 0.975, r_p = 8,
    # alpha = (0.9892578 - 0.975) / (0.9892578 - 0.9453125) = 0.324444, limit = (8 - 0.324444)/10.
    assert float(binomial_limit(0.5, 10, 0.975)) == pytest.approx(0.7675556, abs=1e-6)
    lo, hi = proportion_limits(0.5, 10, 0.95, "exact")
    assert (float(lo), float(hi)) == pytest.approx((0.1324444, 0.7675556), abs=1e-6)


def test_exact_approaches_normal_for_large_n():
    for n in (5000, 50000):
        ex = np.array(proportion_limits(0.3, n, 0.998, "exact"))
        no = np.array(proportion_limits(0.3, n, 0.998, "normal"))
        # the gap shrinks like 1/n (continuity), far below the width (about 3.09 * sqrt(0.21/n))
        assert np.max(np.abs(ex - no)) < 2.0 / n


def test_positions_and_z():
    # target 0.5, n = 100: normal 99.8% limits 0.5 +- 3.0902 * 0.05 = [0.3455, 0.6545];
    # 95% limits 0.5 +- 1.96 * 0.05 = [0.402, 0.598].
    f = proportion_funnel(["a", "b", "c", "d"], [50, 62, 70, 30], [100] * 4, target=0.5, method="normal")
    assert f["position"].tolist() == ["within limits", "above 95% limit", "above 99.8% limit", "below 99.8% limit"]
    assert f["z"].tolist() == pytest.approx([0.0, 2.4, 4.0, -4.0])  # (rate - 0.5) / 0.05


def test_robust_target_sets_the_outlier_aside():
    # A, B, C: 50/100; D: 10/100. Pooled 160/400 = 0.40; normal 99.8% limits at n=100:
    # 0.40 +- 3.0902 * sqrt(0.24/100) = [0.2486, 0.5514]: D (0.10) is outside, the others are
    # inside. Set D aside: target 150/300 = 0.50, and A-C sit on it, so the search stops.
    target, aside = robust_proportion_target([50, 50, 50, 10], [100] * 4, method="normal")
    assert target == pytest.approx(0.5)
    assert aside == [3]
    f = proportion_funnel(list("ABCD"), [50, 50, 50, 10], [100] * 4, target=target, method="normal")
    assert f["position"].tolist() == ["within limits"] * 3 + ["below 99.8% limit"]


def test_robust_target_is_the_pooled_rate_without_outliers():
    target, aside = robust_proportion_target([48, 52, 50], [100, 100, 100])
    assert aside == [] and target == pytest.approx(0.5)


def test_ratio_limits_by_hand():
    # One unit of 10 cases each with expected probability 0.5: E = 5, V = 10 * 0.25 = 2.5;
    # 95% limits 1 +- 1.959964 * 1.581139 / 5 = 1 +- 0.619795; O = 9: ratio 1.8, z = (9 - 5)/sqrt(2.5).
    f = ratio_funnel(["u"], [9], [5.0], [np.full(10, 0.5)])
    assert float(f["lower_95"].iloc[0]) == pytest.approx(1 - 1.959964 * np.sqrt(2.5) / 5, abs=1e-6)
    assert float(f["upper_95"].iloc[0]) == pytest.approx(1.619795, abs=1e-6)
    assert float(f["z"].iloc[0]) == pytest.approx(4 / np.sqrt(2.5))
    assert f["position"].iloc[0] == "above 95% limit"  # 99.8% upper: 1 + 3.0902 * 0.31623 = 1.977
