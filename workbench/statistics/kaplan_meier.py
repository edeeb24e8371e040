"""Kaplan-Meier survival curves and the log-rank test, validated against R's ``survival``.

Reference: R 4.2.2, survival 3.5-3, ``survfit(Surv(time, status) ~ 1)`` (or
``Surv(entry, time, status)`` for delayed entry), ``print.survfit``, ``quantile.survfit``,
``summary.survfit`` and ``survdiff``.  Every output below names the R quantity it
reproduces; the tests check them to 1e-6 relative (most agree to ~1e-13).

Notation
--------
Observation ``j`` has case weight ``w_j > 0``, risk interval ``(e_j, s_j]`` (``e_j = -inf``
without delayed entry) and event indicator ``delta_j``.  At each distinct exit time ``t``
(R reports every distinct exit time, event or censoring)::

    n.risk  Y(t) = sum_j w_j [e_j < t <= s_j]        (weighted, as R's survfit)
    n.event d(t) = sum_j w_j [s_j = t, delta_j = 1]
    surv    S(t) = prod_{u <= t} (1 - d(u) / Y(u))   (Kaplan-Meier)

Variance (``std.err`` is the standard error of ``S(t)``, as ``summary.survfit`` prints):

* ``"greenwood"``: ``var log S(t) = sum_{u<=t} d / (Y (Y - d))`` and
  ``std.err = S(t) sqrt(var log S)``.  R uses it unless some weight is non-integer.
* ``"ij"`` (infinitesimal jackknife): ``var S(t) = sum_j (w_j dS(t)/dw_j)^2``.  R's
  ``survfit`` switches to it by default when any weight is non-integer
  (``robust=TRUE``); ``variance="auto"`` follows the same rule.

Confidence limits follow R's ``survfit_confint``: for ``conf_type="log"`` (R's default)
``S exp(+-z se/S)`` capped at 1; ``"log-log"`` (lifelines' only choice)
``S^exp(+-z se/(S log S))``; ``"plain"`` ``S +- z se`` clipped to [0, 1].

Ties: as R (``timefix=TRUE``), times closer than ``sqrt(machine eps)`` (absolutely or
relative to the mean absolute time) are merged before anything is counted
(``survival::aeqSurv``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

ConfType = Literal["log", "log-log", "plain"]
VarianceType = Literal["auto", "greenwood", "ij"]

_TOL = float(np.sqrt(np.finfo(float).eps))  # R's sqrt(.Machine$double.eps)

__all__ = [
    "KaplanMeier",
    "KaplanMeierGroups",
    "LogRankResult",
    "fit_groups",
    "logrank_test",
]


# ---------------------------------------------------------------------------------------
# Shared helpers (also used by competing_risks.py and rmst.py)
# ---------------------------------------------------------------------------------------


def _as_float(x: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=float).reshape(-1)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains missing values; drop or impute them first")
    return arr


def _prepare(
    durations: ArrayLike,
    entry: ArrayLike | None,
    weights: ArrayLike | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Validate durations/entry/weights; entry defaults to -inf (no delayed entry)."""
    stop = _as_float(durations, "durations")
    n = stop.size
    if n == 0:
        raise ValueError("no observations")
    if not np.isfinite(stop).all():
        raise ValueError("durations must be finite")
    if entry is None:
        start = np.full(n, -np.inf)
    else:
        start = _as_float(entry, "entry")
        if start.size != n:
            raise ValueError("entry and durations have different lengths")
        if (start >= stop).any():
            # R: "Stop time must be > start time, NA created"
            raise ValueError("every entry time must be strictly before its exit time")
    if weights is None:
        w = np.ones(n)
    else:
        w = _as_float(weights, "weights")
        if w.size != n:
            raise ValueError("weights and durations have different lengths")
        if not (np.isfinite(w).all() and (w > 0).all()):
            raise ValueError("weights must be finite and strictly positive")
    return stop, start, w


def aeq_times(
    stop: NDArray[np.float64],
    entry: NDArray[np.float64] | None = None,
    tolerance: float = _TOL,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Merge nearly-equal times exactly as R's ``survival::aeqSurv`` (``timefix=TRUE``).

    Unique finite time values (exit times and, for delayed entry, entry times) closer than
    ``tolerance`` in absolute terms, or relative to their mean absolute value, are replaced
    by the smallest of each run, so floating-point noise such as ``0.1 + 0.2`` vs ``0.3``
    does not create two distinct times.
    """
    vals = stop if entry is None else np.concatenate([stop, entry])
    y = np.unique(vals[np.isfinite(vals)])
    if y.size < 2:
        return stop, entry
    dy = np.diff(y)
    tied = (dy <= tolerance) | (dy / np.mean(np.abs(y)) <= tolerance)
    if not tied.any():
        return stop, entry
    cuts = y[np.concatenate([[True], ~tied])]

    def fix(x: NDArray[np.float64]) -> NDArray[np.float64]:
        out = x.copy()
        fin = np.isfinite(x)
        out[fin] = cuts[np.searchsorted(cuts, x[fin], side="right") - 1]
        return out

    new_stop = fix(stop)
    new_entry = None if entry is None else fix(entry)
    if new_entry is not None and (new_entry >= new_stop).any():
        raise ValueError("aeqSurv exception, an interval has effective length 0")
    return new_stop, new_entry


def conf_int(
    p: NDArray[np.float64],
    se: NDArray[np.float64],
    *,
    logse: bool,
    conf_type: str,
    conf_level: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pointwise limits exactly as R's ``survival:::survfit_confint``.

    ``se`` is the standard error of ``-log p`` when ``logse`` (Greenwood) and of ``p``
    otherwise (infinitesimal jackknife).  Undefined limits (``p = 0`` for log, ``p`` in
    {0, 1} for log-log) are NaN, as R's NA.
    """
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if not logse:
            se = np.where(se == 0, 0.0, se / p)
        if conf_type == "plain":
            se2 = se * p * z
            lower = _r_pmax(p - se2, 0.0)
            upper = _r_pmin(p + se2, 1.0)
        elif conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            se2 = z * se
            lower = np.exp(np.log(xx) - se2)
            upper = _r_pmin(np.exp(np.log(xx) + se2), 1.0)
        elif conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            se2 = z * se / np.log(xx)
            lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        else:
            raise ValueError(f"conf_type must be 'log', 'log-log' or 'plain', not {conf_type!r}")
    return lower, upper


def _r_pmin(x: NDArray[np.float64], c: float) -> NDArray[np.float64]:
    # R's pmin propagates NA/NaN, like np.minimum
    return np.minimum(x, c)


def _r_pmax(x: NDArray[np.float64], c: float) -> NDArray[np.float64]:
    return np.maximum(x, c)


@dataclass
class _RiskSets:
    """Counts at each distinct exit time for a (possibly competing-risks) sample."""

    time: NDArray[np.float64]  # (T,) distinct exit times
    a: NDArray[np.intp]  # (n,) first time index with time > entry
    b: NDArray[np.intp]  # (n,) time index of own exit
    cause: NDArray[np.intp]  # (n,) 0 = censored, 1..K = cause
    w: NDArray[np.float64]  # (n,)
    n_risk_w: NDArray[np.float64]  # (T,) weighted at risk
    n_risk: NDArray[np.float64]  # (T,) unweighted count at risk
    d_w: NDArray[np.float64]  # (T, K) weighted events per cause
    d: NDArray[np.float64]  # (T, K) event counts per cause
    c_w: NDArray[np.float64]  # (T,) weighted censorings
    c: NDArray[np.float64]  # (T,) censoring counts
    n_enter: NDArray[np.float64]  # (T,) unweighted entries in (previous time, time]


def _risk_sets(
    stop: NDArray[np.float64],
    entry: NDArray[np.float64],
    cause: NDArray[np.intp],
    w: NDArray[np.float64],
    n_causes: int,
) -> _RiskSets:
    time = np.unique(stop)
    T = time.size
    b = np.searchsorted(time, stop)
    # first exit time strictly after entry: subject is at risk at time index a..b
    a = np.searchsorted(time, entry, side="right")

    def at_risk(weight: NDArray[np.float64]) -> NDArray[np.float64]:
        enter = np.bincount(a, weight, minlength=T + 1)[:T]
        leave = np.bincount(b, weight, minlength=T)
        # entered by i minus left strictly before i; difference of two cumsums
        return np.cumsum(enter) - (np.cumsum(leave) - leave)

    ones = np.ones_like(w)
    d_w = np.zeros((T, n_causes))
    d = np.zeros((T, n_causes))
    for k in range(1, n_causes + 1):
        sel = cause == k
        d_w[:, k - 1] = np.bincount(b[sel], w[sel], minlength=T)
        d[:, k - 1] = np.bincount(b[sel], minlength=T)
    cens = cause == 0
    return _RiskSets(
        time=time,
        a=a,
        b=b,
        cause=cause,
        w=w,
        n_risk_w=at_risk(w),
        n_risk=at_risk(ones),
        d_w=d_w,
        d=d,
        c_w=np.bincount(b[cens], w[cens], minlength=T).astype(float),
        c=np.bincount(b[cens], minlength=T).astype(float),
        n_enter=np.bincount(a, minlength=T + 1)[:T].astype(float),
    )


def _product_limit_ij(rs: _RiskSets) -> tuple[
    NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]
]:
    """Aalen-Johansen estimate and infinitesimal-jackknife standard errors.

    States: 0 = event-free, k = 1..K absorbing causes.  With ``h_i = d_i / Y_i`` and
    ``h_ki = d_ki / Y_i`` at time index i (weighted)::

        S_i  = prod_{l<=i} (1 - h_l)                 (all-cause Kaplan-Meier, R pstate[,1])
        F_ki = sum_{l<=i} S_{l-1} h_kl               (cumulative incidence, R pstate[,k+1])

    The influence of observation j (derivative with respect to its weight, R's
    ``survfitci.c``/``survfitkm.c`` recursion ``U <- U H + p dH_j``) is, for times i before
    S reaches 0, in closed form with ``G_i = sum_{l<=i} h_l / (Y_l (1 - h_l))``,
    ``gamma_j = G_{a_j - 1}`` (G at entry) and ``Q, R`` running sums of
    ``S_{l-1} G_{l-1} h_kl`` and ``S_{l-1} h_kl / Y_l``:

    * while at risk (``a_j <= i < b_j``): ``U_j0 = S_i (G_i - gamma_j)``,
      ``U_jk = (Q - R)_ki - beta_jk - gamma_j F_ki``;
    * after exit (``i >= b_j``): ``U_j0 = S_i c0_j``, ``U_jk = m_jk + c0_j F_ki``;
    * before entry: 0.

    The IJ variance ``sum_j w_j^2 U_j^2`` is then a handful of cumulative sums over
    subjects, so the whole computation is O(n log n) (the sort) + O(n K) - no per-time
    loop over subjects.  If every subject at risk at some time fails (S drops to 0) the
    influences are evaluated there directly and stay frozen afterwards, as in R.

    Returns (S, F (T,K), se of S, se of F (T,K)).
    """
    T = rs.time.size
    K = rs.d_w.shape[1]
    Y = rs.n_risk_w
    dk = rs.d_w
    dtot = dk.sum(axis=1)
    # Y > 0 at every exit time because the exiting subject is at risk there
    h = dtot / Y
    hk = dk / Y[:, None]
    # exact detection of "everyone at risk failed" (floating h may miss exact 1)
    all_fail = (rs.d.sum(axis=1) == rs.n_risk) & (dtot > 0)
    istar = int(np.argmax(all_fail)) if all_fail.any() else T
    one_minus_h = 1.0 - h
    one_minus_h[istar:] = np.where(all_fail[istar:], 0.0, one_minus_h[istar:])
    S = np.cumprod(one_minus_h)
    S[istar:] = 0.0
    S_prev = np.concatenate([[1.0], S[:-1]])
    F = np.cumsum(S_prev[:, None] * hk, axis=0)

    w2 = rs.w**2
    a, b = rs.a, rs.b
    cause = rs.cause
    n = a.size

    # --- quantities on the finite range i < istar --------------------------------------
    m = istar  # number of grid points with finite G
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(h[:m] > 0, h[:m] / (Y[:m] * one_minus_h[:m]), 0.0)
    G = np.cumsum(g)
    G_prev = np.concatenate([[0.0], G[:-1]]) if m else G
    Qk = np.cumsum((S_prev[:m] * G_prev)[:, None] * hk[:m], axis=0)
    Rk = np.cumsum((S_prev[:m] / Y[:m])[:, None] * hk[:m], axis=0)
    alpha = Qk - Rk  # (m, K)

    def at_index(arr: NDArray[np.float64], idx: NDArray[np.intp]) -> NDArray[np.float64]:
        """arr[idx] with arr[-1] := 0 (value 'before the first time')."""
        pad = np.concatenate([np.zeros((1,) + arr.shape[1:]), arr], axis=0)
        return pad[idx + 1]

    # subjects that enter before istar contribute on the finite range
    enters = a < m
    aa = np.minimum(a, m)  # clamp (subjects entering after istar never matter)
    gamma = np.where(enters, at_index(G, aa - 1) if m else 0.0, 0.0)
    beta = np.where(
        enters[:, None],
        (at_index(Qk, aa - 1) - at_index(Rk, aa - 1) - gamma[:, None] * at_index(F[:m], aa - 1))
        if m
        else 0.0,
        0.0,
    )

    def interval_sum(values: NDArray[np.float64], lo: NDArray[np.intp], hi: NDArray[np.intp]):
        """sum_j values_j [lo_j <= i < hi_j] for i in 0..m-1 (difference array)."""
        shape = (m + 1,) + values.shape[1:]
        acc = np.zeros(shape)
        lo_c = np.minimum(lo, m)
        hi_c = np.minimum(hi, m)
        np.add.at(acc, lo_c, values)
        np.add.at(acc, hi_c, -values)
        return np.cumsum(acc, axis=0)[:m]

    def exit_sum(values: NDArray[np.float64], at: NDArray[np.intp]) -> NDArray[np.float64]:
        """sum_j values_j [at_j <= i] for i in 0..m-1."""
        return interval_sum(values, at, np.full(at.size, m))

    var0 = np.zeros(T)
    vark = np.zeros((T, K))
    if m > 0:
        # class (b): at risk, a_j <= i < b_j
        lo, hi = a, b
        W0 = interval_sum(w2, lo, hi)
        C1 = interval_sum(w2 * gamma, lo, hi)
        C2 = interval_sum(w2 * gamma**2, lo, hi)
        B1 = interval_sum(w2[:, None] * beta, lo, hi)
        B2 = interval_sum(w2[:, None] * beta**2, lo, hi)
        BC = interval_sum((w2 * gamma)[:, None] * beta, lo, hi)
        Fm = F[:m]
        vb_k = (
            alpha**2 * W0[:, None]
            - 2 * alpha * B1
            + B2
            - 2 * alpha * Fm * C1[:, None]
            + 2 * Fm * BC
            + Fm**2 * C2[:, None]
        )
        vb_0 = S[:m] ** 2 * (G**2 * W0 - 2 * G * C1 + C2)

        # class (c): exited at b_j < istar
        ex = b < m
        bj = b[ex]
        delta = (cause[ex] > 0).astype(float)
        c0 = G[bj] - gamma[ex] - delta / (Y[bj] * one_minus_h[bj])
        ind = np.zeros((bj.size, K))
        has = cause[ex] > 0
        ind[np.nonzero(has)[0], cause[ex][has] - 1] = 1.0
        U_b = (
            alpha[bj]
            - beta[ex]
            - gamma[ex][:, None] * Fm[bj]
            + ind * (S_prev[bj] / Y[bj])[:, None]
        )
        mjk = U_b - c0[:, None] * Fm[bj]
        w2e = w2[ex]
        M2 = exit_sum(w2e[:, None] * mjk**2, bj)
        MC = exit_sum((w2e * c0)[:, None] * mjk, bj)
        CC = exit_sum(w2e * c0**2, bj)
        vc_k = M2 + 2 * Fm * MC + Fm**2 * CC[:, None]
        vc_0 = S[:m] ** 2 * CC
        var0[:m] = vb_0 + vc_0
        vark[:m] = vb_k + vc_k

    if istar < T:
        # influences at istar - 1 for every subject, then one explicit AJ step
        i1 = istar - 1
        U0 = np.zeros(n)
        Uk = np.zeros((n, K))
        if i1 >= 0:
            at_risk_b = (a <= i1) & (i1 < b)
            exited = b <= i1
            U0[at_risk_b] = S[i1] * (G[i1] - gamma[at_risk_b])
            Uk[at_risk_b] = alpha[i1] - beta[at_risk_b] - gamma[at_risk_b][:, None] * F[i1]
            ex = np.nonzero(exited)[0]
            bj = b[ex]
            delta = (cause[ex] > 0).astype(float)
            c0 = G[bj] - gamma[ex] - delta / (Y[bj] * one_minus_h[bj])
            ind = np.zeros((ex.size, K))
            has = cause[ex] > 0
            ind[np.nonzero(has)[0], cause[ex][has] - 1] = 1.0
            U_b = alpha[bj] - beta[ex] - gamma[ex][:, None] * F[bj] + ind * (
                S_prev[bj] / Y[bj]
            )[:, None]
            U0[ex] = S[i1] * c0
            Uk[ex] = U_b - c0[:, None] * F[bj] + c0[:, None] * F[i1]
        Yj = ((a <= istar) & (istar <= b)).astype(float)
        ind = np.zeros((n, K))
        ev = (b == istar) & (cause > 0)
        ind[np.nonzero(ev)[0], cause[ev] - 1] = 1.0
        Uk_star = (
            Uk + U0[:, None] * hk[istar] + S_prev[istar] * (ind - Yj[:, None] * hk[istar]) / Y[istar]
        )
        vark[istar:] = (w2[:, None] * Uk_star**2).sum(axis=0)
        var0[istar:] = 0.0

    se0 = np.sqrt(np.maximum(var0, 0.0))
    sek = np.sqrt(np.maximum(vark, 0.0))
    return S, F, se0, sek


def _minmin(y: NDArray[np.float64], x: NDArray[np.float64]) -> float:
    """Median as R's ``print.survfit`` (``survmean``'s ``minmin``).

    First time the curve is below 0.5 (within sqrt(eps)); if the curve sits exactly at
    0.5 over a flat segment, the midpoint of that segment.
    """
    keep = ~np.isnan(y) & (y < 0.5 + _TOL)
    if not keep.any():
        return float("nan")
    xs = x[keep]
    ys = y[keep]
    if abs(ys[0] - 0.5) < _TOL and (ys < ys[0]).any():
        return float((xs[0] + xs[np.argmax(ys < ys[0])]) / 2)
    return float(xs[0])


def _findq(x: NDArray[np.float64], y: NDArray[np.float64], p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Quantiles as R's ``survival:::findq`` (used by ``quantile.survfit``).

    ``x`` starts with the start time and ``y = c(0, 1 - surv)``.  Where the curve is flat
    at exactly ``1 - p`` the quantile is the midpoint of the flat segment.
    """
    out = np.full(p.size, np.nan)
    if np.all(np.isnan(y)) or np.nanmax(y) < p.min():
        return out
    xmax = x[-1]
    # drop duplicated y (R's duplicated() keeps the first; NA counts as a value)
    _, first = np.unique(np.where(np.isnan(y), np.inf, y), return_index=True)
    first = np.sort(first)
    x = x[first]
    y = y[first]
    n = y.size
    ok = ~np.isnan(y)
    yy = y[ok]
    idx = np.arange(1, n + 1)[ok]
    # approx() sorts its knots: the confidence curves need not be monotone
    srt = np.argsort(yy, kind="stable")
    yy, idx = yy[srt], idx[srt]

    def approx_const_f1(knots: NDArray[np.float64], xout: float) -> float:
        # approx(knots, idx, xout, method="constant", f=1): rule=1 -> NA outside range
        if knots.size == 0 or xout < knots[0] or xout > knots[-1]:
            return float("nan")
        j = int(np.searchsorted(knots, xout, side="left"))
        return float(idx[j])

    for t, pt in enumerate(p):
        i1 = approx_const_f1(yy + _TOL, pt)
        i2 = approx_const_f1(yy - _TOL, pt)
        v1 = x[int(i1) - 1] if not np.isnan(i1) else np.nan
        v2 = x[int(i2) - 1] if not np.isnan(i2) else np.nan
        q = (v1 + v2) / 2
        if pt == 0:
            q = x[0]
        if not np.isnan(y[-1]) and abs(pt - y[-1]) < _TOL:
            q = (v1 + xmax) / 2
        out[t] = q
    return out


# ---------------------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------------------


class KaplanMeier:
    """Kaplan-Meier estimator matching R's ``survfit(Surv(...) ~ 1)``.

    Parameters
    ----------
    conf_type:
        ``"log"`` (R's default), ``"log-log"`` (lifelines' choice) or ``"plain"``.
    conf_level:
        Confidence level of the pointwise limits and of the median's interval.
    variance:
        ``"auto"`` (R's rule: infinitesimal jackknife if any weight is non-integer,
        Greenwood otherwise), ``"greenwood"`` or ``"ij"``.
    timefix:
        Merge times equal up to floating-point noise, as R's ``timefix=TRUE``.

    Attributes after ``fit`` (arrays indexed by ``timeline_``, every distinct exit time):
    ``n_risk_``, ``n_event_``, ``n_censor_`` (weighted, as R), ``survival_``,
    ``std_err_`` (of S, R's ``summary()$std.err``), ``lower_``, ``upper_``,
    ``cumhaz_`` (Nelson-Aalen, R's ``cumhaz``), ``median_``, ``median_ci_``,
    ``survival_table_`` (all of these as a DataFrame).
    """

    def __init__(
        self,
        conf_type: ConfType = "log",
        conf_level: float = 0.95,
        variance: VarianceType = "auto",
        timefix: bool = True,
    ) -> None:
        if conf_type not in ("log", "log-log", "plain"):
            raise ValueError("conf_type must be 'log', 'log-log' or 'plain'")
        if not 0 < conf_level < 1:
            raise ValueError("conf_level must be in (0, 1)")
        if variance not in ("auto", "greenwood", "ij"):
            raise ValueError("variance must be 'auto', 'greenwood' or 'ij'")
        self.conf_type = conf_type
        self.conf_level = conf_level
        self.variance = variance
        self.timefix = timefix

    # -- fitting --------------------------------------------------------------------
    def fit(
        self,
        durations: ArrayLike,
        events: ArrayLike | None = None,
        entry: ArrayLike | None = None,
        weights: ArrayLike | None = None,
        label: str | None = None,
    ) -> KaplanMeier:
        """Fit the curve.

        ``durations`` are exit times, ``events`` 1 = event / 0 = censored (all events if
        omitted), ``entry`` delayed-entry (left-truncation) times, ``weights`` positive
        case weights.
        """
        stop, start, w = _prepare(durations, entry, weights)
        if events is None:
            ev = np.ones(stop.size, dtype=np.intp)
        else:
            e = _as_float(events, "events")
            if e.size != stop.size:
                raise ValueError("events and durations have different lengths")
            if not np.isin(e, (0, 1)).all():
                raise ValueError("events must be 0 (censored) or 1 (event)")
            ev = e.astype(np.intp)
        if self.timefix:
            stop, new_start = aeq_times(stop, None if entry is None else start)
            if new_start is not None:
                start = new_start
        self._stop, self._start, self._events, self._weights = stop, start, ev, w
        self.has_entry_ = entry is not None
        self.label = label or "KM_estimate"

        rs = _risk_sets(stop, start, ev, w, 1)
        self._rs = rs
        Y = rs.n_risk_w
        d = rs.d_w[:, 0]
        use_ij = self.variance == "ij" or (
            self.variance == "auto" and bool(np.any(w != np.floor(w)))
        )
        self.variance_method_ = "ij" if use_ij else "greenwood"

        with np.errstate(divide="ignore", invalid="ignore"):
            has_event = (rs.d[:, 0] > 0) & (d > 0)
            # S(t) = prod (1 - d/Y) (R's survfitkm.c: km *= (n - d)/n)
            factor = np.where(has_event, (Y - d) / Y, 1.0)
            surv = np.cumprod(factor)
            haz = np.where(has_event, d / Y, 0.0)
            self.cumhaz_ = np.cumsum(haz)
            if use_ij:
                S_ij, _, se_S, _ = _product_limit_ij(rs)
                surv = S_ij
                std_err = se_S
                lower, upper = conf_int(
                    surv, se_S, logse=False, conf_type=self.conf_type, conf_level=self.conf_level
                )
            else:
                gw = np.cumsum(np.where(has_event, d / (Y * (Y - d)), 0.0))
                se_log = np.sqrt(gw)  # R's fit$std.err (se of -log S)
                std_err = se_log * surv  # R's summary()$std.err; Inf*0 -> NaN as in R
                lower, upper = conf_int(
                    surv, se_log, logse=True, conf_type=self.conf_type, conf_level=self.conf_level
                )
        self.timeline_ = rs.time
        self.n_risk_ = Y
        self.n_event_ = d
        self.n_censor_ = rs.c_w
        self.n_enter_ = rs.n_enter
        self.survival_ = surv
        self.std_err_ = std_err
        self.lower_ = lower
        self.upper_ = upper
        self.n_ = stop.size
        self.events_ = float(d.sum())
        self.median_ = _minmin(surv, rs.time)
        self.median_ci_ = (_minmin(lower, rs.time), _minmin(upper, rs.time))
        self.survival_table_ = pd.DataFrame(
            {
                "time": rs.time,
                "n.risk": Y,
                "n.event": d,
                "n.censor": rs.c_w,
                "surv": surv,
                "std.err": std_err,
                "lower": lower,
                "upper": upper,
                "cumhaz": self.cumhaz_,
            }
        )
        return self

    def _check(self) -> None:
        if not hasattr(self, "timeline_"):
            raise RuntimeError("call fit() first")

    # -- results ----------------------------------------------------------------------
    @property
    def start_time_(self) -> float:
        """R's start time: ``min(0, times)``."""
        self._check()
        return float(min(0.0, self.timeline_.min()))

    def event_table(self) -> pd.DataFrame:
        """Rows at event times only, as R's ``summary(fit)`` (``censored=FALSE``).

        ``n.censor`` is then the number censored since the previous printed row.
        """
        self._check()
        tab = self.survival_table_
        keep = self._rs.d[:, 0] > 0
        out = tab.loc[keep, ["time", "n.risk", "n.event", "surv", "std.err", "lower", "upper"]]
        return out.reset_index(drop=True)

    @property
    def summary(self) -> pd.DataFrame:
        """One row as R's ``print.survfit``: records, events, median and its CI."""
        self._check()
        pct = f"{self.conf_level:g}"
        return pd.DataFrame(
            {
                "n": [self.n_],
                "events": [self.events_],
                "median": [self.median_],
                f"{pct}LCL": [self.median_ci_[0]],
                f"{pct}UCL": [self.median_ci_[1]],
            },
            index=[self.label],
        )

    def quantile(self, probs: float | Sequence[float] = (0.25, 0.5, 0.75)) -> pd.DataFrame:
        """Quantiles of the event time with CI, as R's ``quantile.survfit``.

        Returns columns quantile, lower, upper (lower from the lower curve, R's naming).
        May differ from ``median_`` only when the curve ends exactly at 0.5.
        """
        self._check()
        p = np.atleast_1d(np.asarray(probs, dtype=float))
        if ((p < 0) | (p > 1)).any():
            raise ValueError("probabilities must be in [0, 1]")
        x = np.concatenate([[0.0], self.timeline_])  # R: xmin = 0 unless start.time
        res = {
            "quantile": _findq(x, np.concatenate([[0.0], 1 - self.survival_]), p),
            "lower": _findq(x, np.concatenate([[0.0], 1 - self.lower_]), p),
            "upper": _findq(x, np.concatenate([[0.0], 1 - self.upper_]), p),
        }
        return pd.DataFrame(res, index=pd.Index(p, name="p"))

    def survival_at(self, times: ArrayLike, extend: bool = False) -> pd.DataFrame:
        """Survival, std.err and limits at given times, as R's ``summary(fit, times=)``.

        Before the first exit time S = 1 (R's ``survfit0`` row).  Beyond the last exit
        time the rows are NaN unless ``extend=True`` (R drops them).
        """
        self._check()
        t = np.atleast_1d(np.asarray(times, dtype=float))
        tl = np.concatenate([[self.start_time_], self.timeline_])
        surv = np.concatenate([[1.0], self.survival_])
        se = np.concatenate([[0.0], self.std_err_])
        lo = np.concatenate([[1.0], self.lower_])
        up = np.concatenate([[1.0], self.upper_])
        idx = np.searchsorted(tl, t, side="right") - 1
        valid = idx >= 0
        if not extend:
            valid &= t <= self.timeline_[-1]
        j = np.clip(idx, 0, None)

        def pick(v: NDArray[np.float64]) -> NDArray[np.float64]:
            return np.where(valid, v[j], np.nan)

        return pd.DataFrame(
            {"time": t, "surv": pick(surv), "std.err": pick(se), "lower": pick(lo), "upper": pick(up)}
        )

    def predict(self, times: ArrayLike) -> NDArray[np.float64]:
        """S(t) at the given times (step function, last value carried forward)."""
        return self.survival_at(times, extend=True)["surv"].to_numpy()

    def at_risk_table(self, times: ArrayLike) -> pd.DataFrame:
        """Numbers at risk / events / censored at chosen times (for tables under plots).

        Matches R's ``summary(fit, times=)``: ``n.risk`` is the number at risk at the
        first exit time >= t (0 past the end); ``n.event``/``n.censor`` count what
        happened in (previous requested time, t].  Unweighted counts are given too.
        """
        self._check()
        t = np.sort(np.atleast_1d(np.asarray(times, dtype=float)))
        rs = self._rs
        idx_risk = np.searchsorted(self.timeline_, t, side="left")
        nr_w = np.concatenate([rs.n_risk_w, [0.0]])[idx_risk]
        nr = np.concatenate([rs.n_risk, [0.0]])[idx_risk]
        upto = np.searchsorted(self.timeline_, t, side="right")  # rows with time <= t
        cum_ev = np.concatenate([[0.0], np.cumsum(rs.d_w[:, 0])])[upto]
        cum_c = np.concatenate([[0.0], np.cumsum(rs.c_w)])[upto]
        return pd.DataFrame(
            {
                "time": t,
                "n.risk": nr_w,
                "n.event": np.diff(np.concatenate([[0.0], cum_ev])),
                "n.censor": np.diff(np.concatenate([[0.0], cum_c])),
                "n.risk.unweighted": nr,
                "cumulative.events": cum_ev,
            }
        )

    # -- plotting ---------------------------------------------------------------------
    def plot(
        self,
        ax: Any = None,
        ci: bool = True,
        censor_marks: bool = True,
        at_risk_times: ArrayLike | None = None,
        **step_kwargs: Any,
    ) -> Any:
        """Step plot of S(t) with its pointwise band; optional at-risk counts below."""
        import matplotlib.pyplot as plt

        self._check()
        if ax is None:
            _, ax = plt.subplots()
        x = np.concatenate([[self.start_time_], self.timeline_])
        y = np.concatenate([[1.0], self.survival_])
        (line,) = ax.step(x, y, where="post", label=self.label, **step_kwargs)
        colour = line.get_color()
        if ci:
            lo = np.concatenate([[1.0], self.lower_])
            up = np.concatenate([[1.0], self.upper_])
            ax.fill_between(x, np.nan_to_num(lo), np.nan_to_num(up, nan=1.0), step="post",
                            alpha=0.2, color=colour, linewidth=0)
        if censor_marks:
            cen = self._rs.c_w > 0
            ax.plot(self.timeline_[cen], self.survival_[cen], "|", color=colour, markersize=8)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("time")
        ax.set_ylabel("survival probability")
        if at_risk_times is not None:
            add_at_risk_counts(ax, {self.label: self}, at_risk_times)
        return ax


def add_at_risk_counts(ax: Any, fits: Mapping[Hashable, KaplanMeier], times: ArrayLike) -> Any:
    """Write numbers at risk under a plot, one row per curve (R/``survminer`` style)."""
    t = np.sort(np.atleast_1d(np.asarray(times, dtype=float)))
    trans = ax.get_xaxis_transform()
    for row, (name, km) in enumerate(fits.items()):
        counts = km.at_risk_table(t)["n.risk.unweighted"].to_numpy()
        y = -0.18 - 0.07 * row
        ax.text(t[0], y, f"{name}", transform=trans, ha="right", va="top", fontsize=8,
                clip_on=False)
        for ti, c in zip(t, counts, strict=True):
            ax.text(ti, y, f"{int(round(c))}", transform=trans, ha="center", va="top",
                    fontsize=8, clip_on=False)
    return ax


# ---------------------------------------------------------------------------------------
# Groups and the log-rank test
# ---------------------------------------------------------------------------------------


@dataclass
class LogRankResult:
    """Result of :func:`logrank_test` (R's ``survdiff``)."""

    groups: list[Hashable]
    n: NDArray[np.float64]
    observed: NDArray[np.float64]
    expected: NDArray[np.float64]
    var: NDArray[np.float64]
    chisq: float
    df: int
    p_value: float
    rho: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame:
        """Table as printed by R's ``print.survdiff``."""
        o, e = self.observed, self.expected
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.DataFrame(
                {
                    "N": self.n,
                    "Observed": o,
                    "Expected": e,
                    "(O-E)^2/E": (o - e) ** 2 / e,
                    "(O-E)^2/V": (o - e) ** 2 / np.diag(self.var),
                },
                index=pd.Index(self.groups, name="group"),
            )


def _sorted_levels(values: NDArray[Any]) -> list[Hashable]:
    """Group order as R's ``factor()``: sorted unique values (categoricals keep order)."""
    ser = pd.Series(values)
    if isinstance(ser.dtype, pd.CategoricalDtype):
        return [c for c in ser.cat.categories if (ser == c).any()]
    return list(pd.unique(ser.sort_values()))


def logrank_test(
    durations: ArrayLike,
    events: ArrayLike,
    groups: ArrayLike,
    strata: ArrayLike | None = None,
    rho: float = 0.0,
    timefix: bool = True,
) -> LogRankResult:
    """G-rho family test of equal survival, as R's ``survdiff(Surv(t, e) ~ g, rho=)``.

    At each distinct event time (within stratum), with pooled left-continuous KM
    ``S(t-)`` and weight ``W = S(t-)^rho`` (``rho=0``: the log-rank test)::

        O_g = sum W d_g,    E_g = sum W d n_g / n
        V_gh = sum W^2 d (n - d) / (n^2 (n - 1)) n_g (delta_gh n - n_h)

    summed over strata; ``chisq = (O-E)' V^- (O-E)`` on the groups with ``E > 0`` less one
    (R drops the first), with df = (number of groups with E > 0) - 1.  Right-censored data
    only, unweighted, as ``survdiff``.
    """
    t = _as_float(durations, "durations")
    e = _as_float(events, "events")
    g = np.asarray(groups).reshape(-1)
    if not (t.size == e.size == g.size):
        raise ValueError("durations, events and groups must have the same length")
    if not np.isin(e, (0, 1)).all():
        raise ValueError("events must be 0/1")
    if timefix:
        t, _ = aeq_times(t)
    levels = _sorted_levels(g)
    gi = pd.Categorical(g, categories=levels).codes.astype(np.intp)
    ng = len(levels)
    if ng < 2:
        raise ValueError("There is only 1 group")
    st = np.zeros(t.size, dtype=np.intp) if strata is None else pd.factorize(
        np.asarray(strata).reshape(-1), sort=True)[0]

    obs = np.zeros(ng)
    exp = np.zeros(ng)
    var = np.zeros((ng, ng))
    for s in np.unique(st):
        sel = st == s
        ts, es, gs = t[sel], e[sel], gi[sel]
        times = np.unique(ts)
        T = times.size
        idx = np.searchsorted(times, ts)
        # at-risk by group: number with time >= t
        cnt = np.zeros((T, ng))
        np.add.at(cnt, (idx, gs), 1.0)
        n_g = np.cumsum(cnt[::-1], axis=0)[::-1]
        dg = np.zeros((T, ng))
        np.add.at(dg, (idx, gs), es)
        n = n_g.sum(axis=1)
        d = dg.sum(axis=1)
        # pooled KM just before each time (left-continuous)
        km = np.cumprod(np.where(n > 0, (n - d) / np.where(n > 0, n, 1), 1.0))
        km_prev = np.concatenate([[1.0], km[:-1]])
        W = km_prev**rho if rho != 0 else np.ones(T)
        ev = d > 0
        obs += (W[:, None] * dg)[ev].sum(axis=0)
        exp += ((W[ev] * d[ev] / n[ev])[:, None] * n_g[ev]).sum(axis=0)
        multi = ev & (n > 1)
        kt = W[multi] ** 2 * d[multi] * (n[multi] - d[multi]) / (n[multi] ** 2 * (n[multi] - 1))
        ngm = n_g[multi]
        nm = n[multi]
        var += np.einsum("t,tg,gh->gh", kt * nm, ngm, np.eye(ng)) - np.einsum(
            "t,tg,th->gh", kt, ngm, ngm
        )
    keep = exp > 0
    if keep.sum() < 2:
        chisq = 0.0
    else:
        diff = (obs - exp)[keep][1:]
        vv = var[np.ix_(keep, keep)][1:, 1:]
        chisq = float(np.sum(np.linalg.solve(vv, diff) * diff))
    df = int(keep.sum()) - 1
    pval = float(stats.chi2.sf(chisq, df)) if df > 0 else float("nan")
    counts = np.bincount(gi, minlength=ng).astype(float)
    return LogRankResult(
        groups=levels, n=counts, observed=obs, expected=exp, var=var, chisq=chisq, df=df,
        p_value=pval, rho=rho,
    )


class KaplanMeierGroups:
    """One :class:`KaplanMeier` per group (R's ``survfit(Surv(...) ~ group)``)."""

    def __init__(self, fits: dict[Hashable, KaplanMeier], data: dict[str, NDArray[Any]]) -> None:
        self.fits_ = fits
        self._data = data

    def __getitem__(self, key: Hashable) -> KaplanMeier:
        return self.fits_[key]

    def __iter__(self) -> Iterable[Hashable]:
        return iter(self.fits_)

    def __len__(self) -> int:
        return len(self.fits_)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per group, as R's ``print.survfit`` with strata."""
        return pd.concat([km.summary for km in self.fits_.values()])

    def logrank(self, rho: float = 0.0) -> LogRankResult:
        """Log-rank (G-rho) test across the groups (R's ``survdiff``)."""
        d = self._data
        if d.get("entry") is not None or d.get("weights") is not None:
            raise ValueError("survdiff supports only unweighted right-censored data")
        return logrank_test(d["durations"], d["events"], d["groups"], rho=rho)

    def plot(self, ax: Any = None, ci: bool = True, at_risk_times: ArrayLike | None = None,
             **kwargs: Any) -> Any:
        """All curves on one axis; optional at-risk table below."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        for km in self.fits_.values():
            km.plot(ax=ax, ci=ci, **kwargs)
        ax.legend()
        if at_risk_times is not None:
            add_at_risk_counts(ax, self.fits_, at_risk_times)
        return ax


def fit_groups(
    df: pd.DataFrame,
    duration_col: str,
    event_col: str,
    group_col: str,
    entry_col: str | None = None,
    weights_col: str | None = None,
    **km_kwargs: Any,
) -> KaplanMeierGroups:
    """Fit a Kaplan-Meier curve per level of ``group_col`` (sorted, as R's factor).

    Keyword arguments go to :class:`KaplanMeier` (``conf_type``, ``conf_level``, ...).
    """
    g = df[group_col].to_numpy()
    levels = _sorted_levels(g)
    fits: dict[Hashable, KaplanMeier] = {}
    for lev in levels:
        sub = df.loc[df[group_col] == lev]
        fits[lev] = KaplanMeier(**km_kwargs).fit(
            sub[duration_col],
            sub[event_col],
            entry=None if entry_col is None else sub[entry_col],
            weights=None if weights_col is None else sub[weights_col],
            label=f"{group_col}={lev}",
        )
    data = {
        "durations": df[duration_col].to_numpy(),
        "events": df[event_col].to_numpy(),
        "groups": g,
        "entry": None if entry_col is None else df[entry_col].to_numpy(),
        "weights": None if weights_col is None else df[weights_col].to_numpy(),
    }
    return KaplanMeierGroups(fits, data)
