"""The workbench's one logistic regression against statsmodels' Logit, and on a rank-deficient
design (two indicator columns that always agree)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from rcheck import run_r  # noqa: E402

from workbench.statistics.logistic import LogisticRegression


def test_logistic_fit_matches_statsmodels():
    rng = np.random.default_rng(7)
    x = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.integers(0, 2, 3000).astype(float)})
    design = sm.add_constant(x)
    y = pd.Series((rng.random(3000) < 1 / (1 + np.exp(-(0.3 + 0.8 * x["a"] - 1.1 * x["b"])))).astype(float))
    mine = LogisticRegression().fit(x.assign(y=y), "y", ["a", "b"])
    ref = sm.Logit(y, design).fit(disp=0)
    assert mine.converged_
    np.testing.assert_allclose(mine.params_, ref.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(mine.standard_errors_, ref.bse, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")
def test_rank_deficient_design_gives_the_full_rank_fit():
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.integers(0, 2, 2000).astype(float)})
    y = (rng.random(2000) < 1 / (1 + np.exp(-(0.2 + 0.5 * x["a"] + 0.7 * x["b"])))).astype(float)
    full = LogisticRegression().fit(x.assign(y=y), "y", ["a", "b"])
    twice = LogisticRegression().fit(x.assign(y=y, b2=x["b"]), "y", ["a", "b", "b2"])
    assert twice.converged_
    # Same fitted probabilities; the aliased pair shares the coefficient (minimum norm).
    np.testing.assert_allclose(twice.predict(x.assign(b2=x["b"])), full.predict(x), rtol=1e-10)
    np.testing.assert_allclose(twice.params_[["b", "b2"]].sum(), full.params_["b"], rtol=1e-10)
    np.testing.assert_allclose(twice.params_["b"], twice.params_["b2"], rtol=1e-10)
    assert list(full.summary.columns) == ["coef", "exp(coef)", "se(coef)", "z", "p", "lower .95", "upper .95"]


@pytest.mark.needs_r
def test_logistic_fit_matches_r_glm(tmp_path):
    # The maximum-likelihood fit R's glm(family = binomial) gives, on data with a rare indicator
    # (the kind of design where a penalised fit would differ).
    rng = np.random.default_rng(11)
    x = pd.DataFrame({"a": rng.binomial(1, 0.03, 3000).astype(float), "b": rng.normal(size=3000)})
    y = (rng.random(3000) < 1 / (1 + np.exp(-(-1 + 2 * x["a"] + 0.5 * x["b"])))).astype(float)
    data = x.assign(y=y)
    data.to_csv(tmp_path / "d.csv", index=False)
    r = run_r(f"""
d <- read.csv("{tmp_path / 'd.csv'}")
f <- glm(y ~ a + b, family = binomial, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
py("coef", coef(f)); py("se", sqrt(diag(vcov(f)))); py("loglik", as.numeric(logLik(f)))
""", tmp_path)
    fit = LogisticRegression().fit(data, "y", ["a", "b"])
    np.testing.assert_allclose(fit.params_.to_numpy(), r["coef"], rtol=1e-9)
    np.testing.assert_allclose(fit.standard_errors_.to_numpy(), r["se"], rtol=1e-7)
    assert fit.log_likelihood_ == pytest.approx(float(r["loglik"][0]), rel=1e-12)
