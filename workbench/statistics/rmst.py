"""Restricted mean survival time (RMST) from the Kaplan-Meier curve, as R computes it.

Reference: R 4.2.2, survival 3.5-3, ``print(survfit(Surv(time, status) ~ 1), rmean=tau)``
(columns ``rmean`` and ``se(rmean)``, computed by ``survival:::survmean``); survRM2's
``rmst2`` uses the same formulas.

With ``t_0 = min(0, first time)``, the distinct times ``t_1 < ... < t_m <= tau`` of the
curve (events and censorings) and ``t_{m+1} = tau``::

    RMST(tau) = t_0 + sum_{i=1}^{m+1} (t_i - t_{i-1}) S(t_{i-1})          (S(t_0) = 1)
    var       = sum_{i=1}^{m} A_i^2 d_i / (Y_i (Y_i - d_i))               (0 if Y_i = d_i)

where ``A_i = int_{t_i}^{tau} S(u) du`` is the area under the curve from ``t_i`` to tau
(Klein & Moeschberger 4.5; Greenwood-type delta method).  ``Y_i``, ``d_i`` are the (weighted)
numbers at risk and of events, exactly as R uses them - also when the curve itself has an
infinitesimal-jackknife variance.

lifelines' ``restricted_mean_survival_time(..., return_variance=True)`` returns
``int_0^tau 2 t S(t) dt - RMST^2``, the variance of the *restricted survival time of one
person* (``min(T, tau)``), not the sampling variance of the estimate; it does not shrink
as the sample grows.  This module returns the standard error of the estimate.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from workbench.statistics.kaplan_meier import KaplanMeier

__all__ = ["RMSTDifference", "RestrictedMeanSurvival", "restricted_mean", "rmst_difference"]


def restricted_mean(km: KaplanMeier, tau: float) -> tuple[float, float]:
    """(RMST, standard error) up to ``tau`` from a fitted :class:`KaplanMeier`.

    Matches ``print(survfit(...), rmean=tau)``'s ``rmean`` and ``se(rmean)``; ``tau``
    may lie beyond the last time (the curve is extended flat, as R does).
    """
    km._check()
    time = km.timeline_
    if tau < km.start_time_:
        raise ValueError("tau is before the start of the curve")
    surv = km.survival_
    nr = km.n_risk_
    ne = km.n_event_
    start = km.start_time_
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(nr - ne == 0, 0.0, ne / (nr * (nr - ne)))
    keep = time <= tau
    if not keep.any():
        temptime = np.array([tau])
        tempsurv = np.array([1.0])
        hh = np.array([0.0])
    else:
        temptime = np.concatenate([time[keep], [tau]])
        tempsurv = np.concatenate([surv[keep], [surv[keep][-1]]])
        hh = np.concatenate([hh[keep], [0.0]])
    delta = np.diff(np.concatenate([[start], temptime]))
    rect = delta * np.concatenate([[1.0], tempsurv[:-1]])
    # A_i: area from t_i to tau, i.e. reverse cumulative sums of the later rectangles
    area_after = np.cumsum(rect[1:][::-1])
    var = float(np.sum(area_after**2 * hh[::-1][1:]))
    return float(np.sum(rect) + start), float(np.sqrt(var))


class RestrictedMeanSurvival:
    """RMST up to ``tau`` with its standard error and a normal-theory interval.

    ``estimator`` is the (unfitted) :class:`KaplanMeier` whose curve is integrated - R's
    defaults if None; a copy is fitted, so the parameter stays unfitted.

    Attributes after ``fit``: ``rmst_``, ``standard_error_``, ``confidence_interval_``
    (lower, upper), ``km_`` (the fitted :class:`KaplanMeier`), ``summary``.
    """

    def __init__(self, tau: float, conf_level: float = 0.95, estimator: KaplanMeier | None = None) -> None:
        if not 0 < conf_level < 1:
            raise ValueError("conf_level must be in (0, 1)")
        self.tau = float(tau)
        self.conf_level = conf_level
        self.estimator = estimator

    def fit(self, df: pd.DataFrame, duration_col: str, event_col: str | None = None,
            entry_col: str | None = None, weights_col: str | None = None,
            label: str | None = None) -> RestrictedMeanSurvival:
        """Fit the Kaplan-Meier curve to the rows of ``df`` and integrate it to ``tau``."""
        km = copy.deepcopy(self.estimator) if self.estimator is not None else KaplanMeier()
        self.km_ = km.fit(df, duration_col, event_col, entry_col, weights_col, label=label)
        self.rmst_, self.standard_error_ = restricted_mean(self.km_, self.tau)
        z = stats.norm.ppf(1 - (1 - self.conf_level) / 2)
        self.confidence_interval_ = (self.rmst_ - z * self.standard_error_, self.rmst_ + z * self.standard_error_)
        return self

    @property
    def summary(self) -> pd.DataFrame:
        if not hasattr(self, "rmst_"):
            raise RuntimeError("call fit() first")
        pct = f"{self.conf_level:g}"
        return pd.DataFrame(
            {"tau": [self.tau], "rmst": [self.rmst_], "se": [self.standard_error_],
             f"{pct} lower": [self.confidence_interval_[0]], f"{pct} upper": [self.confidence_interval_[1]]},
            index=[self.km_.label],
        )

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """The Kaplan-Meier curve with the area up to tau shaded."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        km = self.km_
        km.plot(ax=ax, ci=False, **kwargs)
        x = np.concatenate([[km.start_time_], km.timeline_[km.timeline_ <= self.tau], [self.tau]])
        y = km.predict(x)
        y[0] = 1.0
        ax.fill_between(x, 0, y, step="post", alpha=0.25)
        ax.axvline(self.tau, color="grey", linestyle="--", linewidth=1)
        ax.set_title(f"RMST({self.tau:g}) = {self.rmst_:.3g} (se {self.standard_error_:.3g})")
        return ax


@dataclass
class RMSTDifference:
    """Comparison of two RMSTs (survRM2 ``rmst2`` 'RMST (arm=1)-(arm=0)' and ratio rows)."""

    tau: float
    rmst_a: float
    se_a: float
    rmst_b: float
    se_b: float
    difference: float
    se: float
    lower: float
    upper: float
    z: float
    p_value: float
    ratio: float
    ratio_lower: float
    ratio_upper: float
    ratio_p_value: float
    conf_level: float

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "estimate": [self.difference, self.ratio],
                "se": [self.se, np.nan],
                "lower": [self.lower, self.ratio_lower],
                "upper": [self.upper, self.ratio_upper],
                "p": [self.p_value, self.ratio_p_value],
            },
            index=["RMST (A)-(B)", "RMST (A)/(B)"],
        )


def rmst_difference(a: KaplanMeier, b: KaplanMeier, tau: float,
                    conf_level: float = 0.95) -> RMSTDifference:
    """RMST(A) - RMST(B) and RMST(A)/RMST(B) at ``tau`` for two independent groups.

    Difference: ``se = sqrt(se_A^2 + se_B^2)``, Wald CI and two-sided p-value.  Ratio: on
    the log scale with ``se = sqrt(se_A^2/RMST_A^2 + se_B^2/RMST_B^2)`` - survRM2's
    formulas.  R's survRM2 requires ``tau`` within both curves' follow-up; here a ``tau``
    past the last time extends the curve flat (as ``print.survfit`` does).
    """
    ra, sa = restricted_mean(a, tau)
    rb, sb = restricted_mean(b, tau)
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    diff = ra - rb
    se = float(np.hypot(sa, sb))
    zstat = diff / se if se > 0 else np.nan
    p = float(2 * stats.norm.sf(abs(zstat)))
    log_ratio = np.log(ra) - np.log(rb)
    se_log = float(np.sqrt((sa / ra) ** 2 + (sb / rb) ** 2))
    zr = log_ratio / se_log if se_log > 0 else np.nan
    return RMSTDifference(
        tau=float(tau), rmst_a=ra, se_a=sa, rmst_b=rb, se_b=sb, difference=diff, se=se,
        lower=diff - z * se, upper=diff + z * se, z=float(zstat), p_value=p,
        ratio=float(np.exp(log_ratio)), ratio_lower=float(np.exp(log_ratio - z * se_log)),
        ratio_upper=float(np.exp(log_ratio + z * se_log)),
        ratio_p_value=float(2 * stats.norm.sf(abs(zr))), conf_level=conf_level,
    )
