"""Kaplan-Meier survival curves, validated against R's ``survival``.

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

import copy
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from workbench.statistics.logrank import LogRankResult, logrank_test
from workbench.statistics.risk_sets import (
    TOL,
    ConfType,
    aeq_times,
    as_float,
    check_interval_options,
    column,
    conf_int,
    prepare,
    product_limit_ij,
    risk_sets,
    sorted_levels,
)

VarianceType = Literal["auto", "greenwood", "ij"]

__all__ = ["KaplanMeier", "KaplanMeierGroups", "add_at_risk_counts"]


def _minmin(y: NDArray[np.float64], x: NDArray[np.float64]) -> float:
    """Median as R's ``print.survfit`` (``survmean``'s ``minmin``).

    First time the curve is below 0.5 (within sqrt(eps)); if the curve sits exactly at
    0.5 over a flat segment, the midpoint of that segment.
    """
    keep = ~np.isnan(y) & (y < 0.5 + TOL)
    if not keep.any():
        return float("nan")
    xs = x[keep]
    ys = y[keep]
    if abs(ys[0] - 0.5) < TOL and (ys < ys[0]).any():
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
        i1 = approx_const_f1(yy + TOL, pt)
        i2 = approx_const_f1(yy - TOL, pt)
        v1 = x[int(i1) - 1] if not np.isnan(i1) else np.nan
        v2 = x[int(i2) - 1] if not np.isnan(i2) else np.nan
        q = (v1 + v2) / 2
        if pt == 0:
            q = x[0]
        if not np.isnan(y[-1]) and abs(pt - y[-1]) < TOL:
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
        check_interval_options(conf_type, conf_level)
        if variance not in ("auto", "greenwood", "ij"):
            raise ValueError("variance must be 'auto', 'greenwood' or 'ij'")
        self.conf_type = conf_type
        self.conf_level = conf_level
        self.variance = variance
        self.timefix = timefix

    # -- fitting --------------------------------------------------------------------
    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str,
        event_col: str | None = None,
        entry_col: str | None = None,
        weights_col: str | None = None,
        label: str | None = None,
    ) -> KaplanMeier:
        """Fit the curve to the rows of ``df``.

        ``duration_col`` holds exit times, ``event_col`` 1 = event / 0 = censored (every row
        an event if omitted), ``entry_col`` delayed-entry (left-truncation) times,
        ``weights_col`` positive case weights.
        """
        durations, events = df[duration_col].to_numpy(), column(df, event_col)
        entry, weights = column(df, entry_col), column(df, weights_col)
        stop, start, w = prepare(durations, entry, weights)
        if events is None:
            ev = np.ones(stop.size, dtype=np.intp)
        else:
            e = as_float(events, "events")
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

        rs = risk_sets(stop, start, ev, w, 1)
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
                S_ij, _, se_S, _ = product_limit_ij(rs)
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


class KaplanMeierGroups:
    """One :class:`KaplanMeier` per group (R's ``survfit(Surv(...) ~ group)``).

    ``estimator`` is the (unfitted) :class:`KaplanMeier` fitted to each group - R's defaults if
    None; after ``fit`` the curves are in ``fits_`` (by level, sorted as R's factor) and
    indexable by level.
    """

    def __init__(self, estimator: KaplanMeier | None = None) -> None:
        self.estimator = estimator

    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str,
        event_col: str,
        group_col: str,
        entry_col: str | None = None,
        weights_col: str | None = None,
    ) -> KaplanMeierGroups:
        """Fit a Kaplan-Meier curve per level of ``group_col``."""
        self.fits_: dict[Hashable, KaplanMeier] = {}
        for lev in sorted_levels(df[group_col].to_numpy()):
            km = copy.deepcopy(self.estimator) if self.estimator is not None else KaplanMeier()
            self.fits_[lev] = km.fit(df.loc[df[group_col] == lev], duration_col, event_col, entry_col,
                                     weights_col, label=f"{group_col}={lev}")
        self._data = (df, duration_col, event_col, group_col, entry_col, weights_col)
        return self

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
        df, duration_col, event_col, group_col, entry_col, weights_col = self._data
        if entry_col is not None or weights_col is not None:
            raise ValueError("survdiff supports only unweighted right-censored data")
        return logrank_test(df, duration_col, event_col, group_col, rho=rho)

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
