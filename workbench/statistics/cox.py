"""Cox proportional-hazards regression, validated against R's ``survival::coxph``.

Model and notation
------------------
For observation ``i`` with covariates ``x_i``, case weight ``w_i``, risk interval
``(entry_i, exit_i]`` (``entry_i = -inf`` for ordinary right-censored data), event
indicator ``delta_i`` and stratum ``s_i``, the hazard is
``lambda_{s_i}(t) exp(x_i' beta)``.  ``eta_i = x_i' beta`` and ``r_i = w_i exp(eta_i)``.

Distinct event times within a stratum form *tied groups* ``g`` (time ``t_g``, stratum
``s_g``).  With ``R_g = {i : s_i = s_g, entry_i < t_g <= exit_i}`` and ``D_g`` the
events at ``t_g``::

    S0_g = sum_{R_g} r_i,        S1_g = sum_{R_g} r_i x_i
    E0_g = sum_{D_g} r_i,        E1_g = sum_{D_g} r_i x_i
    d_g  = |D_g|,                m_g  = sum_{D_g} w_i / d_g           (R's "meanwt")

Efron's approximation (R's default) expands group ``g`` into ``d_g`` "death rows"
``k = 0..d_g-1`` with ``f = k/d_g`` (Breslow: ``f = 0`` for every row)::

    D2_gk   = S0_g - f E0_g
    xbar_gk = (S1_g - f E1_g) / D2_gk
    loglik  = sum_{events} w_i eta_i - sum_{g,k} m_g log D2_gk
    U       = sum_{events} w_i x_i  - sum_{g,k} m_g xbar_gk
    I       = sum_{g,k} m_g [ (S2_g - f E2_g) / D2_gk - xbar_gk xbar_gk' ]

These are exactly the sums computed by R's ``coxfit6.c`` / ``agfit4.c``.  The
information is evaluated without forming the per-group ``S2_g`` matrices:
``sum_g c_g S2_g = X' diag(r_i C_i) X`` with ``C_i = sum_{g : i in R_g} c_g``, where
``c_g = m_g sum_k 1/D2_gk``.  Risk-set sums are suffix sums over the data sorted once by
(stratum, exit) minus suffix sums over the data sorted by (stratum, entry), because
``{entry < t <= exit} = {exit >= t} minus {entry >= t}``.

Robust variance
---------------
The score (martingale-score) residual of observation ``i`` (R's ``coxscore2.c`` /
``agscore3.c``), with hazard increments ``h_gk = m_g / D2_gk`` and ``e_i = exp(eta_i)``::

    L_i = sum_{g : i in R_g} sum_k c_igk [ delta_ig (x_i - xbar_gk)/d_g
                                           - e_i (x_i - xbar_gk) h_gk ]

where ``c_igk = 1 - k/d_g`` if ``i`` is one of the tied events of ``g`` (Efron's
down-weighting of the tied deaths) and ``1`` otherwise.  ``dfbeta = L V`` with ``V`` the
inverse information; the robust (sandwich) variance is ``D'D`` where ``D`` is the
weighted dfbeta ``w_i L_i V`` summed within cluster (each row is its own cluster when
no cluster is given) - the same as R's
``crossprod(rowsum(residuals(fit, "dfbeta", weighted=TRUE), cluster))``.

Fitting is Newton-Raphson from ``beta = 0`` with step halving when the log-likelihood
decreases, stopping when ``|1 - loglik_old / loglik_new| <= tol`` (R's ``eps = 1e-9``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from workbench.statistics.coefficients import coefficient_table, confidence_intervals

__all__ = ["CoxPH", "ConvergenceWarning"]


class ConvergenceWarning(UserWarning):
    """Raised (as a warning) when Newton-Raphson hits ``max_iter`` without converging."""


def _reverse_cumsum(a: np.ndarray) -> np.ndarray:
    """Suffix sums with a trailing zero: ``out[j] = sum(a[j:])`` (``out[n] = 0``).

    Suffix rather than prefix sums so that the small late risk sets are summed from
    their own few terms, not as a difference of two large totals.
    """
    out = np.zeros((a.shape[0] + 1,) + a.shape[1:], dtype=float)
    out[:-1] = np.cumsum(a[::-1], axis=0)[::-1]
    return out


def _prefix_cumsum(a: np.ndarray) -> np.ndarray:
    """Prefix sums with a leading zero: ``out[j] = sum(a[:j])``."""
    out = np.zeros((a.shape[0] + 1,) + a.shape[1:], dtype=float)
    np.cumsum(a, axis=0, out=out[1:])
    return out


@dataclass
class _BetaState:
    """Per-``beta`` quantities shared by the likelihood, residuals and zph."""

    eta: np.ndarray  # linear predictor (centred covariates), n
    shift: float  # constant subtracted from eta before exp() (overflow guard)
    er: np.ndarray  # exp(eta - shift), n
    r: np.ndarray  # w * er, n
    S0: np.ndarray  # G
    S1: np.ndarray  # G x p
    E0: np.ndarray  # G
    E1: np.ndarray  # G x p
    d2: np.ndarray  # death rows
    xbar: np.ndarray  # death rows x p


class _CoxData:
    """Sorted risk-set structure for one data set; built once, reused every iteration.

    Everything below is index arithmetic done once with ``argsort``/``searchsorted``;
    each Newton step is then a handful of vectorised cumulative sums.
    """

    def __init__(
        self,
        X: np.ndarray,
        exit: np.ndarray,
        status: np.ndarray,
        entry: np.ndarray | None,
        weights: np.ndarray,
        strata: np.ndarray,
        ties: str,
    ) -> None:
        n, p = X.shape
        self.n, self.p = n, p
        self.ties = ties
        self.has_entry = entry is not None

        # Integer time ranks so (stratum, time) pairs become exact sortable int64 keys.
        times = exit if entry is None else np.concatenate([exit, entry])
        uniq = np.unique(times)
        K = uniq.size + 2
        exit_rank = np.searchsorted(uniq, exit) + 1
        entry_rank = (
            np.zeros(n, dtype=np.int64) if entry is None else np.searchsorted(uniq, entry) + 1
        )
        s = strata.astype(np.int64)
        status = status.astype(bool)

        # Sort the data once by (stratum, exit, events first).  Then every risk set
        # {exit >= t} is a contiguous suffix block and the tied events of a group are
        # the first rows of their block, so S- and E-sums come from one suffix sum.
        perm = np.lexsort((~status, exit_rank, s))
        self.perm = perm
        self.X = np.ascontiguousarray(X[perm])
        self.w = weights[perm]
        self.status = status[perm]
        self.key_exit = s[perm] * K + exit_rank[perm]
        self.key_entry = s[perm] * K + entry_rank[perm]

        ev = np.flatnonzero(self.status)
        if ev.size == 0:
            raise ValueError("no events in the data: the Cox model is not estimable")
        gkeys, gstart, d = np.unique(self.key_exit[ev], return_index=True, return_counts=True)
        self.gkeys = gkeys
        self.G = gkeys.size
        self.gtime = uniq[gkeys % K - 1]
        self.gstrat = gkeys // K
        self.d = d
        self.gstart = gstart  # start of each group among the (sorted) events
        self.ev_sorted = ev
        self.row_group = np.repeat(np.arange(self.G), d)
        self.meanwt = np.add.reduceat(self.w[ev], gstart) / d
        # Death rows k = 0..d_g-1 (Efron); Breslow uses f = 0 for every row.
        k = np.arange(ev.size) - gstart[self.row_group]
        self.f = (k / d[self.row_group]) if ties == "efron" else np.zeros(ev.size)
        self.row_mw = self.meanwt[self.row_group]
        self.obs_group = np.full(n, -1, dtype=np.int64)
        self.obs_group[ev] = self.row_group
        self.wx_events = self.w[ev] @ self.X[ev]  # constant part of the score

        # Risk-set block of each group in the sorted data: [g_lo, stratum end).
        self.g_lo_exit = np.searchsorted(self.key_exit, gkeys, side="left")
        self.g_hi_exit = np.searchsorted(self.key_exit, (self.gstrat + 1) * K, side="left")
        # Rows with entry >= t_g are not yet at risk (intervals are (entry, exit]).
        if self.has_entry:
            self.ord_entry = np.argsort(self.key_entry, kind="stable")
            ke = self.key_entry[self.ord_entry]
            self.g_lo_entry = np.searchsorted(ke, gkeys, side="left")
            self.g_hi_entry = np.searchsorted(ke, (self.gstrat + 1) * K, side="left")

        # Per-observation range of groups it is at risk for: entry < t_g <= exit.
        self.i_hi = np.searchsorted(gkeys, self.key_exit, side="right")
        self.i_lo = np.searchsorted(gkeys, self.key_entry, side="right")

    # ------------------------------------------------------------------ helpers
    def unsort(self, a: np.ndarray) -> np.ndarray:
        """Per-observation array back in the caller's row order."""
        out = np.empty_like(a)
        out[self.perm] = a
        return out

    def risk_and_event_sums(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(sum_{R_g} v, sum_{D_g} v)`` for every group (``v`` n or n x p, sorted)."""
        cs = _reverse_cumsum(v)
        lo = self.g_lo_exit
        S = cs[lo] - cs[self.g_hi_exit]
        E = cs[lo] - cs[lo + self.d]
        if self.has_entry:
            ce = _reverse_cumsum(v[self.ord_entry])
            S = S - (ce[self.g_lo_entry] - ce[self.g_hi_entry])
        return S, E

    def group_sum_rows(self, v: np.ndarray) -> np.ndarray:
        """Sum of a death-row quantity within each group."""
        return np.add.reduceat(v, self.gstart, axis=0)

    def obs_cumulative(self, c: np.ndarray) -> np.ndarray:
        """``sum_{g : i in R_g} c_g`` for every observation (``c`` may be G or G x p)."""
        P = _prefix_cumsum(c)
        return P[self.i_hi] - P[self.i_lo]

    # ------------------------------------------------------------------ core
    def state(self, beta: np.ndarray) -> _BetaState:
        eta = self.X @ beta
        shift = float(eta.max()) if eta.size else 0.0
        er = np.exp(eta - shift)
        r = self.w * er
        rx = r[:, None] * self.X
        S0, E0 = self.risk_and_event_sums(r)
        S1, E1 = self.risk_and_event_sums(rx)
        g = self.row_group
        f = self.f
        d2 = S0[g] - f * E0[g]
        xbar = (S1[g] - f[:, None] * E1[g]) / d2[:, None]
        return _BetaState(eta, shift, er, r, S0, S1, E0, E1, d2, xbar)

    def loglik(self, st: _BetaState) -> float:
        ev = self.ev_sorted
        return float(np.dot(self.w[ev], st.eta[ev]) - np.dot(self.row_mw, np.log(st.d2) + st.shift))

    def score(self, st: _BetaState) -> np.ndarray:
        return self.wx_events - self.row_mw @ st.xbar

    def information(self, st: _BetaState, gmult: np.ndarray | None = None) -> np.ndarray:
        """``sum_g mult_g I_g`` (``mult = 1``: the observed information).

        ``I_g = sum_k m_g [(S2_g - f E2_g)/D2_gk - xbar xbar']`` is assembled as
        ``X' diag(r_i C_i - delta_i r_i c2_g(i)) X - xbar' diag(m) xbar`` so that no
        p x p matrix is ever formed per group.
        """
        rowmult = self.row_mw if gmult is None else self.row_mw * gmult[self.row_group]
        c1 = self.group_sum_rows(rowmult / st.d2)
        c2 = self.group_sum_rows(rowmult * self.f / st.d2)
        a = st.r * self.obs_cumulative(c1)
        ev = self.ev_sorted
        a[ev] -= st.r[ev] * c2[self.obs_group[ev]]
        Xa = self.X * a[:, None]
        return self.X.T @ Xa - st.xbar.T @ (st.xbar * rowmult[:, None])

    def score_residuals(self, st: _BetaState) -> np.ndarray:
        """Per-observation score residuals ``L_i`` (unweighted, as R's ``type='score'``)."""
        X = self.X
        h = self.row_mw / st.d2  # hazard increment of each death row (times exp(shift))
        H = self.group_sum_rows(h)
        A = self.group_sum_rows(h[:, None] * st.xbar)
        Hc = self.obs_cumulative(H)
        Ac = self.obs_cumulative(A)
        L = -st.er[:, None] * (X * Hc[:, None] - Ac)
        ev = self.ev_sorted
        g = self.obs_group[ev]
        Xb = self.group_sum_rows(st.xbar) / self.d[:, None]
        fh = self.f * h
        Hk = self.group_sum_rows(fh)
        Ak = self.group_sum_rows(fh[:, None] * st.xbar)
        # Events: + (x_i - mean_k xbar_gk), and give back the k/d_g share of their own
        # at-risk term (Efron down-weights the tied deaths in the later death rows).
        L[ev] += X[ev] - Xb[g] + st.er[ev, None] * (X[ev] * Hk[g][:, None] - Ak[g])
        return L

    def schoenfeld_group(self, st: _BetaState) -> np.ndarray:
        """Per-group score contribution ``sum_{D_g} w_i x_i - sum_k m_g xbar_gk`` (G x p)."""
        ev = self.ev_sorted
        wx = self.w[ev, None] * self.X[ev]
        return self.group_sum_rows(wx) - self.group_sum_rows(self.row_mw[:, None] * st.xbar)


def _chol_solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        c = linalg.cho_factor(A, check_finite=False)
        return linalg.cho_solve(c, b, check_finite=False)
    except linalg.LinAlgError:
        return np.linalg.lstsq(A, b, rcond=None)[0]


def _inverse(A: np.ndarray) -> np.ndarray:
    try:
        c = linalg.cho_factor(A, check_finite=False)
        return linalg.cho_solve(c, np.eye(A.shape[0]), check_finite=False)
    except linalg.LinAlgError:
        return np.linalg.pinv(A)


def _range_weight_below(
    ranks: np.ndarray, w: np.ndarray, lo: np.ndarray, hi: np.ndarray, q: np.ndarray
) -> np.ndarray:
    """``sum(w[j] for j in range(lo_i, hi_i) if ranks[j] < q_i)`` for every query ``i``.

    A merge-sort tree queried bottom-up like a segment tree, vectorised over queries:
    level ``k`` holds blocks of ``2**k`` positions sorted by rank (one global
    ``searchsorted`` on ``block * M + rank`` keys per level), so the whole computation
    is O((n + queries) log^2 n) numpy work with a loop over the ~log2(n) levels only.
    """
    n = ranks.size
    M = int(max(ranks.max(initial=0), q.max(initial=0))) + 2  # keys never spill over blocks
    perm = np.arange(n)  # positions in level order (level 0: blocks of one)
    left, right = lo.astype(np.int64).copy(), hi.astype(np.int64).copy()
    out = np.zeros(lo.size)
    k = 0
    while (left < right).any():
        # Level k order from level k-1's: pairs of sorted runs, which a stable
        # (tim)sort merges in about linear time.
        keys = (perm >> k) * M + ranks[perm]
        o = np.argsort(keys, kind="stable")
        perm, keys = perm[o], keys[o]
        cw = _prefix_cumsum(w[perm])

        # Bottom-up segment-tree walk: an odd left block / odd right end is used whole.
        for side in ("left", "right"):
            if side == "left":
                use = (left < right) & (left & 1).astype(bool)
                b = left[use]
                left = left + use
            else:
                use = (left < right) & (right & 1).astype(bool)
                right = right - use
                b = right[use]
            idx = np.searchsorted(keys, b * M + q[use], side="left")
            out[use] += cw[idx] - cw[np.minimum(b << k, n)]
        left, right = left >> 1, right >> 1
        k += 1
    return out


def _collapse(D: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """Sum rows of ``D`` within cluster codes (R's ``rowsum``)."""
    if codes is None:
        return D
    ncl = int(codes.max()) + 1
    return np.column_stack(
        [np.bincount(codes, weights=D[:, j], minlength=ncl) for j in range(D.shape[1])]
    ).reshape(ncl, D.shape[1])


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return list(x)


class CoxPH:
    """Cox proportional-hazards model matching R's ``survival::coxph``.

    Parameters
    ----------
    ties : {"efron", "breslow"}
        Tie handling, as R's ``ties=`` (default ``"efron"`` like R).
    robust : bool
        Report the sandwich variance built from dfbeta residuals (R's ``robust=TRUE``).
        Implied when ``cluster_col`` is given to :meth:`fit`, as in R.
    alpha : float
        1 - confidence level of the intervals in :attr:`summary`.
    tol : float
        Convergence tolerance on the relative log-likelihood change (R's ``eps``).
    max_iter : int
        Maximum Newton-Raphson iterations (R's ``iter.max``).

    Attributes (after :meth:`fit`)
    ------------------------------
    params_ : pd.Series            coefficients ``beta``
    variance_ : pd.DataFrame       inverse observed information (R's ``naive.var``)
    standard_errors_ : pd.Series   ``sqrt(diag(variance_))``
    robust_variance_ : pd.DataFrame | None   sandwich variance (R's ``fit$var`` if robust)
    log_likelihood_ : float        partial log-likelihood at ``params_``
    log_likelihood_null_ : float   at ``beta = 0``
    score_test_, wald_test_, likelihood_ratio_test_ : tuple (statistic, df, p)
    """

    def __init__(
        self,
        ties: str = "efron",
        robust: bool = False,
        alpha: float = 0.05,
        tol: float = 1e-9,
        max_iter: int = 20,
    ) -> None:
        if ties not in ("efron", "breslow"):
            raise ValueError("ties must be 'efron' or 'breslow'")
        self.ties = ties
        self.robust = robust
        self.alpha = alpha
        self.tol = tol
        self.max_iter = max_iter

    # ------------------------------------------------------------------ design
    def _design(
        self, df: pd.DataFrame, formula: str | None, covariates: Sequence[str] | None
    ) -> tuple[np.ndarray, list[str], pd.Index, dict[str, list[int]]]:
        """Covariate matrix, names, rows kept and term -> column map (for cox.zph)."""
        if formula is not None:
            import patsy  # R-like formulas; treatment contrasts, intercept dropped

            mat = patsy.dmatrix(formula, df, return_type="dataframe", NA_action="drop")
            info = mat.design_info
            self._design_info = info
            # patsy groups categorical terms first; R keeps the order written in the
            # formula, so reorder the columns term by term in formula order.
            written = [t.name() for t in patsy.ModelDesc.from_formula(formula).rhs_termlist]
            slices = info.term_name_slices
            order = [t for t in written if t in slices and t != "Intercept"]
            order += [t for t in slices if t not in order and t != "Intercept"]
            terms: dict[str, list[int]] = {}
            keep_cols: list[str] = []
            for term in order:
                cols = list(mat.columns[slices[term]])
                terms[term] = list(range(len(keep_cols), len(keep_cols) + len(cols)))
                keep_cols += cols
            mat = mat[keep_cols]
            return mat.to_numpy(dtype=float), keep_cols, mat.index, terms
        self._design_info = None
        cov = list(covariates or [])
        sub = df[cov]
        ok = sub.notna().all(axis=1)
        mat = sub.loc[ok].astype(float)
        return mat.to_numpy(), cov, mat.index, {c: [j] for j, c in enumerate(cov)}

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str,
        event_col: str,
        entry_col: str | None = None,
        formula: str | None = None,
        covariates: Sequence[str] | None = None,
        weights_col: str | None = None,
        cluster_col: str | None = None,
        strata: str | Sequence[str] | None = None,
        init: Sequence[float] | None = None,
    ) -> CoxPH:
        """Fit the model.

        ``duration_col`` is the exit (stop) time; with ``entry_col`` each row is the
        interval ``(entry, exit]`` (R's ``Surv(start, stop, event)``), which gives delayed
        entry / left truncation and time-varying covariates.  ``strata`` columns give
        separate baseline hazards (R's ``strata()``); ``cluster_col`` gives the
        cluster-robust variance (R's ``cluster()``).  Rows with missing values in any
        used column are dropped (R's ``na.omit``).  If neither ``formula`` nor
        ``covariates`` is given, every other column is a covariate.
        """
        strata_cols = _as_list(strata)
        special = [duration_col, event_col, entry_col, weights_col, cluster_col, *strata_cols]
        special = [c for c in special if c is not None]
        if formula is None and covariates is None:
            covariates = [c for c in df.columns if c not in special]
        # Positional index internally: the caller's index may have duplicate labels.
        orig_index = df.index
        df = df.reset_index(drop=True)
        X, names, idx, terms = self._design(df, formula, covariates)
        sub = df.loc[idx]
        ok = sub[special].notna().all(axis=1).to_numpy() if special else np.ones(len(idx), bool)
        X, sub = X[ok], sub.loc[ok]
        self.n_dropped_ = int(len(df) - len(sub))

        exit_ = sub[duration_col].to_numpy(dtype=float)
        status = sub[event_col].to_numpy()
        if not np.isin(status, [0, 1, True, False]).all():
            raise ValueError(f"{event_col} must be 0/1 (or boolean)")
        status = status.astype(bool)
        entry = None if entry_col is None else sub[entry_col].to_numpy(dtype=float)
        if entry is not None and np.any(entry >= exit_):
            raise ValueError("entry (start) time must be strictly less than exit (stop) time")
        w = np.ones(len(sub)) if weights_col is None else sub[weights_col].to_numpy(float)
        if np.any(w <= 0) or not np.all(np.isfinite(w)):
            raise ValueError("case weights must be finite and > 0 (as R requires)")
        if strata_cols:
            # One code per combination of the strata columns (R's strata(a, b)).
            grouped = sub.groupby(strata_cols, sort=True)
            strat = grouped.ngroup().to_numpy()
            self.strata_levels_ = list(grouped.groups.keys())
        else:
            strat = np.zeros(len(sub), dtype=np.int64)
            self.strata_levels_ = []
        if cluster_col is not None:
            cl_codes, _ = pd.factorize(sub[cluster_col], sort=True)
        else:
            cl_codes = None
        if X.shape[1] == 0:
            raise ValueError("no covariates")
        if np.linalg.matrix_rank(X - X.mean(axis=0)) < X.shape[1]:
            raise ValueError("covariates are collinear (or constant): drop redundant columns")

        # Centre covariates at their weighted means, as R does, for numerical stability;
        # coefficients and variances are unchanged by centring.
        means = np.average(X, axis=0, weights=w)
        Xc = X - means
        data = _CoxData(Xc, exit_, status, entry, w, np.asarray(strat), self.ties)
        self._data = data
        self._means = means
        self.covariate_names_ = names
        self.terms_ = terms
        self.duration_col, self.event_col, self.entry_col = duration_col, event_col, entry_col
        self.weights_col, self.cluster_col, self.strata_cols = (
            weights_col,
            cluster_col,
            strata_cols,
        )
        self._formula = formula
        self._concordance = None  # computed lazily by concordance_counts_
        self.fit_index_ = orig_index[sub.index.to_numpy()]  # caller's labels of rows used
        self.exit_ = exit_
        self.entry_ = entry
        self.event_ = status
        self.weights_ = w
        self.strata_codes_ = np.asarray(strat)

        beta, st, imat, ll0, u0, i0, n_iter, converged = self._newton(data, init)
        var = _inverse(imat)
        self.n_iter_ = n_iter
        self.converged_ = converged
        self._state = st
        self.params_ = pd.Series(beta, index=names, name="coef")
        self.variance_ = pd.DataFrame(var, index=names, columns=names)
        self.information_ = pd.DataFrame(imat, index=names, columns=names)
        self.log_likelihood_ = data.loglik(st)
        self.log_likelihood_null_ = ll0
        self.n_obs_ = data.n
        self.n_events_ = int(status.sum())
        self.means_ = pd.Series(means, index=names)

        p = len(names)
        sc = float(u0 @ _chol_solve(i0, u0))
        self.score_test_ = (sc, p, float(stats.chi2.sf(sc, p)))
        lr = 2.0 * (self.log_likelihood_ - ll0)
        self.likelihood_ratio_test_ = (lr, p, float(stats.chi2.sf(lr, p)))

        self.robust_ = bool(self.robust or cluster_col is not None)
        self.robust_variance_ = None
        self.robust_score_test_ = None
        if self.robust_:
            D = _collapse(self.dfbeta(weighted=True), cl_codes)
            rv = D.T @ D
            self.robust_variance_ = pd.DataFrame(rv, index=names, columns=names)
            # R's robust score test: score residuals at the initial beta, collapsed.
            st0 = data.state(np.zeros(p) if init is None else np.asarray(init, float))
            L0 = _collapse(data.unsort(data.score_residuals(st0)) * w[:, None], cl_codes)
            rs = float(L0.sum(0) @ _chol_solve(L0.T @ L0, L0.sum(0)))
            self.robust_score_test_ = (rs, p, float(stats.chi2.sf(rs, p)))
            self.n_clusters_ = int(D.shape[0])
        vw = self.robust_variance_.to_numpy() if self.robust_ else var
        wald = float(beta @ _chol_solve(vw, beta))
        self.wald_test_ = (wald, p, float(stats.chi2.sf(wald, p)))
        self.standard_errors_ = pd.Series(np.sqrt(np.diag(var)), index=names, name="se(coef)")
        return self

    def _newton(
        self, data: _CoxData, init: Sequence[float] | None
    ) -> tuple[np.ndarray, _BetaState, np.ndarray, float, np.ndarray, np.ndarray, int, bool]:
        """Newton-Raphson with step halving, R's ``coxfit6``/``agfit4`` control flow."""
        p = data.p
        beta = np.zeros(p) if init is None else np.asarray(init, dtype=float).copy()
        st = data.state(beta)
        ll = data.loglik(st)
        u = data.score(st)
        imat = data.information(st)
        ll0, u0, i0 = ll, u, imat
        if self.max_iter == 0:
            return beta, st, imat, ll0, u0, i0, 0, True
        newbeta = beta + _chol_solve(imat, u)
        halving = False
        converged = False
        it = 0
        nst, nimat = st, imat
        for it in range(1, self.max_iter + 1):
            nst = data.state(newbeta)
            nll = data.loglik(nst)
            ok = np.isfinite(nll)
            if ok:
                nu = data.score(nst)
                nimat = data.information(nst)
            # Same order of tests as R: converged first, then step halving.
            if ok and not halving and abs(1.0 - ll / nll) <= self.tol:
                converged = True
                break
            if it == self.max_iter:
                break
            if not ok or nll < ll:
                # Likelihood went down: halve the step back towards the last good beta.
                halving = True
                newbeta = (newbeta + beta) / 2.0
            else:
                halving = False
                beta, ll = newbeta, nll
                newbeta = beta + _chol_solve(nimat, nu)
        if not converged:
            import warnings

            warnings.warn(
                f"Cox model did not converge in {self.max_iter} iterations",
                ConvergenceWarning,
                stacklevel=3,
            )
        # R reports the last evaluated beta and the information there.
        beta, st, imat = newbeta, nst, nimat
        return beta, st, imat, ll0, u0, i0, it, converged

    # ------------------------------------------------------------------ residuals
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError("call fit() first")

    def score_residuals(self, weighted: bool = False) -> np.ndarray:
        """R's ``residuals(fit, type="score")`` (n x p, rows in fitted-data order)."""
        self._check_fitted()
        L = self._data.unsort(self._data.score_residuals(self._state))
        return L * self.weights_[:, None] if weighted else L

    def dfbeta(self, weighted: bool = False) -> np.ndarray:
        """R's ``residuals(fit, type="dfbeta")``: score residuals times the naive variance."""
        return self.score_residuals(weighted=weighted) @ self.variance_.to_numpy()

    def schoenfeld_group_residuals(self) -> np.ndarray:
        """Per event-time group score contributions (G x p), summing to the score vector."""
        self._check_fitted()
        return self._data.schoenfeld_group(self._state)

    # ------------------------------------------------------------------ results
    @property
    def concordance_(self) -> float:
        """Harrell's C as R's ``coxph`` reports it (``fit$concordance["concordance"]``).

        For each event ``i`` at time ``t`` and each ``j`` at risk at ``t`` in the same
        stratum that does not have an event at ``t``, the pair has weight ``w_i w_j`` and
        is concordant if ``lp_i > lp_j``, discordant if ``lp_i < lp_j``, tied if equal:
        ``C = (concordant + tied/2) / (concordant + discordant + tied)``.  Computed on
        first access; the counts are in :attr:`concordance_counts_`.
        """
        return self.concordance_counts_["concordance"]

    @property
    def concordance_counts_(self) -> dict[str, float]:
        """Weighted concordant / discordant / tied.x pair counts and the concordance."""
        self._check_fitted()
        if getattr(self, "_concordance", None) is None:
            self._concordance = self._compute_concordance()
        return self._concordance

    def _compute_concordance(self) -> dict[str, float]:
        data = self._data
        lp = data.X @ self.params_.to_numpy()
        _, ranks = np.unique(lp, return_inverse=True)
        w = data.w
        ev = data.ev_sorted
        g = data.obs_group[ev]
        # Comparable partners of an event at t_g: rows after the tied events of g in the
        # (stratum, exit) order, up to the stratum end, minus those entering at >= t_g.
        lo = data.g_lo_exit[g] + data.d[g]
        hi = data.g_hi_exit[g]
        q = ranks[ev]
        m = q.size
        # One pass answers both "rank < q" and "rank <= q" (= rank < q + 1).
        both = _range_weight_below(
            ranks, w, np.tile(lo, 2), np.tile(hi, 2), np.concatenate([q, q + 1])
        )
        less, leq = both[:m], both[m:]
        cw = _prefix_cumsum(w)
        total = cw[hi] - cw[lo]
        if data.has_entry:
            re_, we = ranks[data.ord_entry], w[data.ord_entry]
            elo, ehi = data.g_lo_entry[g], data.g_hi_entry[g]
            both = _range_weight_below(
                re_, we, np.tile(elo, 2), np.tile(ehi, 2), np.concatenate([q, q + 1])
            )
            less, leq = less - both[:m], leq - both[m:]
            cwe = _prefix_cumsum(we)
            total = total - (cwe[ehi] - cwe[elo])
        wi = w[ev]
        conc = float(wi @ less)
        tied = float(wi @ (leq - less))
        disc = float(wi @ (total - leq))
        denom = conc + disc + tied
        c = (conc + tied / 2) / denom if denom > 0 else float("nan")
        return {"concordant": conc, "discordant": disc, "tied.x": tied, "concordance": c}

    @property
    def robust_standard_errors_(self) -> pd.Series | None:
        if getattr(self, "robust_variance_", None) is None:
            return None
        rv = self.robust_variance_
        return pd.Series(np.sqrt(np.diag(rv)), index=rv.index, name="robust se")

    @property
    def summary(self) -> pd.DataFrame:
        """Table like R's ``summary(coxph)``: z, p and CIs use the robust SE if present."""
        self._check_fitted()
        robust = self.robust_standard_errors_
        out = coefficient_table(self.params_, self.standard_errors_ if robust is None else robust, self.alpha)
        out["se(coef)"] = self.standard_errors_
        if robust is not None:
            out.insert(3, "robust se", robust)
        return out

    @property
    def confidence_intervals_(self) -> pd.DataFrame:
        """Wald limits of the coefficients (lifelines' columns), robust SE if present."""
        self._check_fitted()
        robust = self.robust_standard_errors_
        return confidence_intervals(self.params_, self.standard_errors_ if robust is None else robust, self.alpha)

    def _design_new(self, df: pd.DataFrame) -> np.ndarray:
        if self._design_info is not None:
            import patsy

            mat = patsy.build_design_matrices(
                [self._design_info], df, return_type="dataframe", NA_action="raise"
            )[0]
            return mat[self.covariate_names_].to_numpy(dtype=float)
        return df[self.covariate_names_].to_numpy(dtype=float)

    def predict_log_partial_hazard(self, df: pd.DataFrame) -> pd.Series:
        """``(x - means)' beta`` - R's ``predict(fit, newdata, type="lp")``."""
        self._check_fitted()
        X = self._design_new(df)
        lp = (X - self._means) @ self.params_.to_numpy()
        return pd.Series(lp, index=df.index, name="log_partial_hazard")

    def predict_partial_hazard(self, df: pd.DataFrame) -> pd.Series:
        """``exp((x - means)' beta)`` - R's ``predict(fit, newdata, type="risk")``."""
        return np.exp(self.predict_log_partial_hazard(df)).rename("partial_hazard")

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Forest plot of hazard ratios with (robust, if fitted so) confidence intervals."""
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, NullFormatter

        s = self.summary
        lo, hi = s.columns[-2], s.columns[-1]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(s)))
        y = np.arange(len(s))[::-1]
        hr = s["exp(coef)"].to_numpy()
        ax.errorbar(
            hr,
            y,
            xerr=[hr - s[lo].to_numpy(), s[hi].to_numpy() - hr],
            fmt="s",
            color=kwargs.pop("color", "black"),
            capsize=3,
            **kwargs,
        )
        ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
        ax.set_xscale("log")
        # Plain numbers (0.5, 1, 2) rather than powers of ten on the log axis.
        fmt = FuncFormatter(lambda v, _: f"{v:g}")
        ax.xaxis.set_major_formatter(fmt)
        lo_x, hi_x = ax.get_xlim()
        # Label minor ticks only on a narrow axis, where they would not collide.
        ax.xaxis.set_minor_formatter(fmt if hi_x / lo_x < 8 else NullFormatter())
        ax.set_yticks(y)
        ax.set_yticklabels(s.index)
        ci = int(round(100 * (1 - self.alpha)))
        ax.set_xlabel(f"Hazard ratio ({ci}% CI{', robust SE' if self.robust_ else ''})")
        return ax

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"CoxPH(ties={self.ties!r}, robust={self.robust})"
        return (
            f"CoxPH(ties={self.ties!r}, n={self.n_obs_}, events={self.n_events_}, "
            f"loglik={self.log_likelihood_:.4f})"
        )
