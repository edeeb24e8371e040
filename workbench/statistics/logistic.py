"""Logistic regression: the one maximum-likelihood fit of a binary outcome used by the workbench.

Built on statsmodels' Binomial GLM, fitted by iteratively reweighted least squares (IRLS, which
for the canonical logit link is exactly Newton-Raphson). Each weighted least-squares step is
solved by ``lstsq``, so a rank-deficient design (two case-mix levels that always occur
together) still converges, to the minimum-norm maximum-likelihood coefficients; the fitted
probabilities are unique either way. Iteration stops when no coefficient moves by more than
``tol`` (absolute), so the estimates agree with any other exact fit to rounding error.

``ridge > 0`` maximises instead the penalised log-likelihood ``loglik - ridge/2 |beta|^2`` (the
intercept is not penalised) with statsmodels' L2 penalty (``PenalizedMixin``, the machinery
behind its GAMs) by Newton-Raphson from zero. The causal estimators' default nuisance models use
``ridge=1e-6``: it keeps the Hessian invertible under (quasi-)separation, which small subgroups
produce, and moves well-determined coefficients by about 1e-7 relative - too little to matter,
but enough to show in the eighth digit of the published estimates, so it is kept.

Estimator style as the other fitters (lifelines / scikit-learn): options in the constructor,
``fit(df, outcome_col, covariates)`` returns self, results in trailing-underscore attributes and
a ``summary`` with the columns of :class:`workbench.statistics.cox.CoxPH`'s (here ``exp(coef)``
is an odds ratio). The causal estimators take any object with the same ``fit`` / ``predict``
as their propensity and outcome models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.base._penalized import PenalizedMixin
from statsmodels.base._penalties import L2

from workbench.statistics.coefficients import coefficient_table, confidence_intervals

__all__ = ["INTERCEPT", "LogisticRegression"]

#: Name of the intercept among ``params_`` (statsmodels' ``add_constant`` name).
INTERCEPT = "const"


class _RidgeGLM(PenalizedMixin, sm.GLM):
    """statsmodels' GLM with a penalty on the log-likelihood (as its ``GLMGam``)."""


class LogisticRegression:
    """Maximum-likelihood logistic regression of a 0/1 outcome on numeric covariates.

    Parameters
    ----------
    fit_intercept : add an intercept, named :data:`INTERCEPT`, as the first coefficient.
    ridge : L2 penalty on the coefficients other than the intercept (0: maximum likelihood).
    alpha : 1 - confidence level of ``confidence_intervals_`` and ``summary``.
    tol, max_iter : IRLS (Newton with a ridge) stops when no coefficient changes by more than ``tol``.

    Attributes after ``fit``: ``params_``, ``standard_errors_`` (inverse information; a
    pseudo-inverse if the design is rank-deficient), ``variance_``, ``confidence_intervals_``
    (Wald, coefficient scale), ``log_likelihood_``, ``n_obs_``, ``converged_``, ``summary``.
    """

    def __init__(self, fit_intercept: bool = True, ridge: float = 0.0, alpha: float = 0.05,
                 tol: float = 1e-12, max_iter: int = 100) -> None:
        self.fit_intercept = fit_intercept
        self.ridge = ridge
        self.alpha = alpha
        self.tol = tol
        self.max_iter = max_iter

    def _design(self, df: pd.DataFrame) -> pd.DataFrame:
        X = df[self.covariates_].astype(float)
        if self.fit_intercept:
            X.insert(0, INTERCEPT, 1.0)
        return X

    def fit(self, df: pd.DataFrame, outcome_col: str, covariates: Sequence[str]) -> LogisticRegression:
        """Fit ``P(outcome_col = 1) = expit(const + covariates' beta)`` on every row of ``df``."""
        self.covariates_ = list(covariates)
        X = self._design(df)
        y = df[outcome_col].to_numpy(dtype=float)
        family = sm.families.Binomial()
        if self.ridge > 0:
            weights = np.ones(X.shape[1])
            weights[: int(self.fit_intercept)] = 0.0  # the intercept is not penalised
            # statsmodels' L2 penalty is pen_weight * sum(w beta^2), hence ridge / 2.
            model = _RidgeGLM(y, X.to_numpy(), family=family, penal=L2(weights=weights), pen_weight=self.ridge / 2)
            res = model.fit(method="newton", start_params=np.zeros(X.shape[1]), tol=self.tol, maxiter=self.max_iter,
                            disp=0)
        else:
            res = sm.GLM(y, X.to_numpy(), family=family).fit(
                method="IRLS", tol=self.tol, tol_criterion="params", maxiter=self.max_iter)
        names = list(X.columns)
        self.params_ = pd.Series(res.params, index=names, name="coef")
        self.variance_ = pd.DataFrame(res.cov_params(), index=names, columns=names)
        self.standard_errors_ = pd.Series(res.bse, index=names, name="se(coef)")
        self.confidence_intervals_ = confidence_intervals(self.params_, self.standard_errors_, self.alpha)
        self.log_likelihood_ = float(res.llf)
        self.n_obs_ = int(res.nobs)
        # IRLS reports convergence on the results, Newton in its optimiser's return values.
        self.converged_ = bool(res.converged if self.ridge == 0 else res.mle_retvals["converged"])
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Fitted probabilities ``P(outcome = 1 | covariates)`` for the rows of ``df``."""
        if not hasattr(self, "params_"):
            raise RuntimeError("call fit() first")
        eta = self._design(df).to_numpy() @ self.params_.to_numpy()
        return 1 / (1 + np.exp(-eta))

    @property
    def summary(self) -> pd.DataFrame:
        """coef, exp(coef) (odds ratio), se(coef), z, p, lower/upper limits of exp(coef)."""
        if not hasattr(self, "params_"):
            raise RuntimeError("call fit() first")
        return coefficient_table(self.params_, self.standard_errors_, self.alpha)
