"""The bias analysis for an unmeasured confounder recovers the risk ratio adjusted for it, on data
where the factor is known (and then hidden), and the grid's arithmetic is the published formula."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.statistics.bias_analysis import adjusted_for_unmeasured, bias_factor


def test_bias_factor_is_the_published_formula_and_checks_its_inputs():
    assert bias_factor(0.5, 0.2, 0.5) == pytest.approx((1 - 0.25) / (1 - 0.1))
    assert bias_factor(0.3, 0.3, 3.0) == 1.0  # as common in both groups: no bias
    for bad in ((1.2, 0.1, 2.0), (0.1, -0.1, 2.0), (0.1, 0.1, 0.0)):
        with pytest.raises(ValueError):
            bias_factor(*bad)


def test_adjusting_for_the_true_factor_recovers_the_risk_ratio_it_hid():
    """A treatment with risk ratio 1.2 on the outcome, confounded by a factor in 50% of the treated
    and 20% of the others that halves the outcome's risk: the crude ratio is biased; adjusted with the
    factor's true prevalences and effect it is 1.2 again (to sampling error, n = 400,000)."""
    rng = np.random.default_rng(3)
    n = 400_000
    treated = rng.random(n) < 0.5
    u = rng.random(n) < np.where(treated, 0.5, 0.2)
    risk = 0.4 * np.where(treated, 1.2, 1.0) * np.where(u, 0.5, 1.0)
    y = rng.random(n) < risk
    crude = y[treated].mean() / y[~treated].mean()
    assert abs(crude - 1.2) > 0.1  # the factor biases the crude ratio
    out = adjusted_for_unmeasured(crude, crude * 0.95, crude * 1.05, [(0.5, 0.2, 0.5), (0.2, 0.2, 0.5)])
    assert out.loc[0, "adjusted_risk_ratio"] == pytest.approx(1.2, abs=0.01)
    assert out.loc[0, "adjusted_lower"] < out.loc[0, "adjusted_risk_ratio"] < out.loc[0, "adjusted_upper"]
    assert out.loc[1, "adjusted_risk_ratio"] == pytest.approx(crude)  # balanced factor: unchanged
