"""Subgroup effects (issue 17): the outcome models are cross-fitted, so no person's rows are predicted
by an outcome model fitted on them; the pseudo-outcomes equal an independent computation with
statsmodels on the same folds; the degrees of freedom of the t reference are the Satterthwaite ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit

from workbench.statistics.causal import (
    SUBGROUP_FOLDS,
    _cross_fitted_pseudo_outcomes,
    _mean_se_df,
    cluster_folds,
    influence_se,
    propensity_scores,
    subgroup_effects,
)

COVS = ["needs", "young", "female"]


def _stays(n_people=400, seed=2):
    """People with one or two stays; placement depends on needs, no effect on the outcome."""
    rng = np.random.default_rng(seed)
    person = np.r_[np.arange(n_people), rng.choice(n_people, n_people // 5, replace=False)]
    needs, young, female = (rng.binomial(1, p, n_people)[person] for p in (0.4, 0.3, 0.35))
    t = rng.binomial(1, expit(-0.3 + 1.2 * needs - 0.7 * young - 0.5 * female))
    y = rng.binomial(1, expit(0.4 - 1.0 * needs + 0.3 * young))
    return pd.DataFrame({"person": person, "t": t, "y": y, "needs": needs, "young": young, "female": female})


def test_folds_keep_each_person_whole_and_are_balanced():
    clusters = np.r_[np.arange(95), np.arange(20)]
    fold = cluster_folds(clusters, 10, random_state=0)
    for c in np.unique(clusters):
        assert len(set(fold[clusters == c])) == 1
    sizes = np.bincount([fold[clusters == c][0] for c in np.unique(clusters)])
    assert sizes.min() >= 9 and sizes.max() <= 10
    np.testing.assert_array_equal(fold, cluster_folds(clusters, 10, random_state=0))  # reproducible


def test_no_persons_outcome_enters_their_own_outcome_predictions():
    # Change one person's outcomes: their pseudo-outcomes move only through their own residual term
    # (the outcome predictions for them come from folds without them), as y / e or -y / (1 - e).
    df = _stays()
    persons = df["person"].to_numpy()
    e = propensity_scores(df, "t", COVS)
    before = _cross_fitted_pseudo_outcomes(df, "t", "y", COVS, None, None, 1e-3, persons, 5)
    for person in np.flatnonzero(np.bincount(persons) == 2)[:3]:  # some people with two stays
        rows = persons == person
        changed = df.assign(y=np.where(rows, 1 - df["y"], df["y"]))
        after = _cross_fitted_pseudo_outcomes(changed, "t", "y", COVS, None, None, 1e-3, persons, 5)
        dy = (changed["y"] - df["y"]).to_numpy()[rows]
        t = df["t"].to_numpy()[rows]
        np.testing.assert_allclose(after[rows] - before[rows], dy * (t / e[rows] - (1 - t) / (1 - e[rows])),
                                   rtol=1e-9, atol=1e-12)
        assert np.abs(after[~rows] - before[~rows]).max() > 1e-6  # it did enter the others' predictions


def test_pseudo_outcomes_match_statsmodels_on_the_same_folds():  # and the propensity on everyone
    df = _stays()
    persons = df["person"].to_numpy()
    phi = _cross_fitted_pseudo_outcomes(df, "t", "y", COVS, None, None, 1e-3, persons, SUBGROUP_FOLDS, 0)
    fold = cluster_folds(persons, SUBGROUP_FOLDS, 0)
    X = sm.add_constant(df[COVS].astype(float)).to_numpy()
    t, y = df["t"].to_numpy(float), df["y"].to_numpy(float)
    expected = np.empty(len(df))
    for k in range(SUBGROUP_FOLDS):
        held, rest = fold == k, fold != k

        def predict(target, rows, held=held):
            return sm.Logit(target[rows], X[rows]).fit(disp=0).predict(X[held])

        e = sm.Logit(t, X).fit(disp=0).predict(X[held])  # the propensity: fitted on everyone
        m1, m0 = predict(y, rest & (t == 1)), predict(y, rest & (t == 0))
        th, yh = t[held], y[held]
        expected[held] = m1 + th * (yh - m1) / e - m0 - (1 - th) * (yh - m0) / (1 - e)
    np.testing.assert_allclose(phi, expected, rtol=1e-7, atol=1e-9)

    # and subgroup_effects reports their mean and clustered standard error in each subgroup
    out = subgroup_effects(df, "t", "y", COVS, {"women": df.female == 1}, cluster_col="person").iloc[0]
    inside = df["female"].to_numpy() == 1
    assert out.risk_difference == pytest.approx(expected[inside].mean(), rel=1e-7)
    assert out.se == pytest.approx(influence_se(expected[inside], persons[inside]), rel=1e-7)
    dof = _mean_se_df(expected[inside], persons[inside])[2]
    assert out.upper - out.risk_difference == pytest.approx(stats.t.ppf(0.975, dof) * out.se, rel=1e-7)
    assert out.effect_p == pytest.approx(2 * stats.t.sf(abs(out.risk_difference / out.se), dof), rel=1e-7)


def test_satterthwaite_degrees_of_freedom():
    # equal cluster contributions: G - 1; one cluster carrying the variance: about 1
    assert _mean_se_df(np.array([1.0, -1.0, 1.0, -1.0]), None)[2] == pytest.approx(3.0)
    values = np.r_[np.full(50, 0.0), 10.0]
    assert _mean_se_df(values, None)[2] == pytest.approx(1.0, abs=0.1)
    # clusters: the sums within person count, as the standard error's
    mean, se, df = _mean_se_df(np.array([1.0, 1.0, -1.0, -1.0]), np.array([0, 0, 1, 1]))
    assert (mean, df) == (0.0, 1.0) and se == pytest.approx(influence_se(np.array([1.0, 1, -1, -1]), np.array([0, 0, 1, 1])))


def test_an_arm_held_out_whole_in_a_fold_does_not_break_the_estimate():
    """An arm so small that all of it falls in one fold (one treated person among 400) is fitted on
    the whole arm for that fold: no error, and no subgroup gets an estimate (too few per arm)."""
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({"t": np.zeros(n, int), "y": rng.integers(0, 2, n), "x": rng.normal(size=n),
                       "person": np.arange(n)})
    df.loc[0, "t"] = 1
    out = subgroup_effects(df, "t", "y", ["x"], {"high x": df["x"] > 0}, cluster_col="person")
    assert out.empty
