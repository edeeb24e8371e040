"""Competing risks: Aalen-Johansen cumulative incidence, Gray's test, Fine-Gray regression.

Validated against R 4.2.2 with survival 3.5-3 and cmprsk 2.2-11:

* :class:`AalenJohansen` - the exact Aalen-Johansen estimate (no jittering of tied times;
  lifelines' ``AalenJohansenFitter`` jitters, so its answer is random and biased).  It
  reports two variances, each matching a different R function:

  - ``std_err`` / ``lower`` / ``upper`` / ``cumhaz``: R's multi-state
    ``survfit(Surv(time, factor(status)) ~ 1)`` (``pstate``, ``std.err`` - the
    infinitesimal-jackknife standard error that survival 3.x uses for every multi-state
    curve - and ``lower``/``upper`` with its default ``conf.type="log"``).  Supports
    delayed entry and case weights, as ``survfit`` does.
  - ``var_cuminc``: cmprsk's ``cuminc()`` delta-method variance (Gray's formula, as
    printed by ``timepoints()``).  Defined only for unweighted data without delayed entry
    (cmprsk has neither); NaN otherwise.

* :func:`grays_test` - ``cmprsk::cuminc(ftime, fstatus, group, strata, rho)$Tests``.
* :class:`FineGray` - ``cmprsk::crr(ftime, fstatus, cov1, failcode, cencode)``.

No timefix: ``cuminc`` and ``crr`` compare times exactly.  :class:`AalenJohansen` merges
near-equal times like ``survfit``'s ``timefix=TRUE`` (switch off with ``timefix=False``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import linalg, stats

from workbench.statistics.kaplan_meier import (
    ConfType,
    _as_float,
    _prepare,
    _product_limit_ij,
    _risk_sets,
    _sorted_levels,
    aeq_times,
    conf_int,
)

__all__ = ["AalenJohansen", "FineGray", "GraysTestResult", "grays_test"]


def _code_events(
    events: ArrayLike, cencode: Any, causes: Sequence[Hashable] | None
) -> tuple[NDArray[np.intp], list[Hashable]]:
    """Map event labels to 0 (censored) and 1..K (causes in sorted order, as R's factor)."""
    ev = np.asarray(events).reshape(-1)
    if pd.isna(ev).any():
        raise ValueError("events contain missing values")
    is_cens = ev == cencode
    if causes is None:
        causes = _sorted_levels(ev[~is_cens]) if (~is_cens).any() else []
    causes = list(causes)
    code = np.zeros(ev.size, dtype=np.intp)
    for k, c in enumerate(causes, start=1):
        code[ev == c] = k
    unknown = (~is_cens) & (code == 0)
    if unknown.any():
        raise ValueError(f"event codes {sorted(set(ev[unknown].tolist()))} are not in causes")
    return code, causes


# ---------------------------------------------------------------------------------------
# cmprsk's delta-method variance (cinc)
# ---------------------------------------------------------------------------------------


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
                 timefix: bool = True) -> None:
        if conf_type not in ("log", "log-log", "plain"):
            raise ValueError("conf_type must be 'log', 'log-log' or 'plain'")
        if not 0 < conf_level < 1:
            raise ValueError("conf_level must be in (0, 1)")
        self.conf_type = conf_type
        self.conf_level = conf_level
        self.timefix = timefix

    def fit(
        self,
        durations: ArrayLike,
        events: ArrayLike,
        entry: ArrayLike | None = None,
        weights: ArrayLike | None = None,
        cencode: Any = 0,
        causes: Sequence[Hashable] | None = None,
    ) -> AalenJohansen:
        """Fit. ``events`` holds ``cencode`` for censored rows and a cause label otherwise."""
        stop, start, w = _prepare(durations, entry, weights)
        code, cause_labels = _code_events(events, cencode, causes)
        if code.size != stop.size:
            raise ValueError("events and durations have different lengths")
        if not cause_labels:
            raise ValueError("no events of any cause")
        if self.timefix:
            stop, new_start = aeq_times(stop, None if entry is None else start)
            if new_start is not None:
                start = new_start
        K = len(cause_labels)
        rs = _risk_sets(stop, start, code, w, K)
        S, F, se0, sek = _product_limit_ij(rs)
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


# ---------------------------------------------------------------------------------------
# Gray's test
# ---------------------------------------------------------------------------------------


@dataclass
class GraysTestResult:
    """``cmprsk::cuminc(...)$Tests``: one row per cause (stat, pv, df)."""

    table: pd.DataFrame
    scores: dict[Hashable, NDArray[np.float64]]
    variances: dict[Hashable, NDArray[np.float64]]

    @property
    def summary(self) -> pd.DataFrame:
        return self.table


def _gray_stratum(
    y: NDArray[np.float64], m: NDArray[np.intp], g: NDArray[np.intp], ng: int, rho: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Score (ng-1) and its covariance for one stratum - cmprsk's Fortran ``crst``.

    Vectorised over the distinct times: per group the all-cause KM ``S_g`` and CIF
    ``F_g`` (left limits ``S_g-``, ``F_g-``), the pooled ``F`` with increments
    ``d1 / sum_g (n_g / S_g-)``, weights ``(1 - F-)^rho``, and Gray's (1988) score
    ``sum W (d1_g - d1 n_g (1 - F_g-) / (S_g- sum_h n_h (1 - F_h-)/S_h-))`` with its
    variance accumulated exactly as the Fortran does (terms ``a``, ``c``, ``v2``, ``v3``).
    """
    times, inv = np.unique(y, return_inverse=True)
    T = times.size
    d = np.zeros((3, T, ng))
    np.add.at(d, (m, inv, g), 1.0)
    cnt = d.sum(axis=0)
    rs = np.cumsum(cnt[::-1], axis=0)[::-1]  # at risk by group at each time
    d1, d2 = d[1], d[2]
    nd1 = d1.sum(axis=1)
    nd2 = d2.sum(axis=1)
    fail = (nd1 + nd2) > 0
    pos = rs > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(pos & fail[:, None], (rs - d1 - d2) / rs, 1.0)
        skm = np.cumprod(factor, axis=0)
        skmm = np.vstack([np.ones((1, ng)), skm[:-1]])
        f1 = np.cumsum(np.where(pos, skmm * d1 / rs, 0.0), axis=0)
        f1m = np.vstack([np.zeros((1, ng)), f1[:-1]])
        t1 = np.where(pos, rs / skmm, 0.0)  # n_g / S_g-
        tr = t1.sum(axis=1)
        tq = np.where(pos, rs * (1 - f1m) / skmm, 0.0).sum(axis=1)
        finc = np.where(fail, nd1 / tr, 0.0)
        f = np.cumsum(finc)
        fm = f - finc
        fb = (1 - fm) ** rho
        # restrict to failure times from here on
        t1, tr, tq, f, fm, fb = t1[fail], tr[fail], tq[fail], f[fail], fm[fail], fb[fail]
        rsf, skf, skmf, f1mf = rs[fail], skm[fail], skmm[fail], f1m[fail]
        d1f, d2f, nd1f, nd2f = d1[fail], d2[fail], nd1[fail], nd2[fail]
        posf = rsf > 0
        eye = np.eye(ng)
        a = fb[:, None, None] * (
            eye[None] * t1[:, :, None] - t1[:, :, None] * t1[:, None, :] / tr[:, None, None]
        )
        c = np.cumsum(a * (nd1f / (tr * (1 - fm)))[:, None, None], axis=0)
        score = (fb[:, None] * np.where(
            posf, d1f - nd1f[:, None] * rsf * (1 - f1mf) / (skmf * tq[:, None]), 0.0
        )).sum(axis=0)
        # cause-of-interest events
        on1 = (nd1f > 0)[:, None] & posf
        t4 = np.where(skf > 0, 1 - (1 - f[:, None]) / skf, 1.0)
        t5 = np.where(nd1f[:, None] > 1, 1 - (nd1f[:, None] - 1) / (tr[:, None] * skmf - 1), 1.0)
        t3 = np.where(on1, t5 * skmf * nd1f[:, None] / (tr[:, None] * rsf), 0.0)
        v3 = (t4 * t4 * t3).sum(axis=0)
        A = a - t4[:, None, :] * c  # (T, i, k)
        v2 = np.einsum("tik,tk->ik", A, t4 * t3)
        v = np.einsum("tik,tjk,tk->ij", A, A, t3)
        # other-cause events
        on2 = (nd2f > 0)[:, None] & (skf > 0) & (d2f > 0)
        t4b = np.where(on2, (1 - f[:, None]) / np.where(skf > 0, skf, 1.0), 0.0)
        t5b = np.where(d2f > 1, 1 - (d2f - 1) / (rsf - 1), 1.0)
        t3b = np.where(on2, t5b * skmf**2 * d2f / rsf**2, 0.0)
        v3 += (t4b * t4b * t3b).sum(axis=0)
        v2 -= np.einsum("tik,tk->ik", c, t4b**2 * t3b)
        v += np.einsum("tik,tjk,tk->ij", c, c, t4b**2 * t3b)
    cf = c[-1] if c.shape[0] else np.zeros((ng, ng))
    v = v + cf @ (v3[:, None] * cf.T) + cf @ v2.T + v2 @ cf.T
    k = ng - 1
    return score[:k], v[:k, :k]


def grays_test(
    durations: ArrayLike,
    events: ArrayLike,
    groups: ArrayLike,
    strata: ArrayLike | None = None,
    rho: float = 0.0,
    cencode: Any = 0,
) -> GraysTestResult:
    """Gray's (1988) K-sample test for each cause, as ``cmprsk::cuminc(...)$Tests``.

    For each cause, ``stat = s' V^{-1} s`` over the first ``ng - 1`` groups (summed over
    strata), ``pv`` the upper chi-square(ng - 1) tail (computed accurately with
    ``chi2.sf``; R's ``1 - pchisq`` rounds tiny p-values to 0), ``df = ng - 1``.  Groups
    are ordered as R's ``factor`` (sorted).  Where ``V`` is singular R reports -1; we
    report NaN.
    """
    t = _as_float(durations, "durations")
    code, causes = _code_events(events, cencode, None)
    grp = np.asarray(groups).reshape(-1)
    if not (t.size == code.size == grp.size):
        raise ValueError("durations, events and groups must have the same length")
    levels = _sorted_levels(grp)
    gi = pd.Categorical(grp, categories=levels).codes.astype(np.intp)
    ng = len(levels)
    if ng < 2:
        raise ValueError("need at least two groups")
    st = np.zeros(t.size, dtype=np.intp) if strata is None else pd.factorize(
        np.asarray(strata).reshape(-1), sort=True)[0]
    rows = []
    scores: dict[Hashable, NDArray[np.float64]] = {}
    variances: dict[Hashable, NDArray[np.float64]] = {}
    for k, cause in enumerate(causes, start=1):
        m = np.where(code == k, 1, np.where(code > 0, 2, 0)).astype(np.intp)
        s = np.zeros(ng - 1)
        v = np.zeros((ng - 1, ng - 1))
        for sv in np.unique(st):
            sel = st == sv
            ss, vv = _gray_stratum(t[sel], m[sel], gi[sel], ng, rho)
            s += ss
            v += vv
        # R: qr(v)$rank == ncol -> solve, else -1
        if np.linalg.matrix_rank(v, tol=1e-7 * max(np.abs(v).max(), 1e-300)) == ng - 1:
            stat = float(s @ linalg.solve(v, s, assume_a="sym"))
            pv = float(stats.chi2.sf(stat, ng - 1))
        else:
            stat, pv = float("nan"), float("nan")
        rows.append((cause, stat, pv, ng - 1))
        scores[cause] = s
        variances[cause] = v
    table = pd.DataFrame(rows, columns=["cause", "stat", "pv", "df"]).set_index("cause")
    return GraysTestResult(table=table, scores=scores, variances=variances)


# ---------------------------------------------------------------------------------------
# Fine-Gray
# ---------------------------------------------------------------------------------------


class FineGray:
    """Fine & Gray (1999) proportional subdistribution hazards, as ``cmprsk::crr``.

    Data sorted by time; ``G_g`` is the Kaplan-Meier of the censoring distribution in
    censoring group ``g`` (``crr``'s ``cengroup``), evaluated just before each time.  At
    each distinct failure time ``t_k`` of the cause of interest the risk set holds every
    subject with ``t_j >= t_k`` (weight 1) and every other-cause failure with
    ``t_j < t_k`` (weight ``G(t_k-)/G(t_j-)``).  With ``r_j = exp(x_j'b)``::

        S0_k, S1_k, S2_k = weighted sums of r, r x, r x x' over that risk set
        loglik(b) = sum_{failures} x_i'b - sum_k d_k log S0_k          (Breslow ties)
        score     = sum_{failures} x_i - sum_k d_k S1_k / S0_k
        info      = sum_k d_k (S2_k / S0_k - S1_k S1_k' / S0_k^2)

    Fitting replicates crr's Newton-Raphson exactly (start at 0 or ``init``, Armijo step
    halving with constant 1e-4, at most ``maxiter`` iterations, convergence when
    ``max|score| * max(|b|, 1) < max(|loglik|, 1) * gtol``).

    Variance: crr's sandwich ``I^-1 (sum_j u_j u_j') I^-1`` with ``u_j = eta_j + psi_j``
    (Fine & Gray 1999, section 3): ``eta_j`` the score residual
    ``int (x_j - xbar) w_j dM_j`` and ``psi_j`` the correction for the estimated censoring
    weights ``int q(u)/pi(u) dM^c_j(u)``, where ``q(u)`` sums, over failure times
    ``t_k >= u``, the other-cause failures before ``u`` weighted
    ``G(t_k-)/G(t_j-) r_j (x_j - xbar_k) / S0_k``.

    Complexity: every risk-set sum is a prefix/suffix cumulative sum over the sorted data,
    so a Newton step costs O(n p^2) and the variance O(n p^2 + K p G) (G censoring groups,
    K distinct failure times) - no O(n^2) term (crr's Fortran is O(n^2) per step and
    O(n^2 K) for the variance).  Covariates are centred internally (results unchanged).

    Attributes: ``coef_``, ``se_`` (robust), ``var_``, ``information_``, ``loglik_``,
    ``loglik_null_``, ``score_``, ``converged_``, ``n_iter_``, ``uftime_`` (distinct
    failure times), ``bfitj_`` (jumps of the baseline cumulative subdistribution hazard,
    crr's ``bfitj``), ``summary``.
    """

    def __init__(self, failcode: Any = 1, cencode: Any = 0, conf_level: float = 0.95,
                 gtol: float = 1e-6, maxiter: int = 10) -> None:
        self.failcode = failcode
        self.cencode = cencode
        self.conf_level = conf_level
        self.gtol = gtol
        self.maxiter = maxiter

    # -- data preparation -------------------------------------------------------------
    def _setup(self, durations: ArrayLike, events: ArrayLike, X: Any,
               cengroup: ArrayLike | None) -> None:
        t = _as_float(durations, "durations")
        ev = np.asarray(events).reshape(-1)
        if isinstance(X, pd.DataFrame):
            names = [str(c) for c in X.columns]
            Xa = X.to_numpy(dtype=float)
        elif isinstance(X, pd.Series):
            names = [str(X.name)]
            Xa = X.to_numpy(dtype=float)[:, None]
        else:
            Xa = np.asarray(X, dtype=float)
            if Xa.ndim == 1:
                Xa = Xa[:, None]
            names = [f"x{i + 1}" for i in range(Xa.shape[1])]
        cg = np.zeros(t.size) if cengroup is None else np.asarray(cengroup).reshape(-1)
        if not (t.size == ev.size == Xa.shape[0] == cg.size):
            raise ValueError("durations, events, X and cengroup must have the same length")
        if np.isnan(Xa).any() or pd.isna(ev).any():
            raise ValueError("missing values: drop incomplete rows first (crr's na.omit)")
        order = np.argsort(t, kind="stable")
        self._t = t[order]
        ici = np.where(ev == self.failcode, 1, np.where(ev == self.cencode, 0, 2))[order]
        self._ici = ici
        self._x_mean = Xa.mean(axis=0)
        self._X = Xa[order] - self._x_mean  # centring changes nothing but rounding
        self._names = names
        self._cg = pd.factorize(cg[order], sort=True)[0]
        self._ncg = int(self._cg.max()) + 1
        t_sorted = self._t
        n = t_sorted.size
        # censoring KM per group, as crr: survfit(Surv(ftime, cenind) ~ 1) by cengroup
        self._uft, uf_first = np.unique(t_sorted[ici == 1], return_index=True)
        self._dk = np.bincount(np.searchsorted(self._uft, t_sorted[ici == 1]),
                               minlength=self._uft.size).astype(float)
        Gown = np.ones(n)  # G_{g(j)}(t_j-)
        Gf = np.ones((self._ncg, self._uft.size))  # G_g(t_k-)
        for gidx in range(self._ncg):
            sel = self._cg == gidx
            tg = t_sorted[sel]
            times, inv = np.unique(tg, return_inverse=True)
            cens = np.bincount(inv, weights=(ici[sel] == 0).astype(float), minlength=times.size)
            nrisk = np.cumsum(np.bincount(inv, minlength=times.size)[::-1])[::-1]
            G = np.cumprod((nrisk - cens) / nrisk)
            Gleft = np.concatenate([[1.0], G])  # value just before times[i] is Gleft[i]

            def g_left(x: NDArray[np.float64], times=times, Gleft=Gleft,
                       tmax=times[-1]) -> NDArray[np.float64]:
                out = Gleft[np.searchsorted(times, x, side="left")]
                # crr's approx(): 0 beyond the group's last time
                return np.where(x > tmax, 0.0, out)

            Gown[sel] = g_left(tg)
            Gf[gidx] = g_left(self._uft)
        self._Gown = Gown
        self._Gf = Gf
        # index of the first subject with time >= t_k (risk set part 1 is a suffix)
        self._pos = np.searchsorted(t_sorted, self._uft, side="left")

    def _sums(self, b: NDArray[np.float64], need2: bool = True) -> tuple[Any, ...]:
        """S0, S1, (S2) at each distinct failure time, all by cumulative sums."""
        X = self._X
        n, p = X.shape
        eta = X @ b
        r = np.exp(eta)
        pos = self._pos
        # suffix sums: subjects with t >= t_k
        def suffix(v: NDArray[np.float64]) -> NDArray[np.float64]:
            cs = np.cumsum(v[::-1], axis=0)[::-1]
            cs = np.concatenate([cs, np.zeros((1,) + v.shape[1:])], axis=0)
            return cs[pos]

        # prefix sums over other-cause failures before t_k, per censoring group
        oth = self._ici == 2

        def prefix_other(v: NDArray[np.float64]) -> NDArray[np.float64]:
            out = np.zeros((pos.size,) + v.shape[1:])
            for gidx in range(self._ncg):
                sel = oth & (self._cg == gidx)
                if not sel.any():
                    continue
                vv = np.where(sel.reshape((-1,) + (1,) * (v.ndim - 1)), v, 0.0) / \
                    self._Gown.reshape((-1,) + (1,) * (v.ndim - 1))
                cs = np.concatenate([np.zeros((1,) + v.shape[1:]), np.cumsum(vv, axis=0)])
                gf = self._Gf[gidx].reshape((-1,) + (1,) * (v.ndim - 1))
                out += gf * cs[pos]
            return out

        rx = r[:, None] * X
        S0 = suffix(r) + prefix_other(r)
        S1 = suffix(rx) + prefix_other(rx)
        S2 = None
        if need2:
            rxx = rx[:, :, None] * X[:, None, :]
            S2 = suffix(rxx) + prefix_other(rxx)
        return eta, r, S0, S1, S2

    def _fsv(self, b: NDArray[np.float64]) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
        """crr's ``crrfsv``: minus log-likelihood, minus score, information."""
        eta, _, S0, S1, S2 = self._sums(b)
        fail = self._ici == 1
        dk = self._dk
        f = -eta[fail].sum() + float(np.sum(dk * np.log(S0)))
        s = -self._X[fail].sum(axis=0) + (dk[:, None] * S1 / S0[:, None]).sum(axis=0)
        xbar = S1 / S0[:, None]
        info = np.einsum("k,kij->ij", dk / S0, S2) - np.einsum("k,ki,kj->ij", dk, xbar, xbar)
        return f, s, info

    def _f(self, b: NDArray[np.float64]) -> float:
        eta, _, S0, _, _ = self._sums(b, need2=False)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return float(-eta[self._ici == 1].sum() + np.sum(self._dk * np.log(S0)))

    # -- public API -------------------------------------------------------------------
    def fit(
        self,
        durations: ArrayLike,
        events: ArrayLike,
        X: Any,
        cengroup: ArrayLike | None = None,
        init: ArrayLike | None = None,
    ) -> FineGray:
        """Fit ``crr(ftime=durations, fstatus=events, cov1=X, cengroup=...)``."""
        self._setup(durations, events, X, cengroup)
        if self._uft.size == 0:
            raise ValueError("no failures of the cause of interest")
        p = self._X.shape[1]
        b = np.zeros(p) if init is None else np.asarray(init, dtype=float).copy()
        converged = False
        n_iter = 0
        f = s = h = None
        for ll in range(self.maxiter + 1):
            f, s, h = self._fsv(b)
            n_iter = ll
            if np.max(np.abs(s) * np.maximum(np.abs(b), 1.0)) < max(abs(f), 1.0) * self.gtol:
                converged = True
                break
            if ll == self.maxiter:
                break
            sc = -np.linalg.solve(h, s)
            bn = b + sc
            fbn = self._f(bn)
            i = 0
            while np.isnan(fbn) or fbn > f + 1e-4 * float(np.sum(sc * s)):
                i += 1
                sc = sc * 0.5
                bn = b + sc
                fbn = self._f(bn)
                if i > 20:
                    break
            if i > 20:
                break
            b = bn
        self.coef_ = pd.Series(b, index=self._names, name="coef")
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.loglik_ = -float(f)
        self.score_ = pd.Series(-s, index=self._names)
        self.loglik_null_ = -self._f(np.zeros(p))
        self.n_ = self._t.size
        self._variance(b)
        return self

    def _variance(self, b: NDArray[np.float64]) -> None:
        """crr's ``crrvv`` sandwich, vectorised (see class docstring)."""
        X = self._X
        n, p = X.shape
        eta, r, S0, S1, S2 = self._sums(b)
        dk = self._dk
        xbar = S1 / S0[:, None]
        info = np.einsum("k,kij->ij", dk / S0, S2) - np.einsum("k,ki,kj->ij", dk, xbar, xbar)
        dL = dk / S0  # jumps of the baseline cumulative subdistribution hazard
        t = self._t
        ici = self._ici
        Gown = self._Gown
        K = self._uft.size

        # eta_j: dN part
        u = np.zeros((n, p))
        fail = ici == 1
        kf = np.searchsorted(self._uft, t[fail])
        u[fail] = X[fail] - xbar[kf]
        # - r_j sum_{t_k <= t_j} (x_j - xbar_k) dL_k
        P0 = np.concatenate([[0.0], np.cumsum(dL)])
        P1 = np.concatenate([np.zeros((1, p)), np.cumsum(xbar * dL[:, None], axis=0)])
        upto = np.searchsorted(self._uft, t, side="right")
        u -= r[:, None] * (X * P0[upto][:, None] - P1[upto])
        # - [other cause] r_j / G_j sum_{t_k > t_j} G(t_k-) (x_j - xbar_k) dL_k
        oth = ici == 2
        for gidx in range(self._ncg):
            sel = oth & (self._cg == gidx)
            if not sel.any():
                continue
            gdl = self._Gf[gidx] * dL
            R0 = np.concatenate([np.cumsum(gdl[::-1])[::-1], [0.0]])
            R1 = np.concatenate([np.cumsum((gdl[:, None] * xbar)[::-1], axis=0)[::-1],
                                 np.zeros((1, p))])
            j = np.nonzero(sel)[0]
            u[j] -= (r[j] / Gown[j])[:, None] * (X[j] * R0[upto[j]][:, None] - R1[upto[j]])

        self._eta_resid = u.copy()  # kept for diagnostics: score part of u_j
        # psi_j: censoring-weight correction, at distinct censoring times u
        cens = ici == 0
        if cens.any():
            ctimes = np.unique(t[cens])
            first_ge = np.searchsorted(t, ctimes, side="left")  # subjects with t < u: [:first]
            kge = np.searchsorted(self._uft, ctimes, side="left")  # failures with t_k >= u
            # q_g(u), one per censoring group.  cmprsk 2.2-11 restricts BOTH sums of
            # q(u) to group g: the other-cause failures j (t_j < u) and the failures of
            # the cause of interest at t_k >= u.  (With one group this is Fine & Gray's
            # q(u); with several it is what crr computes - verified against R.)
            fail_k = np.searchsorted(self._uft, t[fail])
            q = np.zeros((self._ncg, ctimes.size, p))
            for gidx in range(self._ncg):
                sel = oth & (self._cg == gidx)
                if not sel.any():
                    continue
                wgt = np.where(sel, r / Gown, 0.0)
                C0 = np.concatenate([[0.0], np.cumsum(wgt)])[first_ge]
                C1 = np.concatenate([np.zeros((1, p)), np.cumsum(wgt[:, None] * X, axis=0)])[
                    first_ge]
                dk_g = np.bincount(fail_k[self._cg[fail] == gidx], minlength=K).astype(float)
                gdl = self._Gf[gidx] * dk_g / S0
                R0 = np.concatenate([np.cumsum(gdl[::-1])[::-1], [0.0]])[kge]
                R1 = np.concatenate([np.cumsum((gdl[:, None] * xbar)[::-1], axis=0)[::-1],
                                     np.zeros((1, p))])[kge]
                q[gidx] = C1 * R0[:, None] - C0[:, None] * R1
            # per censoring group g: pi_g(u) = # in g with t >= u, dN^c_g(u) censored at u
            cidx = np.searchsorted(ctimes, t)  # meaningful for censored rows
            for gidx in range(self._ncg):
                in_g = self._cg == gidx
                Yg = np.concatenate([np.cumsum(in_g[::-1])[::-1], [0]]).astype(float)[first_ge]
                ncg = np.bincount(cidx[cens & in_g], minlength=ctimes.size).astype(float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    inc = np.where(ncg[:, None] > 0, q[gidx] * (ncg / Yg**2)[:, None], 0.0)
                ss2 = -np.cumsum(inc, axis=0)  # - int_{u <= t_j} q dN^c_g / pi_g^2
                j = np.nonzero(in_g)[0]
                lastc = np.searchsorted(ctimes, t[j], side="right") - 1
                has = lastc >= 0
                u[j[has]] += ss2[lastc[has]]
                jc = np.nonzero(in_g & cens)[0]
                u[jc] += q[gidx][cidx[jc]] / Yg[cidx[jc]][:, None]  # + q_g dN^c_j / pi_g
        self._psi_resid = u - self._eta_resid  # censoring-weight part of u_j
        V2 = u.T @ u
        hinv = np.linalg.inv(info)
        var = hinv @ V2 @ hinv.T
        self.information_ = pd.DataFrame(info, index=self._names, columns=self._names)
        self.var_ = pd.DataFrame(var, index=self._names, columns=self._names)
        self.se_ = pd.Series(np.sqrt(np.diag(var)), index=self._names, name="se(coef)")
        # crr's bfitj on the original (uncentred) covariate scale
        self.uftime_ = self._uft
        self.bfitj_ = dL * np.exp(-float(self._x_mean @ b))
        self._K = K

    @property
    def summary(self) -> pd.DataFrame:
        """``summary(crr_fit)``: coef, exp(coef), se(coef), z, p-value, CI of exp(coef)."""
        if not hasattr(self, "coef_"):
            raise RuntimeError("call fit() first")
        b = self.coef_.to_numpy()
        se = self.se_.to_numpy()
        z = stats.norm.ppf(1 - (1 - self.conf_level) / 2)
        lo = f"{100 * (1 - self.conf_level) / 2:g}%"
        hi = f"{100 * (1 - (1 - self.conf_level) / 2):g}%"
        return pd.DataFrame(
            {
                "coef": b,
                "exp(coef)": np.exp(b),
                "se(coef)": se,
                "z": b / se,
                "p-value": 2 * stats.norm.sf(np.abs(b) / se),
                f"exp(coef) {lo}": np.exp(b - z * se),
                f"exp(coef) {hi}": np.exp(b + z * se),
            },
            index=pd.Index(self._names, name="covariate"),
        )

    @property
    def log_likelihood_ratio_test_(self) -> tuple[float, int, float]:
        """(statistic, df, p) of ``-2 (loglik_null - loglik)`` (summary.crr's ``logtest``)."""
        stat = -2 * (self.loglik_null_ - self.loglik_)
        df = self.coef_.size
        return stat, df, float(stats.chi2.sf(stat, df))

    def predict_cif(self, X_new: Any) -> pd.DataFrame:
        """Predicted CIF at each failure time for each row, as ``predict.crr``:
        ``1 - exp(-cumsum(bfitj) exp(x'b))``."""
        if isinstance(X_new, pd.DataFrame):
            Xn = X_new[self._names].to_numpy(dtype=float)
        else:
            Xn = np.atleast_2d(np.asarray(X_new, dtype=float))
        lp = Xn @ self.coef_.to_numpy()
        H = np.cumsum(self.bfitj_)[:, None] * np.exp(lp)[None, :]
        return pd.DataFrame(1 - np.exp(-H), index=pd.Index(self.uftime_, name="time"))

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Forest plot of subdistribution hazard ratios with confidence intervals."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        s = self.summary
        y = np.arange(len(s))[::-1]
        hr = s["exp(coef)"].to_numpy()
        lo = s.iloc[:, 5].to_numpy()
        hi = s.iloc[:, 6].to_numpy()
        ax.errorbar(hr, y, xerr=[hr - lo, hi - hr], fmt="o", capsize=3, **kwargs)
        ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
        ax.set_xscale("log")
        ax.set_yticks(y)
        ax.set_yticklabels(s.index)
        ax.set_xlabel("subdistribution hazard ratio")
        return ax
