"""Counting-process risk sets and the product-limit estimator shared by the survival fitters.

Kaplan-Meier (:mod:`~workbench.statistics.kaplan_meier`), Aalen-Johansen
(:mod:`~workbench.statistics.aalen_johansen`), the log-rank and Gray's tests and RMST all count
the same things - who is at risk and who has an event of which cause at each distinct exit time -
and the two curve fitters share one estimator: the Aalen-Johansen product limit with its
infinitesimal-jackknife variance (Kaplan-Meier is its one-cause case). R's conventions are kept
throughout: ``timefix`` merging of near-equal times (``survival::aeqSurv``), confidence limits
as ``survival:::survfit_confint`` and factor-level order as R's ``factor()``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

ConfType = Literal["log", "log-log", "plain"]

TOL = float(np.sqrt(np.finfo(float).eps))  # R's sqrt(.Machine$double.eps)


def check_interval_options(conf_type: str, conf_level: float) -> None:
    """Validate the pointwise-interval options shared by the curve fitters."""
    if conf_type not in ("log", "log-log", "plain"):
        raise ValueError("conf_type must be 'log', 'log-log' or 'plain'")
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be in (0, 1)")


def group_codes(df: pd.DataFrame, group_col: str, strata_col: str | None) -> tuple[
    list[Hashable], NDArray[np.intp], NDArray[np.intp]
]:
    """Group levels (sorted as R's factor), each row's group code and stratum code (all 0
    without strata), for the K-sample tests."""
    grp = df[group_col].to_numpy()
    levels = sorted_levels(grp)
    codes = pd.Categorical(grp, categories=levels).codes.astype(np.intp)
    strata = np.zeros(len(df), dtype=np.intp) if strata_col is None else pd.factorize(
        df[strata_col].to_numpy(), sort=True)[0]
    return levels, codes, strata


def column(df: pd.DataFrame, col: str | None) -> NDArray[Any] | None:
    """The values of ``df[col]``, or None when no column is named (an optional input)."""
    return None if col is None else df[col].to_numpy()


def as_float(x: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=float).reshape(-1)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains missing values; drop or impute them first")
    return arr


def prepare(
    durations: ArrayLike,
    entry: ArrayLike | None,
    weights: ArrayLike | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Validate durations/entry/weights; entry defaults to -inf (no delayed entry)."""
    stop = as_float(durations, "durations")
    n = stop.size
    if n == 0:
        raise ValueError("no observations")
    if not np.isfinite(stop).all():
        raise ValueError("durations must be finite")
    if entry is None:
        start = np.full(n, -np.inf)
    else:
        start = as_float(entry, "entry")
        if start.size != n:
            raise ValueError("entry and durations have different lengths")
        if (start >= stop).any():
            # R: "Stop time must be > start time, NA created"
            raise ValueError("every entry time must be strictly before its exit time")
    if weights is None:
        w = np.ones(n)
    else:
        w = as_float(weights, "weights")
        if w.size != n:
            raise ValueError("weights and durations have different lengths")
        if not (np.isfinite(w).all() and (w > 0).all()):
            raise ValueError("weights must be finite and strictly positive")
    return stop, start, w


def aeq_times(
    stop: NDArray[np.float64],
    entry: NDArray[np.float64] | None = None,
    tolerance: float = TOL,
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
class RiskSets:
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


def risk_sets(
    stop: NDArray[np.float64],
    entry: NDArray[np.float64],
    cause: NDArray[np.intp],
    w: NDArray[np.float64],
    n_causes: int,
) -> RiskSets:
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
    return RiskSets(
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


def product_limit_ij(rs: RiskSets) -> tuple[
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

    def exit_influence(ex: NDArray[Any]) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]:
        """For the subjects ``ex`` (mask or indices) that exited at ``b_j < istar``: ``b_j``,
        ``c0_j`` and the influence ``U_jk`` at their exit."""
        bj = b[ex]
        delta = (cause[ex] > 0).astype(float)
        c0 = G[bj] - gamma[ex] - delta / (Y[bj] * one_minus_h[bj])
        ind = np.zeros((bj.size, K))
        has = cause[ex] > 0
        ind[np.nonzero(has)[0], cause[ex][has] - 1] = 1.0
        return bj, c0, alpha[bj] - beta[ex] - gamma[ex][:, None] * F[bj] + ind * (S_prev[bj] / Y[bj])[:, None]

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
        bj, c0, U_b = exit_influence(ex)
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
            bj, c0, U_b = exit_influence(ex)
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


def sorted_levels(values: NDArray[Any]) -> list[Hashable]:
    """Group order as R's ``factor()``: sorted unique values (categoricals keep order)."""
    ser = pd.Series(values)
    if isinstance(ser.dtype, pd.CategoricalDtype):
        return [c for c in ser.cat.categories if (ser == c).any()]
    return list(pd.unique(ser.sort_values()))



def code_events(
    events: ArrayLike, cencode: Any, causes: Sequence[Hashable] | None
) -> tuple[NDArray[np.intp], list[Hashable]]:
    """Map event labels to 0 (censored) and 1..K (causes in sorted order, as R's factor)."""
    ev = np.asarray(events).reshape(-1)
    if pd.isna(ev).any():
        raise ValueError("events contain missing values")
    is_cens = ev == cencode
    if causes is None:
        causes = sorted_levels(ev[~is_cens]) if (~is_cens).any() else []
    causes = list(causes)
    code = np.zeros(ev.size, dtype=np.intp)
    for k, c in enumerate(causes, start=1):
        code[ev == c] = k
    unknown = (~is_cens) & (code == 0)
    if unknown.any():
        raise ValueError(f"event codes {sorted(set(ev[unknown].tolist()))} are not in causes")
    return code, causes
