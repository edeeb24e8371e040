"""Adjusted comparisons of a binary treatment on a binary outcome when placement is not random.

Estimators (scikit-learn style: options in the constructor, ``fit`` returns self, results in
trailing-underscore attributes, ``summary`` a DataFrame):

- :class:`PropensityWeighting` - inverse-probability-of-treatment weighting (Hajek, normalised
  weights) for the average treatment effect (ATE) as a risk difference and a risk ratio, with
  balance diagnostics (standardised mean differences before and after weighting) and overlap.
  Standard errors by nonparametric bootstrap of the whole procedure (propensity model refitted).
- :class:`AugmentedIPW` - the doubly robust augmented IPW estimator (Robins, Rotnitzky & Zhao
  1994; Bang & Robins 2005). Outcome models are fitted separately in each arm; the standard error
  is from the estimated influence function, ``sqrt(var(phi) / n)``.
- :func:`e_value` - VanderWeele & Ding (2017) E-value for a risk ratio and its confidence limit.
- :func:`standardised_mean_differences` - SMD as Austin (2009): difference in (weighted) means over
  the pooled unweighted standard deviation.

The propensity and outcome models are main-effects logistic regressions (statsmodels GLM).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))


def _design(df: pd.DataFrame, covariates: Sequence[str]) -> np.ndarray:
    return sm.add_constant(df[list(covariates)].to_numpy(dtype=float), has_constant="add")


def logistic_fit(X: np.ndarray, y: np.ndarray, ridge: float = 1e-6, max_iter: int = 50) -> np.ndarray:
    """Maximum-likelihood logistic regression by Newton-Raphson (IRLS).

    A tiny ridge keeps the Hessian invertible under (quasi-)separation, which small subgroups
    produce; it changes well-determined coefficients by less than 1e-6. Matches statsmodels'
    Binomial GLM to 1e-6 on well-posed problems (tests/causal).
    """
    beta = np.zeros(X.shape[1])
    penalty = ridge * np.eye(X.shape[1])
    penalty[0, 0] = 0.0  # no penalty on the intercept
    for _ in range(max_iter):
        eta = np.clip(X @ beta, -30, 30)
        p = 1 / (1 + np.exp(-eta))
        w = p * (1 - p)
        grad = X.T @ (y - p) - penalty @ beta
        hess = (X * w[:, None]).T @ X + penalty
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def _logit_predict(X: np.ndarray, y: np.ndarray, X_new: np.ndarray | None = None) -> np.ndarray:
    beta = logistic_fit(X, y)
    eta = np.clip((X if X_new is None else X_new) @ beta, -30, 30)
    return 1 / (1 + np.exp(-eta))


def propensity_scores(df: pd.DataFrame, treatment: str, covariates: Sequence[str], clip: float = 1e-3) -> np.ndarray:
    """P(treated | covariates) from a main-effects logistic model, clipped away from 0 and 1."""
    ps = _logit_predict(_design(df, covariates), df[treatment].to_numpy(dtype=float))
    return np.clip(ps, clip, 1 - clip)


def standardised_mean_differences(
    df: pd.DataFrame, treatment: str, covariates: Sequence[str], weights: np.ndarray | None = None
) -> pd.Series:
    """Austin (2009) SMD per covariate: (mean_t - mean_c) / sqrt((var_t + var_c) / 2), unweighted SDs."""
    t = df[treatment].to_numpy() == 1
    w = np.ones(len(df)) if weights is None else np.asarray(weights, dtype=float)
    out = {}
    for c in covariates:
        x = df[c].to_numpy(dtype=float)
        sd = np.sqrt((x[t].var(ddof=1) + x[~t].var(ddof=1)) / 2)
        diff = np.average(x[t], weights=w[t]) - np.average(x[~t], weights=w[~t])
        out[c] = diff / sd if sd > 0 else 0.0
    return pd.Series(out, name="smd")


def _ipw_effects(y: np.ndarray, t: np.ndarray, ps: np.ndarray) -> tuple[float, float]:
    w1, w0 = t / ps, (1 - t) / (1 - ps)
    p1, p0 = np.sum(w1 * y) / np.sum(w1), np.sum(w0 * y) / np.sum(w0)
    return p1, p0


class PropensityWeighting:
    """Hajek IPW estimate of the ATE (risk difference and ratio), bootstrap standard errors."""

    def __init__(self, n_bootstrap: int = 200, random_state: int = 0, clip: float = 1e-3) -> None:
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state
        self.clip = clip

    def fit(self, df: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str]) -> PropensityWeighting:
        df = df[[treatment, outcome, *covariates]].dropna()
        y, t = df[outcome].to_numpy(float), df[treatment].to_numpy(float)
        self.propensity_ = propensity_scores(df, treatment, covariates, self.clip)
        self.weights_ = np.where(t == 1, 1 / self.propensity_, 1 / (1 - self.propensity_))
        self.risk_treated_, self.risk_control_ = _ipw_effects(y, t, self.propensity_)
        self.risk_difference_ = self.risk_treated_ - self.risk_control_
        self.risk_ratio_ = self.risk_treated_ / self.risk_control_
        rng = np.random.default_rng(self.random_state)
        boots = []
        for _ in range(self.n_bootstrap):
            idx = rng.integers(0, len(df), len(df))
            b = df.iloc[idx]
            if b[treatment].nunique() < 2:
                continue
            p1, p0 = _ipw_effects(b[outcome].to_numpy(float), b[treatment].to_numpy(float),
                                  propensity_scores(b, treatment, covariates, self.clip))
            boots.append((p1 - p0, np.log(p1 / p0) if p1 > 0 and p0 > 0 else np.nan))
        boots = np.asarray(boots)
        self.se_risk_difference_ = float(np.std(boots[:, 0], ddof=1))
        self.se_log_risk_ratio_ = float(np.nanstd(boots[:, 1], ddof=1))
        self.balance_ = pd.DataFrame({
            "smd_unweighted": standardised_mean_differences(df, treatment, covariates),
            "smd_weighted": standardised_mean_differences(df, treatment, covariates, self.weights_),
        })
        self.overlap_ = pd.DataFrame({"treated": t == 1, "propensity": self.propensity_})
        self.n_ = len(df)
        return self

    @property
    def summary(self) -> pd.DataFrame:
        return _effect_summary("IPW (Hajek, bootstrap SE)", self.risk_treated_, self.risk_control_,
                               self.risk_difference_, self.se_risk_difference_, self.risk_ratio_,
                               self.se_log_risk_ratio_, self.n_)


class AugmentedIPW:
    """Doubly robust AIPW estimate of the ATE with influence-function standard errors."""

    def __init__(self, clip: float = 1e-3) -> None:
        self.clip = clip

    def fit(self, df: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str]) -> AugmentedIPW:
        df = df[[treatment, outcome, *covariates]].dropna()
        y, t = df[outcome].to_numpy(float), df[treatment].to_numpy(float)
        X = _design(df, covariates)
        ps = propensity_scores(df, treatment, covariates, self.clip)
        # Outcome models fitted in each arm, predicted for everyone (potential outcomes).
        m1 = _logit_predict(X[t == 1], y[t == 1], X)
        m0 = _logit_predict(X[t == 0], y[t == 0], X)
        phi1 = m1 + t * (y - m1) / ps
        phi0 = m0 + (1 - t) * (y - m0) / (1 - ps)
        n = len(y)
        self.risk_treated_, self.risk_control_ = float(phi1.mean()), float(phi0.mean())
        self.risk_difference_ = self.risk_treated_ - self.risk_control_
        self.se_risk_difference_ = float(np.std(phi1 - phi0, ddof=1) / np.sqrt(n))
        self.risk_ratio_ = self.risk_treated_ / self.risk_control_
        # Delta method on log(p1/p0) with the joint influence functions.
        ifl = (phi1 - self.risk_treated_) / self.risk_treated_ - (phi0 - self.risk_control_) / self.risk_control_
        self.se_log_risk_ratio_ = float(np.std(ifl, ddof=1) / np.sqrt(n))
        self.influence_ = phi1 - phi0 - self.risk_difference_
        self.propensity_ = ps
        self.n_ = n
        return self

    @property
    def summary(self) -> pd.DataFrame:
        return _effect_summary("Doubly robust (AIPW)", self.risk_treated_, self.risk_control_,
                               self.risk_difference_, self.se_risk_difference_, self.risk_ratio_,
                               self.se_log_risk_ratio_, self.n_)


def naive_difference(df: pd.DataFrame, treatment: str, outcome: str) -> pd.DataFrame:
    """Unadjusted difference in outcome risk between arms, with Wald SEs."""
    d = df[[treatment, outcome]].dropna()
    y1, y0 = d.loc[d[treatment] == 1, outcome], d.loc[d[treatment] == 0, outcome]
    p1, p0 = y1.mean(), y0.mean()
    se = np.sqrt(p1 * (1 - p1) / len(y1) + p0 * (1 - p0) / len(y0))
    se_lrr = np.sqrt((1 - p1) / (p1 * len(y1)) + (1 - p0) / (p0 * len(y0))) if p1 > 0 and p0 > 0 else np.nan
    return _effect_summary("Naive (unadjusted)", p1, p0, p1 - p0, se, p1 / p0, se_lrr, len(d))


def _effect_summary(method, p1, p0, rd, se_rd, rr, se_lrr, n) -> pd.DataFrame:
    return pd.DataFrame([{
        "method": method, "n": n, "risk_treated": p1, "risk_control": p0,
        "risk_difference": rd, "rd_lower": rd - Z95 * se_rd, "rd_upper": rd + Z95 * se_rd, "rd_se": se_rd,
        "risk_ratio": rr, "rr_lower": rr * np.exp(-Z95 * se_lrr), "rr_upper": rr * np.exp(Z95 * se_lrr),
        "p_value": 2 * stats.norm.sf(abs(rd / se_rd)) if se_rd > 0 else np.nan,
    }])


def e_value(rr: float, lower: float | None = None, upper: float | None = None) -> dict[str, Any]:
    """VanderWeele & Ding (2017) E-value for a risk ratio, and for the CI limit nearer to 1.

    E = RR + sqrt(RR (RR - 1)) for RR >= 1; for RR < 1 use 1/RR. The E-value for the CI is 1 if
    the interval includes 1.
    """

    def ev(r: float) -> float:
        r = 1 / r if r < 1 else r
        return float(r + np.sqrt(r * (r - 1)))

    out: dict[str, Any] = {"risk_ratio": rr, "e_value": ev(rr)}
    if lower is not None and upper is not None:
        if lower <= 1 <= upper:
            out["e_value_ci"] = 1.0
        else:
            out["e_value_ci"] = ev(lower if rr >= 1 else upper)
    return out


def _full_rank_columns(X: np.ndarray) -> list[int]:
    kept: list[int] = []
    for j in range(X.shape[1]):
        if np.linalg.matrix_rank(X[:, kept + [j]]) == len(kept) + 1:
            kept.append(j)
    return kept


def subgroup_effects(
    df: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str], subgroups: dict[str, pd.Series],
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Doubly robust effect within each pre-specified subgroup, and an interaction test.

    The propensity and outcome models are fitted ONCE on everyone, with the subgroup indicators
    added as covariates; the outcome models are fitted separately in each arm, so every covariate
    and subgroup may modify the effect. The subgroup effect is the mean of the AIPW pseudo-outcome
    ``phi`` over the subgroup (standard error ``sd(phi_S) / sqrt(n_S)``): fitting nuisance models
    inside small subgroups instead would overfit (few treated people, separation). The interaction
    test compares the subgroup with its complement (z-test of the difference of two means of
    ``phi`` over disjoint sets); p-values are Holm-adjusted across subgroups.
    """
    from statsmodels.stats.multitest import multipletests

    d = df[[treatment, outcome, *covariates]].dropna()
    masks = {name: m.reindex(d.index).fillna(False).astype(bool).to_numpy() for name, m in subgroups.items()}
    Z = np.column_stack([d[list(covariates)].to_numpy(float)] + [m.astype(float) for m in masks.values()])
    X = sm.add_constant(Z, has_constant="add")
    X = X[:, _full_rank_columns(X)]
    y, t = d[outcome].to_numpy(float), d[treatment].to_numpy(float)
    ps = np.clip(_logit_predict(X, t), 1e-3, 1 - 1e-3)
    m1 = _logit_predict(X[t == 1], y[t == 1], X)
    m0 = _logit_predict(X[t == 0], y[t == 0], X)
    phi = m1 - m0 + t * (y - m1) / ps - (1 - t) * (y - m0) / (1 - ps)
    rows = []
    for name, inside in masks.items():
        outside = ~inside
        if inside.sum() < 20 or outside.sum() < 20 or t[inside].sum() < 5 or (1 - t[inside]).sum() < 5:
            continue
        tau, se = phi[inside].mean(), phi[inside].std(ddof=1) / np.sqrt(inside.sum())
        tau_c, se_c = phi[outside].mean(), phi[outside].std(ddof=1) / np.sqrt(outside.sum())
        diff, se_d = tau - tau_c, np.hypot(se, se_c)
        rows.append({"subgroup": name, "n": int(inside.sum()), "n_treated": int(t[inside].sum()),
                     "risk_difference": tau, "lower": tau - Z95 * se, "upper": tau + Z95 * se, "se": se,
                     "complement_risk_difference": tau_c, "interaction_difference": diff,
                     "interaction_p": float(2 * stats.norm.sf(abs(diff / se_d)))})
    out = pd.DataFrame(rows)
    if len(out):
        out["interaction_p_holm"] = multipletests(out["interaction_p"], alpha=alpha, method="holm")[1]
    return out
