"""The risk-set sums of the Cox partial likelihood: the data sorted once, and per ``beta`` the
sums ``S0, S1, E0, E1``, the Efron death rows, the log-likelihood, score, information and score
residuals (notation: :mod:`workbench.statistics.cox`). Built once per fit and reused by every
Newton step, by the residuals and by :mod:`~workbench.statistics.ph_test`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def reverse_cumsum(a: np.ndarray) -> np.ndarray:
    """Suffix sums with a trailing zero: ``out[j] = sum(a[j:])`` (``out[n] = 0``).

    Suffix rather than prefix sums so that the small late risk sets are summed from
    their own few terms, not as a difference of two large totals.
    """
    out = np.zeros((a.shape[0] + 1,) + a.shape[1:], dtype=float)
    out[:-1] = np.cumsum(a[::-1], axis=0)[::-1]
    return out


def prefix_cumsum(a: np.ndarray) -> np.ndarray:
    """Prefix sums with a leading zero: ``out[j] = sum(a[:j])``."""
    out = np.zeros((a.shape[0] + 1,) + a.shape[1:], dtype=float)
    np.cumsum(a, axis=0, out=out[1:])
    return out


@dataclass
class BetaState:
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


class CoxData:
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
        cs = reverse_cumsum(v)
        lo = self.g_lo_exit
        S = cs[lo] - cs[self.g_hi_exit]
        E = cs[lo] - cs[lo + self.d]
        if self.has_entry:
            ce = reverse_cumsum(v[self.ord_entry])
            S = S - (ce[self.g_lo_entry] - ce[self.g_hi_entry])
        return S, E

    def group_sum_rows(self, v: np.ndarray) -> np.ndarray:
        """Sum of a death-row quantity within each group."""
        return np.add.reduceat(v, self.gstart, axis=0)

    def obs_cumulative(self, c: np.ndarray) -> np.ndarray:
        """``sum_{g : i in R_g} c_g`` for every observation (``c`` may be G or G x p)."""
        P = prefix_cumsum(c)
        return P[self.i_hi] - P[self.i_lo]

    # ------------------------------------------------------------------ core
    def state(self, beta: np.ndarray) -> BetaState:
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
        return BetaState(eta, shift, er, r, S0, S1, E0, E1, d2, xbar)

    def loglik(self, st: BetaState) -> float:
        ev = self.ev_sorted
        return float(np.dot(self.w[ev], st.eta[ev]) - np.dot(self.row_mw, np.log(st.d2) + st.shift))

    def score(self, st: BetaState) -> np.ndarray:
        return self.wx_events - self.row_mw @ st.xbar

    def information(self, st: BetaState, gmult: np.ndarray | None = None) -> np.ndarray:
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

    def score_residuals(self, st: BetaState) -> np.ndarray:
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

    def schoenfeld_group(self, st: BetaState) -> np.ndarray:
        """Per-group score contribution ``sum_{D_g} w_i x_i - sum_k m_g xbar_gk`` (G x p)."""
        ev = self.ev_sorted
        wx = self.w[ev, None] * self.X[ev]
        return self.group_sum_rows(wx) - self.group_sum_rows(self.row_mw[:, None] * st.xbar)

