"""Fine & Gray (1999) proportional subdistribution hazards regression, as ``cmprsk::crr``
(validated against cmprsk 2.2-11). No timefix: ``crr`` compares times exactly. The other
route, survival's ``finegray()`` plus a weighted Cox model (also with delayed entry), is
:func:`workbench.statistics.fine_gray_expand.finegray_data`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from workbench.statistics.coefficients import coefficient_table, confidence_intervals
from workbench.statistics.design_checks import require_numeric, require_variation
from workbench.statistics.risk_sets import as_float

__all__ = ["FineGray"]


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

    Attributes (lifelines' names): ``params_``, ``standard_errors_`` (robust), ``variance_``,
    ``confidence_intervals_`` (Wald, coefficient scale), ``information_``,
    ``log_likelihood_``, ``log_likelihood_null_``, ``likelihood_ratio_test_``, ``score_``, ``converged_``, ``n_iter_``, ``uftime_`` (distinct
    failure times), ``bfitj_`` (jumps of the baseline cumulative subdistribution hazard,
    crr's ``bfitj``), ``summary``.
    """

    def __init__(self, failcode: Any = 1, cencode: Any = 0, alpha: float = 0.05,
                 gtol: float = 1e-6, maxiter: int = 10) -> None:
        self.failcode = failcode
        self.cencode = cencode
        self.alpha = alpha
        self.gtol = gtol
        self.maxiter = maxiter

    # -- data preparation -------------------------------------------------------------
    def _setup(self, df: pd.DataFrame, duration_col: str, event_col: str, covariates: Sequence[str],
               cengroup_col: str | None) -> None:
        t = as_float(df[duration_col], "durations")
        ev = df[event_col].to_numpy()
        names = [str(c) for c in covariates]
        require_numeric(df[list(covariates)])
        Xa = df[list(covariates)].to_numpy(dtype=float)
        require_variation(Xa, names)
        cg = np.zeros(t.size) if cengroup_col is None else df[cengroup_col].to_numpy()
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
        df: pd.DataFrame,
        duration_col: str,
        event_col: str,
        *,
        covariates: Sequence[str],
        cengroup_col: str | None = None,
        init: ArrayLike | None = None,
    ) -> FineGray:
        """Fit ``crr(ftime=df[duration_col], fstatus=df[event_col], cov1=df[covariates],
        cengroup=df[cengroup_col])``; ``event_col`` holds ``failcode``, ``cencode`` or any
        other value (a competing cause)."""
        self._setup(df, duration_col, event_col, covariates, cengroup_col)
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
            try:
                sc = -np.linalg.solve(h, s)
            except np.linalg.LinAlgError as exc:
                raise ValueError(
                    "Fine-Gray information matrix is singular: covariates "
                    f"{', '.join(self._names)} are collinear or have no information"
                ) from exc
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
        self.params_ = pd.Series(b, index=self._names, name="coef")
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.log_likelihood_ = -float(f)
        self.score_ = pd.Series(-s, index=self._names)
        self.log_likelihood_null_ = -self._f(np.zeros(p))
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
        self.variance_ = pd.DataFrame(var, index=self._names, columns=self._names)
        self.standard_errors_ = pd.Series(np.sqrt(np.diag(var)), index=self._names, name="se(coef)")
        self.confidence_intervals_ = confidence_intervals(self.params_, self.standard_errors_, self.alpha)
        # crr's bfitj on the original (uncentred) covariate scale
        self.uftime_ = self._uft
        self.bfitj_ = dL * np.exp(-float(self._x_mean @ b))
        self._K = K

    @property
    def summary(self) -> pd.DataFrame:
        """``summary(crr_fit)`` with :class:`~workbench.statistics.cox.CoxPH`'s columns: coef,
        exp(coef), se(coef), z, p and the Wald interval of exp(coef)."""
        if not hasattr(self, "params_"):
            raise RuntimeError("call fit() first")
        return coefficient_table(self.params_, self.standard_errors_, self.alpha)

    @property
    def likelihood_ratio_test_(self) -> tuple[float, int, float]:
        """(statistic, df, p) of ``-2 (loglik_null - loglik)`` (summary.crr's ``logtest``)."""
        stat = -2 * (self.log_likelihood_null_ - self.log_likelihood_)
        df = self.params_.size
        return stat, df, float(stats.chi2.sf(stat, df))

    def predict_cif(self, df: pd.DataFrame) -> pd.DataFrame:
        """Predicted CIF at each failure time for each row, as ``predict.crr``:
        ``1 - exp(-cumsum(bfitj) exp(x'b))``."""
        lp = df[self._names].to_numpy(dtype=float) @ self.params_.to_numpy()
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
