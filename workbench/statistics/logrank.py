"""The log-rank (G-rho) test of equal survival across groups, as R's ``survdiff``."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from workbench.statistics.risk_sets import aeq_times, as_float, group_codes

__all__ = ["LogRankResult", "logrank_test"]


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


def logrank_test(
    df: pd.DataFrame,
    duration_col: str,
    event_col: str,
    group_col: str,
    strata_col: str | None = None,
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
    t = as_float(df[duration_col], "durations")
    e = as_float(df[event_col], "events")
    if not np.isin(e, (0, 1)).all():
        raise ValueError("events must be 0/1")
    if timefix:
        t, _ = aeq_times(t)
    levels, gi, st = group_codes(df, group_col, strata_col)
    ng = len(levels)
    if ng < 2:
        raise ValueError("There is only 1 group")

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

