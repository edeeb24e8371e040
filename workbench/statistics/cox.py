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
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats

from workbench.statistics.coefficients import coefficient_table, confidence_intervals
from workbench.statistics.concordance import concordance_counts
from workbench.statistics.cox_risk_sets import BetaState, CoxData
from workbench.statistics.design_checks import (
    constant_within_strata,
    require_covariates,
    require_numeric,
)
from workbench.statistics.risk_sets import aeq_times

__all__ = ["CoxPH", "ConvergenceWarning", "InfiniteCoefficientWarning", "RobustVarianceNote"]


class ConvergenceWarning(UserWarning):
    """Raised (as a warning) when Newton-Raphson hits ``max_iter`` without converging."""


class InfiniteCoefficientWarning(UserWarning):
    """Monotone likelihood: the log-likelihood converged while a coefficient still drifts."""


class RobustVarianceNote(UserWarning):
    """The variance was switched to the robust (sandwich) one, as R does by default."""


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



def _collapse(D: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """Sum rows of ``D`` within cluster codes (R's ``rowsum``)."""
    if codes is None:
        return D
    ncl = int(codes.max()) + 1
    return np.column_stack(
        [np.bincount(codes, weights=D[:, j], minlength=ncl) for j in range(D.shape[1])]
    ).reshape(ncl, D.shape[1])


def _restrict_terms(terms: dict[str, list[int]], keep: list[int]) -> dict[str, list[int]]:
    """Term -> column map after dropping columns (positions renumbered among ``keep``)."""
    new_pos = {old: new for new, old in enumerate(keep)}
    out = {t: [new_pos[j] for j in cols if j in new_pos] for t, cols in terms.items()}
    return {t: cols for t, cols in out.items() if cols}


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
    robust : bool or None
        Report the sandwich variance built from dfbeta residuals (R's ``robust=TRUE``).
        ``None`` (default) decides as R's ``coxph`` with ``robust`` missing: robust when
        ``cluster_col`` is given or the case weights are not all integers (sampling or
        probability weights, for which the inverse information is not a variance); the
        switch for non-integer weights is announced by a :class:`RobustVarianceNote`.
    timefix : bool
        Merge nearly equal times as R's ``aeqSurv`` (R's ``coxph.control(timefix=TRUE)``).
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
        robust: bool | None = None,
        alpha: float = 0.05,
        tol: float = 1e-9,
        max_iter: int = 20,
        timefix: bool = True,
    ) -> None:
        if ties not in ("efron", "breslow"):
            raise ValueError("ties must be 'efron' or 'breslow'")
        self.ties = ties
        self.robust = robust
        self.alpha = alpha
        self.tol = tol
        self.max_iter = max_iter
        self.timefix = timefix

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
        require_numeric(sub)
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
        used column are dropped (R's ``na.omit``).  ``formula`` or ``covariates`` is
        required: there is no "every other column" default, which silently picks up row
        numbers and identifiers.  A covariate constant within every stratum is not
        estimable: its coefficient and standard error are NaN (R's NA) with a warning.
        """
        require_covariates(covariates, formula)
        strata_cols = _as_list(strata)
        special = [duration_col, event_col, entry_col, weights_col, cluster_col, *strata_cols]
        special = [c for c in special if c is not None]
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
        if self.timefix:
            exit_, entry = aeq_times(exit_, entry)
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
        # R's coxph reports NA for a covariate constant within every stratum (its
        # information is zero); fit without it and report NaN rather than a number with
        # a standard error of 1e-18.
        all_names = names
        not_estimable = constant_within_strata(X, strat, names) if strata_cols else []
        if not_estimable:
            keep = [j for j, n in enumerate(names) if n not in not_estimable]
            if not keep:
                raise ValueError(
                    f"every covariate is constant within every stratum: {not_estimable}"
                )
            X = X[:, keep]
            names = [names[j] for j in keep]
            terms = _restrict_terms(terms, keep)
        self.not_estimable_ = not_estimable
        if np.linalg.matrix_rank(X - X.mean(axis=0)) < X.shape[1]:
            raise ValueError("covariates are collinear (or constant): drop redundant columns")

        # Centre covariates at their weighted means, as R does, for numerical stability;
        # coefficients and variances are unchanged by centring.
        means = np.average(X, axis=0, weights=w)
        Xc = X - means
        data = CoxData(Xc, exit_, status, entry, w, np.asarray(strat), self.ties)
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
        if converged and self.max_iter > 1:
            self._warn_infinite(data.score(st) @ var, beta, names)
        self.n_iter_ = n_iter
        self.converged_ = converged
        self._state = st
        self._beta, self._var = beta, var
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

        fractional_weights = bool(np.any(w != np.floor(w)))
        if self.robust is None:
            self.robust_ = cluster_col is not None or fractional_weights
            if fractional_weights and cluster_col is None:
                import warnings

                warnings.warn(
                    "case weights are not integers: robust (sandwich) standard errors are "
                    "reported, as R's coxph does (pass robust=False for the model-based ones)",
                    RobustVarianceNote,
                    stacklevel=2,
                )
        else:
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
        if not_estimable:
            self._report_not_estimable(all_names)
        return self

    def _warn_infinite(self, infs: np.ndarray, beta: np.ndarray, names: list[str]) -> None:
        """R's monotone-likelihood check after convergence: a score step ``|U V|`` that is
        still large relative to the coefficient means the likelihood flattened while the
        coefficient runs off to infinity (e.g. no events in one group).  ``coxph.fit``'s
        rule for right-censored data, ``agreg.fit``'s for (start, stop] data."""
        toler_inf = np.sqrt(self.tol)  # R's coxph.control: toler.inf = sqrt(eps)
        infs = np.abs(infs)
        if self._data.has_entry:
            flag = infs > toler_inf * (1 + np.abs(beta))
        else:
            flag = (infs > self.tol) & (infs > toler_inf * np.abs(beta))
        flag |= ~np.isfinite(infs)
        if flag.any():
            import warnings

            which = ", ".join(n for n, f in zip(names, flag, strict=True) if f)
            warnings.warn(
                f"Loglik converged before variable {which}; coefficient may be infinite",
                InfiniteCoefficientWarning,
                stacklevel=3,
            )

    def _report_not_estimable(self, all_names: list[str]) -> None:
        """NaN rows (R's NA) for the covariates left out of the fit, with a warning."""
        import warnings

        warnings.warn(
            "covariate(s) constant within every stratum, coefficient not estimable "
            f"(reported as NaN, R's NA): {', '.join(self.not_estimable_)}",
            UserWarning,
            stacklevel=3,
        )
        self.params_ = self.params_.reindex(all_names)
        self.standard_errors_ = self.standard_errors_.reindex(all_names)
        self.variance_ = self.variance_.reindex(index=all_names, columns=all_names)
        if self.robust_variance_ is not None:
            self.robust_variance_ = self.robust_variance_.reindex(
                index=all_names, columns=all_names
            )

    def _newton(
        self, data: CoxData, init: Sequence[float] | None
    ) -> tuple[np.ndarray, BetaState, np.ndarray, float, np.ndarray, np.ndarray, int, bool]:
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
        return self.score_residuals(weighted=weighted) @ self._var

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
            self._concordance = concordance_counts(self._data, self._data.X @ self._beta)
        return self._concordance


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
        lp = (X - self._means) @ self._beta
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
