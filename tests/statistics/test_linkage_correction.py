"""The review-corrected share (two-phase validation sample): its point estimate by hand, its
reduction to the plain share when the review finds no error, and its interval's coverage when
arrivals and the review sample are drawn again and again from a known population."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.statistics.intervals import wilson
from workbench.statistics.linkage_correction import point_estimate, review_corrected_share


def strata(rows):
    return pd.DataFrame(rows, columns=["stratum", "arrivals", "reviewed", "genuine", "genuine_presented"])


def test_point_estimate_by_hand():
    t = strata([("presented", 600, 60, 59, 58), ("not presented", 400, 120, 90, 12)])
    genuine = 600 * 59 / 60 + 400 * 90 / 120
    presented = 600 * 58 / 60 + 400 * 12 / 120
    got = point_estimate(t)
    assert got["share"] == pytest.approx(presented / genuine)
    assert got["fragment_share"] == pytest.approx(1 - genuine / 1000)


def test_a_review_that_finds_no_error_gives_the_plain_share_and_about_its_interval():
    t = strata([("presented", 600, 100, 100, 100), ("not presented", 400, 100, 100, 0)])
    r = review_corrected_share(t)
    assert r["share"] == pytest.approx(0.6)
    lo, hi = wilson(600, 1000)
    # the review's own uncertainty (100 per stratum found no error, yet cannot rule out a few
    # percent) widens the interval a little beyond the Wilson interval of the arrivals alone
    assert r["lower"] <= lo + 0.002 and r["upper"] >= hi - 0.002
    assert r["upper"] - r["lower"] < 2.5 * (hi - lo)


def test_counts_that_cannot_be_are_refused_naming_the_stratum():
    with pytest.raises(ValueError, match="not presented"):
        point_estimate(strata([("presented", 10, 5, 5, 5), ("not presented", 10, 5, 4, 5)]))
    with pytest.raises(ValueError, match="No arrival reviewed in stratum presented"):
        point_estimate(strata([("presented", 10, 0, 0, 0), ("not presented", 10, 5, 4, 1)]))


def test_the_interval_covers_the_true_share_at_about_its_nominal_rate():
    """A population like the county without a client reference: a third of apparent arrivals are
    fragments (nearly all 'not presented'), some presentations missed, a few invented. Each
    replicate draws the arrivals (superpopulation) and a review sample of 200; the true share is
    the replicate's own (finite) share, as the calibration compares with."""
    rng = np.random.default_rng(7)
    # cell probabilities per apparent stratum: genuine & presented, genuine & not, fragment
    cells = {"presented": (0.97, 0.02, 0.01), "not presented": (0.06, 0.50, 0.44)}
    mix, n_arrivals = {"presented": 0.42, "not presented": 0.58}, 1500
    covered, errors = [], []
    for rep in range(150):
        n_p = rng.binomial(n_arrivals, mix["presented"])
        sizes = {"presented": n_p, "not presented": n_arrivals - n_p}
        rows, true_gp, true_g = [], 0, 0
        for name, size in sizes.items():
            labels = rng.choice(3, size=size, p=cells[name])
            true_gp += int((labels == 0).sum())
            true_g += int((labels <= 1).sum())
            k = 67 if name == "presented" else 133
            sample = rng.choice(labels, size=k, replace=False)
            rows.append((name, size, k, int((sample <= 1).sum()), int((sample == 0).sum())))
        r = review_corrected_share(strata(rows), seed=rep)
        truth = true_gp / true_g
        covered.append(r["lower"] <= truth <= r["upper"])
        errors.append(r["share"] - truth)
    assert np.mean(covered) >= 0.90
    assert abs(np.mean(errors)) < 0.01
