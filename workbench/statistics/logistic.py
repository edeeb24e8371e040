"""Logistic regression: the one maximum-likelihood fit of a binary outcome used by the workbench.

Built on statsmodels: its ``Logit`` by Newton-Raphson for a full-rank design, and otherwise its
Binomial GLM by iteratively reweighted least squares (for the canonical logit link the same Newton
steps), each step solved by least squares, so a rank-deficient design (two case-mix levels that
always occur together) still converges, to the minimum-norm maximum-likelihood coefficients; the
fitted probabilities are unique either way. Iteration stops when no coefficient moves by more than
``tol`` (absolute), so the estimates agree with any other exact fit to rounding error.

The fit is the plain maximum-likelihood estimate, as R's ``glm(family = binomial)`` gives it
(``tests/statistics/test_logistic.py`` checks it live against R). Under complete separation the
coefficients diverge and statsmodels warns; the causal estimators clip the probabilities they use.

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

from workbench.statistics.coefficients import coefficient_table, confidence_intervals

__all__ = ["INTERCEPT", "LogisticRegression"]

#: Name of the intercept among ``params_`` (statsmodels' ``add_constant`` name).
INTERCEPT = "const"


class LogisticRegression:
    """Maximum-likelihood logistic regression of a 0/1 outcome on numeric covariates.

    Parameters
    ----------
    fit_intercept : add an intercept, named :data:`INTERCEPT`, as the first coefficient.
    alpha : 1 - confidence level of ``confidence_intervals_`` and ``summary``.
    tol, max_iter : Newton-Raphson (or IRLS) stops when no coefficient changes by more than ``tol``.

    Attributes after ``fit``: ``params_``, ``standard_errors_`` (inverse information; a
    pseudo-inverse if the design is rank-deficient), ``variance_``, ``confidence_intervals_``
    (Wald, coefficient scale), ``log_likelihood_``, ``n_obs_``, ``converged_``, ``summary``.
    """

    def __init__(self, fit_intercept: bool = True, alpha: float = 0.05,
                 tol: float = 1e-12, max_iter: int = 100) -> None:
        self.fit_intercept = fit_intercept
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
        # imported here: dashboard kernels import this module (through the duties page's
        # aggregates) but never fit, and statsmodels costs each kernel about a second
        import statsmodels.api as sm

        self.covariates_ = list(covariates)
        X = self._design(df)
        y = df[outcome_col].to_numpy(dtype=float)
        design = X.to_numpy()
        if np.linalg.matrix_rank(design) == design.shape[1]:
            # Full rank (the usual case): statsmodels' Logit by Newton-Raphson, about twice as fast
            # as the GLM's IRLS and the same maximum.
            res = sm.Logit(y, design).fit(method="newton", tol=self.tol, maxiter=self.max_iter, disp=0)
            converged = res.mle_retvals["converged"]
        else:
            # Rank-deficient: the GLM's IRLS solves each step by least squares (minimum norm).
            res = sm.GLM(y, design, family=sm.families.Binomial()).fit(
                method="IRLS", tol=self.tol, tol_criterion="params", maxiter=self.max_iter)
            converged = res.converged
        names = list(X.columns)
        self.params_ = pd.Series(res.params, index=names, name="coef")
        self.variance_ = pd.DataFrame(res.cov_params(), index=names, columns=names)
        self.standard_errors_ = pd.Series(res.bse, index=names, name="se(coef)")
        self.confidence_intervals_ = confidence_intervals(self.params_, self.standard_errors_, self.alpha)
        self.log_likelihood_ = float(res.llf)
        self.n_obs_ = int(res.nobs)
        self.converged_ = bool(converged)
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
