"""Aalen-Johansen cumulative incidence of competing causes, validated against R 4.2.2 with
survival 3.5-3 and cmprsk 2.2-11.

:class:`AalenJohansen` is the exact Aalen-Johansen estimate (no jittering of tied times;
lifelines' ``AalenJohansenFitter`` jitters, so its answer is random and biased). It reports two
variances, each matching a different R function:

- ``std_err`` / ``lower`` / ``upper`` / ``cumhaz``: R's multi-state
  ``survfit(Surv(time, factor(status)) ~ 1)`` (``pstate``, ``std.err`` - the
  infinitesimal-jackknife standard error that survival 3.x uses for every multi-state
  curve - and ``lower``/``upper`` with its default ``conf.type="log"``).  Supports
  delayed entry and case weights, as ``survfit`` does.
- ``var_cuminc``: cmprsk's ``cuminc()`` delta-method variance (Gray's formula, as
  printed by ``timepoints()``).  Defined only for unweighted data without delayed entry
  (cmprsk has neither); NaN otherwise.

Times closer than floating-point noise are merged like ``survfit``'s ``timefix=TRUE`` (switch
off with ``timefix=False``); cmprsk compares times exactly. Gray's test of equal cumulative
incidence is :func:`workbench.statistics.grays_test.grays_test`; the regression on covariates
is :class:`workbench.statistics.fine_gray.FineGray`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from workbench.statistics.risk_sets import (
    ConfType,
    aeq_times,
    check_interval_options,
    code_events,
    column,
    conf_int,
    prepare,
    product_limit_ij,
    risk_sets,
)

__all__ = ["AalenJohansen"]


def _cuminc_variance(
    time: NDArray[np.float64], n_risk: NDArray[np.float64], d_all: NDArray[np.float64],
    d_cause: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Gray's delta-method variance of the CIF, as cmprsk's Fortran ``cinc``.

    On distinct times with counts ``n`` at risk, ``d1`` cause events, ``d2`` other events,
    ``S-``/``S`` the all-cause KM before/after and ``F`` the CIF after the time, with the
    tie correction ``c(d) = 1 - (d - 1)/(n - 1)``::

        other-cause term (d2 > 0, S > 0): t6 = S-^2 c(d2) d2 / n^2,
            (a, b) = (F / S, 1 / S)
        cause term (d1 > 0):             t6 = S-^2 c(d1) d1 / n^2,
            (a, b) = (1 + F / S, 1 / S)   (b = 0 if S = 0)
        v1 += a^2 t6,  v2 += a b t6,  v3 += b^2 t6
        var F(t) = v1 + F^2 v3 - 2 F v2

    cuminc stores the variance only at the times of cause events, so it is a step
    function jumping only there (the other-cause increments enter at the next cause
    event) - reproduced exactly.
    """
    n = n_risk
    d = d_all
    with np.errstate(divide="ignore", invalid="ignore"):
        fkn = np.cumprod(np.where(d > 0, (n - d) / n, 1.0))
        fk = np.concatenate([[1.0], fkn[:-1]])
        F = np.cumsum(np.where(d_cause > 0, fk * d_cause / n, 0.0))
        d2 = d - d_cause

        def tie(dd: NDArray[np.float64]) -> NDArray[np.float64]:
            return np.where(dd > 1, 1 - (dd - 1) / (n - 1), 1.0)

        # other-cause contribution
        on2 = (d2 > 0) & (fkn > 0)
        t6 = np.where(on2, fk * fk * tie(d2) * d2 / (n * n), 0.0)
        t3 = np.where(on2, 1.0 / fkn, 0.0)
        t4 = np.where(on2, F / fkn, 0.0)
        v1 = t4 * t4 * t6
        v2 = t3 * t4 * t6
        v3 = t3 * t3 * t6
        # cause-of-interest contribution
        on1 = d_cause > 0
        t6 = np.where(on1, fk * fk * tie(d_cause) * d_cause / (n * n), 0.0)
        t3 = np.where(on1 & (fkn > 0), 1.0 / fkn, 0.0)
        t4 = 1 + t3 * F
        v1 = v1 + np.where(on1, t4 * t4 * t6, 0.0)
        v2 = v2 + np.where(on1, t3 * t4 * t6, 0.0)
        v3 = v3 + np.where(on1, t3 * t3 * t6, 0.0)
    V1, V2, V3 = np.cumsum(v1), np.cumsum(v2), np.cumsum(v3)
    v_at = V1 + F * F * V3 - 2 * F * V2
    # step function updated only at cause-event times
    last = np.maximum.accumulate(np.where(on1, np.arange(time.size), -1))
    return np.where(last >= 0, v_at[np.maximum(last, 0)], 0.0)


# ---------------------------------------------------------------------------------------
# Aalen-Johansen
# ---------------------------------------------------------------------------------------


class AalenJohansen:
    """Aalen-Johansen cumulative incidence for every cause, matching R exactly.

    ``CIF_k(t) = sum_{u <= t} S(u-) d_k(u) / Y(u)`` with ``S`` the all-cause Kaplan-Meier
    (weighted counts).  Tied times are handled exactly (no jitter), so the result is
    deterministic.

    Outputs (DataFrames indexed by ``timeline_``, one column per cause):

    ``cif_``        R ``survfit(...)$pstate[, cause]`` and cmprsk ``cuminc()$est``
    ``std_err_``    R ``survfit(...)$std.err`` (infinitesimal jackknife)
    ``lower_``, ``upper_``  R ``survfit(...)$lower/upper`` (``conf_type``, default "log")
    ``cumhaz_``     R ``survfit(...)$cumhaz`` (cause-specific Nelson-Aalen)
    ``var_cuminc_`` cmprsk ``cuminc()$var`` / ``timepoints()$var`` (delta method);
                    NaN with weights or delayed entry
    ``survival_``, ``survival_std_err_``  R ``pstate[, "(s0)"]`` and its std.err

    ``n_risk_`` (unweighted count at risk, as R's multi-state ``n.risk``), ``n_event_``
    (unweighted counts by cause), ``n_censor_``.
    """

    def __init__(self, conf_type: ConfType = "log", conf_level: float = 0.95,
                 timefix: bool = True, cencode: Any = 0,
                 causes: Sequence[Hashable] | None = None) -> None:
        check_interval_options(conf_type, conf_level)
        self.conf_type = conf_type
        self.conf_level = conf_level
        self.timefix = timefix
        self.cencode = cencode
        self.causes = causes

    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str,
        event_col: str,
        entry_col: str | None = None,
        weights_col: str | None = None,
    ) -> AalenJohansen:
        """Fit to the rows of ``df``. ``event_col`` holds ``cencode`` for censored rows and a
        cause label otherwise (causes sorted as R's factor unless ``causes`` is given)."""
        entry = column(df, entry_col)
        stop, start, w = prepare(df[duration_col].to_numpy(), entry, column(df, weights_col))
        code, cause_labels = code_events(df[event_col].to_numpy(), self.cencode, self.causes)
        if code.size != stop.size:
            raise ValueError("events and durations have different lengths")
        if not cause_labels:
            raise ValueError("no events of any cause")
        if self.timefix:
            stop, new_start = aeq_times(stop, None if entry is None else start)
            if new_start is not None:
                start = new_start
        K = len(cause_labels)
        rs = risk_sets(stop, start, code, w, K)
        S, F, se0, sek = product_limit_ij(rs)
        self.causes_ = cause_labels
        self.timeline_ = rs.time
        self.n_ = stop.size
        self.has_entry_ = entry is not None
        idx = pd.Index(rs.time, name="time")
        cols = pd.Index(cause_labels, name="cause")
        self.n_risk_ = rs.n_risk
        self.n_risk_weighted_ = rs.n_risk_w
        self.n_event_ = pd.DataFrame(rs.d, index=idx, columns=cols)
        self.n_censor_ = rs.c
        self.survival_ = S
        self.survival_std_err_ = se0
        self.cif_ = pd.DataFrame(F, index=idx, columns=cols)
        self.std_err_ = pd.DataFrame(sek, index=idx, columns=cols)
        lo, up = conf_int(F, sek, logse=False, conf_type=self.conf_type,
                          conf_level=self.conf_level)
        self.lower_ = pd.DataFrame(lo, index=idx, columns=cols)
        self.upper_ = pd.DataFrame(up, index=idx, columns=cols)
        self.survival_lower_, self.survival_upper_ = conf_int(
            S, se0, logse=False, conf_type=self.conf_type, conf_level=self.conf_level)
        self.cumhaz_ = pd.DataFrame(np.cumsum(rs.d_w / rs.n_risk_w[:, None], axis=0),
                                    index=idx, columns=cols)
        if entry is None and np.all(w == 1.0):
            dall = rs.d.sum(axis=1)
            var = np.column_stack([
                _cuminc_variance(rs.time, rs.n_risk, dall, rs.d[:, k]) for k in range(K)
            ])
        else:
            var = np.full_like(F, np.nan)
        self.var_cuminc_ = pd.DataFrame(var, index=idx, columns=cols)
        return self

    def _check(self) -> None:
        if not hasattr(self, "timeline_"):
            raise RuntimeError("call fit() first")

    def table(self, cause: Hashable) -> pd.DataFrame:
        """Full table for one cause (every distinct time), R's column names."""
        self._check()
        return pd.DataFrame(
            {
                "time": self.timeline_,
                "n.risk": self.n_risk_,
                "n.event": self.n_event_[cause].to_numpy(),
                "n.censor": self.n_censor_,
                "cif": self.cif_[cause].to_numpy(),
                "std.err": self.std_err_[cause].to_numpy(),
                "lower": self.lower_[cause].to_numpy(),
                "upper": self.upper_[cause].to_numpy(),
                "cumhaz": self.cumhaz_[cause].to_numpy(),
                "var.cuminc": self.var_cuminc_[cause].to_numpy(),
            }
        )

    def cif_at(self, times: ArrayLike, cause: Hashable | None = None) -> pd.DataFrame:
        """CIF, std.err, limits and cuminc variance at given times (long format).

        Step-function lookup as R's ``summary(fit, times=)`` and cmprsk's
        ``timepoints()``: before the first time the CIF, std.err and limits are 0 (R's
        ``survfit0`` row); after the last observed time everything is NaN (R drops those
        times; ``timepoints`` gives NA).
        """
        self._check()
        t = np.atleast_1d(np.asarray(times, dtype=float))
        causes = self.causes_ if cause is None else [cause]
        idx = np.searchsorted(self.timeline_, t, side="right") - 1
        beyond = t > self.timeline_[-1]
        rows = []
        for c in causes:
            def pick(frame: pd.DataFrame, before: float, c: Hashable = c) -> NDArray[np.float64]:
                v = frame[c].to_numpy()
                out = np.where(idx >= 0, v[np.maximum(idx, 0)], before)
                return np.where(beyond, np.nan, out)

            rows.append(pd.DataFrame({
                "time": t, "cause": [c] * t.size,
                "cif": pick(self.cif_, 0.0),
                "std.err": pick(self.std_err_, 0.0),
                # R's survfit0 row for multi-state fits has limits 0 before the first time
                "lower": pick(self.lower_, 0.0),
                "upper": pick(self.upper_, 0.0),
                "var.cuminc": pick(self.var_cuminc_, 0.0),
            }))
        return pd.concat(rows, ignore_index=True)

    @property
    def summary(self) -> pd.DataFrame:
        """Per cause: events and the CIF (with CI) at the last time."""
        self._check()
        last = self.timeline_[-1]
        return pd.DataFrame(
            {
                "events": self.n_event_.sum().to_numpy(),
                "time": last,
                "cif": self.cif_.iloc[-1].to_numpy(),
                "std.err": self.std_err_.iloc[-1].to_numpy(),
                "lower": self.lower_.iloc[-1].to_numpy(),
                "upper": self.upper_.iloc[-1].to_numpy(),
            },
            index=pd.Index(self.causes_, name="cause"),
        )

    def plot(self, ax: Any = None, causes: Sequence[Hashable] | None = None, ci: bool = True,
             **step_kwargs: Any) -> Any:
        """Step plot of the cumulative incidence of each cause with pointwise bands."""
        import matplotlib.pyplot as plt

        self._check()
        if ax is None:
            _, ax = plt.subplots()
        x = np.concatenate([[min(0.0, self.timeline_[0])], self.timeline_])
        for c in causes or self.causes_:
            y = np.concatenate([[0.0], self.cif_[c].to_numpy()])
            (line,) = ax.step(x, y, where="post", label=f"cause {c}", **step_kwargs)
            if ci:
                lo = np.concatenate([[0.0], self.lower_[c].to_numpy()])
                up = np.concatenate([[0.0], self.upper_[c].to_numpy()])
                ax.fill_between(x, np.nan_to_num(lo), np.nan_to_num(up), step="post",
                                alpha=0.2, color=line.get_color(), linewidth=0)
        ax.set_ylim(0, 1)
        ax.set_xlabel("time")
        ax.set_ylabel("cumulative incidence")
        ax.legend()
        return ax

