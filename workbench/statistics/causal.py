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

The propensity and outcome models are constructor parameters (scikit-learn style), by default
main-effects :class:`~workbench.statistics.logistic.LogisticRegression` (:data:`DEFAULT_MODEL`,
the maximum-likelihood fit); any object with
``fit(df, outcome_col, covariates)`` and ``predict(df) -> probabilities`` will do. A fresh copy
is fitted each time, so the parameter itself stays unfitted.

Fitted estimates, lifelines' names: ``params_`` (risk_treated, risk_control, risk_difference,
risk_ratio), ``standard_errors_`` (risk_difference, log_risk_ratio), ``confidence_intervals_``
(risk_difference, risk_ratio) and ``summary`` (one row, the same columns for every method).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy import stats

from workbench.statistics.logistic import LogisticRegression
from workbench.statistics.multiplicity import holm

Z95 = float(stats.norm.ppf(0.975))
#: The default propensity and outcome model: main-effects logistic regression (maximum likelihood).
DEFAULT_MODEL = LogisticRegression()


class ProbabilityModel(Protocol):
    """What a propensity or outcome model must offer: fit on a frame, predict probabilities."""

    def fit(self, df: pd.DataFrame, outcome_col: str, covariates: Sequence[str]) -> Any: ...

    def predict(self, df: pd.DataFrame) -> np.ndarray: ...


def fit_predict(model: ProbabilityModel | None, df: pd.DataFrame, outcome_col: str, covariates: Sequence[str],
                rows: np.ndarray | None = None) -> np.ndarray:
    """Fit a fresh copy of ``model`` (default: logistic regression) on ``df`` - or on its
    ``rows`` only (a boolean mask) - and predict the probability for every row of ``df``."""
    fitted = copy.deepcopy(model if model is not None else DEFAULT_MODEL)
    fitted.fit(df if rows is None else df[rows], outcome_col, covariates)
    return np.asarray(fitted.predict(df), dtype=float)


def propensity_scores(df: pd.DataFrame, treatment_col: str, covariates: Sequence[str],
                      model: ProbabilityModel | None = None, clip: float = 1e-3) -> np.ndarray:
    """P(treated | covariates) from ``model`` (default: main-effects logistic), clipped away from 0 and 1."""
    return np.clip(fit_predict(model, df, treatment_col, covariates), clip, 1 - clip)


def standardised_mean_differences(
    df: pd.DataFrame, treatment_col: str, covariates: Sequence[str], weights: np.ndarray | None = None
) -> pd.Series:
    """Austin (2009) SMD per covariate: (mean_t - mean_c) / sqrt((var_t + var_c) / 2), unweighted SDs."""
    t = df[treatment_col].to_numpy() == 1
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


class _EffectEstimator:
    """Results shared by the adjusted estimators: the named estimates and the summary row."""

    method = ""

    def _set_estimates(self, p1: float, p0: float, se_rd: float, se_lrr: float, n: int) -> None:
        rd, rr = p1 - p0, p1 / p0
        self.params_ = pd.Series({"risk_treated": p1, "risk_control": p0, "risk_difference": rd, "risk_ratio": rr})
        self.standard_errors_ = pd.Series({"risk_difference": se_rd, "log_risk_ratio": se_lrr})
        self.confidence_intervals_ = pd.DataFrame(
            {"95% lower-bound": [rd - Z95 * se_rd, rr * np.exp(-Z95 * se_lrr)],
             "95% upper-bound": [rd + Z95 * se_rd, rr * np.exp(Z95 * se_lrr)]},
            index=["risk_difference", "risk_ratio"])
        self.n_ = n

    @property
    def summary(self) -> pd.DataFrame:
        if not hasattr(self, "params_"):
            raise RuntimeError("call fit() first")
        p, se = self.params_, self.standard_errors_
        return _effect_summary(self.method, p["risk_treated"], p["risk_control"], p["risk_difference"],
                               se["risk_difference"], p["risk_ratio"], se["log_risk_ratio"], self.n_)


class PropensityWeighting(_EffectEstimator):
    """Hajek IPW estimate of the ATE (risk difference and ratio), bootstrap standard errors.

    The bootstrap refits the propensity model on every resample (rows drawn with
    ``random_state``); resamples with one arm only are skipped."""

    method = "IPW (Hajek, bootstrap SE)"

    def __init__(self, propensity_model: ProbabilityModel | None = None, n_bootstrap: int = 200,
                 random_state: int = 0, clip: float = 1e-3) -> None:
        self.propensity_model = propensity_model
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state
        self.clip = clip

    def fit(self, df: pd.DataFrame, treatment_col: str, outcome_col: str,
            covariates: Sequence[str]) -> PropensityWeighting:
        df = df[[treatment_col, outcome_col, *covariates]].dropna()
        y, t = df[outcome_col].to_numpy(float), df[treatment_col].to_numpy(float)
        self.propensity_ = propensity_scores(df, treatment_col, covariates, self.propensity_model, self.clip)
        self.weights_ = np.where(t == 1, 1 / self.propensity_, 1 / (1 - self.propensity_))
        p1, p0 = _ipw_effects(y, t, self.propensity_)
        rng = np.random.default_rng(self.random_state)
        boots = []
        for _ in range(self.n_bootstrap):
            idx = rng.integers(0, len(df), len(df))
            b = df.iloc[idx]
            if b[treatment_col].nunique() < 2:
                continue
            b1, b0 = _ipw_effects(b[outcome_col].to_numpy(float), b[treatment_col].to_numpy(float),
                                  propensity_scores(b, treatment_col, covariates, self.propensity_model, self.clip))
            boots.append((b1 - b0, np.log(b1 / b0) if b1 > 0 and b0 > 0 else np.nan))
        boots = np.asarray(boots)
        self._set_estimates(p1, p0, float(np.std(boots[:, 0], ddof=1)), float(np.nanstd(boots[:, 1], ddof=1)),
                            len(df))
        self.balance_ = pd.DataFrame({
            "smd_unweighted": standardised_mean_differences(df, treatment_col, covariates),
            "smd_weighted": standardised_mean_differences(df, treatment_col, covariates, self.weights_),
        })
        self.overlap_ = pd.DataFrame({"treated": t == 1, "propensity": self.propensity_})
        return self


def _aipw_pseudo_outcomes(df: pd.DataFrame, treatment_col: str, outcome_col: str, covariates: Sequence[str],
                          propensity_model: ProbabilityModel | None, outcome_model: ProbabilityModel | None,
                          clip: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AIPW pseudo-outcomes ``phi1``, ``phi0`` of each row, and the propensity scores.

    The outcome model is fitted separately in each arm and predicted for everyone (the two
    potential outcomes), so every covariate may modify the effect."""
    y, t = df[outcome_col].to_numpy(float), df[treatment_col].to_numpy(float)
    ps = propensity_scores(df, treatment_col, covariates, propensity_model, clip)
    m1 = fit_predict(outcome_model, df, outcome_col, covariates, rows=t == 1)
    m0 = fit_predict(outcome_model, df, outcome_col, covariates, rows=t == 0)
    return m1 + t * (y - m1) / ps, m0 + (1 - t) * (y - m0) / (1 - ps), ps


class AugmentedIPW(_EffectEstimator):
    """Doubly robust AIPW estimate of the ATE with influence-function standard errors."""

    method = "Doubly robust (AIPW)"

    def __init__(self, propensity_model: ProbabilityModel | None = None,
                 outcome_model: ProbabilityModel | None = None, clip: float = 1e-3) -> None:
        self.propensity_model = propensity_model
        self.outcome_model = outcome_model
        self.clip = clip

    def fit(self, df: pd.DataFrame, treatment_col: str, outcome_col: str, covariates: Sequence[str],
            cluster_col: str | None = None) -> AugmentedIPW:
        """``cluster_col`` (say the person): standard errors robust to correlation within clusters
        (the influence functions summed within each cluster), for people with several rows."""
        df = df[[treatment_col, outcome_col, *covariates, *([cluster_col] if cluster_col else [])]].dropna()
        phi1, phi0, ps = _aipw_pseudo_outcomes(df, treatment_col, outcome_col, covariates, self.propensity_model,
                                               self.outcome_model, self.clip)
        n = len(df)
        p1, p0 = float(phi1.mean()), float(phi0.mean())
        # Delta method on log(p1/p0) with the joint influence functions.
        ifl = (phi1 - p1) / p1 - (phi0 - p0) / p0
        clusters = df[cluster_col].to_numpy() if cluster_col else None
        self._set_estimates(p1, p0, influence_se(phi1 - phi0, clusters), influence_se(ifl, clusters), n)
        self.n_clusters_ = int(pd.unique(clusters).size) if clusters is not None else n
        self.influence_ = phi1 - phi0 - (p1 - p0)
        self.propensity_ = ps
        return self


def influence_se(values: np.ndarray, clusters: np.ndarray | None = None) -> float:
    """Standard error of a mean from its influence values: ``sd / sqrt(n)``; with ``clusters``, the
    cluster-robust form ``sqrt(sum_c (sum_{i in c} (v_i - mean))^2) / n`` (as a cluster-robust
    variance of an intercept-only regression, without small-sample correction)."""
    values = np.asarray(values, dtype=float)
    n = values.size
    if clusters is None:
        return float(np.std(values, ddof=1) / np.sqrt(n))
    centred = pd.Series(values - values.mean()).groupby(np.asarray(clusters)).sum().to_numpy()
    return float(np.sqrt(np.sum(centred**2)) / n)


def naive_difference(df: pd.DataFrame, treatment_col: str, outcome_col: str,
                     cluster_col: str | None = None) -> pd.DataFrame:
    """Unadjusted difference in outcome risk between arms, with Wald SEs (cluster-robust with
    ``cluster_col``)."""
    d = df[[treatment_col, outcome_col, *([cluster_col] if cluster_col else [])]].dropna()
    y1, y0 = d.loc[d[treatment_col] == 1, outcome_col], d.loc[d[treatment_col] == 0, outcome_col]
    p1, p0 = y1.mean(), y0.mean()
    if cluster_col is None:
        se = np.sqrt(p1 * (1 - p1) / len(y1) + p0 * (1 - p0) / len(y0))
        se_lrr = np.sqrt((1 - p1) / (p1 * len(y1)) + (1 - p0) / (p0 * len(y0))) if p1 > 0 and p0 > 0 else np.nan
    else:  # each arm's mean as an influence-function sum: (y - p) / share of the arm
        t = d[treatment_col].to_numpy(float)
        y = d[outcome_col].to_numpy(float)
        q = t.mean()
        if1 = t * (y - p1) / q
        if0 = (1 - t) * (y - p0) / (1 - q)
        clusters = d[cluster_col].to_numpy()
        se = influence_se(if1 - if0 + (p1 - p0), clusters)
        se_lrr = influence_se(if1 / p1 - if0 / p0, clusters) if p1 > 0 and p0 > 0 else np.nan
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


#: Folds of the cross-fitting in :func:`subgroup_effects` (dealt with a fixed seed: the same data give
#: the same estimates). More folds fit each model on more people (less noise added) at more fits.
SUBGROUP_FOLDS = 10


def cluster_folds(clusters: np.ndarray, n_folds: int, random_state: int = 0) -> np.ndarray:
    """Each row's fold (0 .. n_folds - 1): whole clusters are dealt at random into folds of equal size
    (to one cluster), so all rows of a cluster share a fold."""
    _, unit = np.unique(np.asarray(clusters), return_inverse=True)
    n_units = int(unit.max()) + 1 if unit.size else 0
    return np.random.default_rng(random_state).permutation(np.arange(n_units) % n_folds)[unit]


def _cross_fitted_pseudo_outcomes(df: pd.DataFrame, treatment_col: str, outcome_col: str,
                                  covariates: Sequence[str], propensity_model: ProbabilityModel | None,
                                  outcome_model: ProbabilityModel | None, clip: float, clusters: np.ndarray | None,
                                  n_folds: int, random_state: int = 0) -> np.ndarray:
    """AIPW pseudo-outcomes ``phi1 - phi0`` whose per-arm outcome predictions for each row come from
    models fitted on the OTHER folds (cross-fitting, Chernozhukov et al. 2018), dealt by cluster
    (person) so that no one's stays predict their own outcome; the propensity model is fitted on
    everyone.

    Why the outcome models: fitted on everyone, their score equations make each arm's residuals sum
    to zero within every covariate-defined subgroup (women, history of rough sleeping, ...), so
    ``sd(phi_S)`` misses part of the estimate's variance (issue 17: with placement and outcome redrawn
    from the synthetic truth on the counties' own stays, no effect, z = estimate / SE of the large
    subgroups had an SD of 1.10 fitted on everyone, 1.06 cross-fitted; the estimate's own SD grew
    about 5%).
    Why not the propensity: a covariate level with one or two people in an arm (domestic abuse in
    congregate housing) is then all in one arm in the other folds, its held-out propensity is
    clipped at ``clip`` and a weight of 1000 blows the estimate up; fitted on everyone, it cannot."""
    y, t = df[outcome_col].to_numpy(float), df[treatment_col].to_numpy(float)
    fold = cluster_folds(clusters if clusters is not None else np.arange(len(df)), n_folds, random_state)
    m1, m0 = np.empty(len(df)), np.empty(len(df))
    for k in range(n_folds):
        held, rest = fold == k, fold != k
        for arm, m in ((1, m1), (0, m0)):
            train = rest & (t == arm)
            if not train.any():  # every row of a tiny arm is held out here: fit on the whole arm instead
                train = t == arm
            m[held] = fit_predict(outcome_model, df, outcome_col, covariates, rows=train)[held]
    ps = propensity_scores(df, treatment_col, covariates, propensity_model, clip)
    return m1 + t * (y - m1) / ps - m0 - (1 - t) * (y - m0) / (1 - ps)


def _mean_se_df(values: np.ndarray, clusters: np.ndarray | None) -> tuple[float, float, float]:
    """Mean, cluster-robust standard error (:func:`influence_se`) and the Satterthwaite degrees of
    freedom of that variance, ``(sum a_c)^2 / sum a_c^2 - 1`` with ``a_c`` the squared centred
    cluster sums (``G - 1`` only if those squared sums are all equal). Worked out from the observed
    sums it runs low even for well-behaved data (for G independent normal values, a median near
    G / 3), so the t reference errs on the wide side.

    Why: inverse-propensity weights make a few stays carry most of the variance, so the variance
    estimate is itself noisy (issue 17, synthetic counties at scale 0.2: medians of about 10 degrees
    of freedom in subgroups of 60-85 stays, 30 in one of 230) and a normal reference names a
    subgroup too often, even with the true propensity and outcome probabilities. With placement and
    outcome redrawn from the synthetic truth (no effect) and the outcome models cross-fitted, a
    subgroup was named (Holm) in 10.4% and 10.0% of 1000 redrawn counties of the two null scenarios
    with the normal reference, 3.7% and 5.3% with this t."""
    values = np.asarray(values, dtype=float)
    groups = np.asarray(clusters) if clusters is not None else np.arange(values.size)
    a = pd.Series(values - values.mean()).groupby(groups).sum().to_numpy() ** 2
    df = a.sum() ** 2 / np.sum(a**2) - 1 if np.sum(a**2) > 0 else 1.0
    return float(values.mean()), influence_se(values, clusters), float(max(df, 1.0))


def subgroup_effects(
    df: pd.DataFrame, treatment_col: str, outcome_col: str, covariates: Sequence[str],
    subgroups: dict[str, pd.Series], propensity_model: ProbabilityModel | None = None,
    outcome_model: ProbabilityModel | None = None, clip: float = 1e-3, min_per_arm: int = 10,
    cluster_col: str | None = None,
) -> pd.DataFrame:
    """Doubly robust effect within each pre-specified subgroup, and an interaction test.

    The propensity model is fitted ONCE on everyone, in the adjustment covariates only; the outcome
    models are fitted separately in each arm (so every covariate may modify the effect) and
    cross-fitted over :data:`SUBGROUP_FOLDS` folds of clusters (:func:`_cross_fitted_pseudo_outcomes`).
    The subgroup effect is the mean of the AIPW pseudo-outcome ``phi = phi1 - phi0`` over the
    subgroup, its standard error ``sd(phi_S) / sqrt(n_S)`` (cluster-robust with ``cluster_col``,
    :func:`influence_se`), and its interval and p-value use a t reference with the Satterthwaite
    degrees of freedom of that variance (:func:`_mean_se_df`): with the propensity model right it is
    consistent for the subgroup's effect whatever the outcome model (the subgroups are defined by
    the covariates). Subgroup indicators are NOT added to the models: in small arms they separate
    the outcome (a subgroup whose few treated all kept their home), the fitted outcome is then
    exactly 0 or 1, the residual term vanishes and the interval is too narrow (issue 17: over 60
    all-nulls counties at scale 0.2 a subgroup was named, Holm, in 16.7% with them, 10.0% without).
    Issue 17's calibration (null scenarios, 100 counties at scale 0.2, seeds 3000-3099) named a
    subgroup in 17% and 9% of counties with the outcome models fitted on everyone and a normal
    reference, 6% and 5% as here (``benchmarks/diagnose_subgroup_errors.py``).
    A subgroup with fewer than ``min_per_arm`` people in either arm gets no estimate (too few for a
    Wald interval from weighted means). The interaction test compares the subgroup with its
    complement (t-test of the difference of two means of ``phi`` over disjoint sets, Welch's degrees
    of freedom); p-values are Holm-adjusted across subgroups.
    """
    d = df[[treatment_col, outcome_col, *covariates, *([cluster_col] if cluster_col else [])]].dropna()
    masks = {name: m.reindex(d.index).fillna(False).astype(bool).to_numpy() for name, m in subgroups.items()}
    X = np.column_stack([np.ones(len(d)), d[list(covariates)].to_numpy(float)])
    used = [covariates[j - 1] for j in _full_rank_columns(X) if j > 0]
    t = d[treatment_col].to_numpy(float)
    clusters = d[cluster_col].to_numpy() if cluster_col else None
    phi = _cross_fitted_pseudo_outcomes(d, treatment_col, outcome_col, used, propensity_model, outcome_model, clip,
                                        clusters, SUBGROUP_FOLDS)
    rows = []
    for name, inside in masks.items():
        outside = ~inside
        if outside.sum() < 20 or min(t[inside].sum(), (1 - t[inside]).sum()) < min_per_arm:
            continue
        tau, se, dof = _mean_se_df(phi[inside], None if clusters is None else clusters[inside])
        tau_c, se_c, dof_c = _mean_se_df(phi[outside], None if clusters is None else clusters[outside])
        diff, se_d = tau - tau_c, np.hypot(se, se_c)
        spread = se**4 / dof + se_c**4 / dof_c
        dof_d = se_d**4 / spread if spread > 0 else 1.0  # Welch-Satterthwaite for the difference
        half = float(stats.t.ppf(0.975, dof)) * se
        rows.append({"subgroup": name, "n": int(inside.sum()), "n_treated": int(t[inside].sum()),
                     "risk_difference": tau, "lower": tau - half, "upper": tau + half, "se": se,
                     "effect_p": float(2 * stats.t.sf(abs(tau / se), dof)),
                     "complement_risk_difference": tau_c, "interaction_difference": diff,
                     "interaction_p": float(2 * stats.t.sf(abs(diff / se_d), dof_d))})
    out = pd.DataFrame(rows)
    if len(out):
        # Holm across the subgroups, for the effect within each and for its difference from the rest:
        # a claim about "a subgroup" picked from several needs the adjusted evidence.
        out.insert(out.columns.get_loc("effect_p") + 1, "effect_p_holm",
                   holm(out["effect_p"].to_numpy()))
        out["interaction_p_holm"] = holm(out["interaction_p"].to_numpy())
    return out
