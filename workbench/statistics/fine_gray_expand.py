"""Fine-Gray by survival's ``finegray()`` plus a weighted Cox model (the survival package's
"compete" vignette route), as an alternative to :class:`~workbench.statistics.fine_gray.FineGray`
(``cmprsk::crr``).

:func:`finegray_data` builds R's expanded data set: each competing-cause failure stays in the
risk set after its failure, as a chain of ``(fgstart, fgstop]`` pieces up to the last time,
with weight ``G(t)/G(t_i)`` (``G`` the Kaplan-Meier of censoring, times ``D(t)/D(t_i)`` the
left-truncation factor with delayed entry); pieces containing no event of interest are left
out. Then::

    fg = finegray_data(df, "time", "status", failcode=1)
    CoxPH().fit(fg, duration_col="fgstop", event_col="fgstatus", entry_col="fgstart",
                weights_col="fgwt", covariates=[...])

reproduces ``coxph(Surv(fgstart, fgstop, fgstatus) ~ x, weights=fgwt, data=finegray(Surv(
time, factor(status)) ~ ., data, etype=...))``, including its robust (sandwich) variance,
which R and :class:`CoxPH` switch to because the weights are not integers. Why this differs
from ``crr`` in the fourth digit: ``docs/assumptions/statistics_cox.md``.

Port of survival 3.5's ``finegray.R`` and ``finegray.c``: times are replaced by their ranks,
the stops of failures moved 0.2 earlier so that a failure precedes a censoring at the same
time; ``G`` jumps at censoring times, ``D`` (reverse-time Kaplan-Meier of the entry times)
at entry times.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.statistics.risk_sets import aeq_times

__all__ = ["finegray_data"]


def _product_limit(at_risk: np.ndarray, events: np.ndarray) -> np.ndarray:
    return np.cumprod(1.0 - events / at_risk)


def _censoring_curve(start: np.ndarray, stop: np.ndarray, censored: np.ndarray):
    """Times (ranks) where censoring happens and the Kaplan-Meier ``G`` just after them:
    ``survfit(Surv(start, stop, censored))``, at risk when ``start < c <= stop``."""
    times = np.unique(stop[censored])
    n_risk = (stop.size - np.searchsorted(np.sort(stop), times, side="left")) - (
        start.size - np.searchsorted(np.sort(start), times, side="left")
    )
    n_cens = np.bincount(np.searchsorted(times, stop[censored]), minlength=times.size)
    return times, _product_limit(n_risk, n_cens)


def _truncation_curve(start: np.ndarray, stop: np.ndarray, first: np.ndarray):
    """Entry times (ranks) and ``D`` = product over later entries ``s`` of ``1 - e(s)/r(s)``
    (R's reverse-time ``survfit(Surv(-stop, -start, first))``; ``r(s)`` counts rows with
    ``start <= s < stop``); the value at entry ``s_k`` is the product over entries > ``s_k``."""
    times = np.unique(start[first])
    n_risk = np.searchsorted(np.sort(start), times, side="right") - np.searchsorted(
        np.sort(stop), times, side="right"
    )
    n_entry = np.bincount(np.searchsorted(times, start[first]), minlength=times.size)
    rev = _product_limit(n_risk[::-1], n_entry[::-1])[::-1]  # product over s' >= s_k
    return times, np.append(rev[1:], 1.0)


def _expand_stratum(start, stop, status, last, first, delay, utime, failcode_rank_rows):
    """Rows, (start, end] and weights of the expanded data of one stratum (finegray.c)."""
    rank_start = np.searchsorted(utime, start) + 1.0
    rank_stop = np.searchsorted(utime, stop) + 1.0
    rank_stop[status != 0] -= 0.2
    ctime, cprob = _censoring_curve(rank_start, rank_stop, last & (status == 0))
    if delay:
        dtime, dprob = _truncation_curve(rank_start, rank_stop, first)
        both = np.union1d(dtime, ctime)
        i1 = np.searchsorted(dtime, both, side="right")  # >= 1: nothing precedes the entries
        i2 = np.searchsorted(ctime, both, side="right")
        cprob = dprob[i1 - 1] * np.concatenate([[1.0], cprob])[i2]
        ctime = both
    ctime = utime[ctime.astype(int) - 1]
    times = np.unique(stop[failcode_rank_rows])
    ct2 = np.append(ctime, stop.max())
    cp2 = np.concatenate([[1.0], cprob])
    # Keep piece j = (ct2[j-1], ct2[j]] only if an event of interest falls in it.
    keep = np.zeros(ct2.size, dtype=bool)
    keep[0] = True
    holds = np.searchsorted(ct2, times, side="left")  # piece index of each event time
    keep[holds[holds >= 1]] = True
    expand = (status != 0) & ~failcode_rank_rows & last
    rows, s_out, e_out, w_out = [], [], [], []
    for i in range(start.size):
        rows.append(i)
        s_out.append(start[i])
        if not expand[i]:
            e_out.append(stop[i])
            w_out.append(1.0)
            continue
        j = int(np.searchsorted(ct2, stop[i], side="left"))  # first ct2 >= stop
        e_out.append(ct2[j])
        w_out.append(1.0)
        base = cp2[j]
        for m in range(j + 1, ct2.size):
            if keep[m]:
                rows.append(i)
                s_out.append(ct2[m - 1])
                e_out.append(ct2[m])
                w_out.append(cp2[m] / base)
    return np.array(rows), np.array(s_out), np.array(e_out), np.array(w_out)


def finegray_data(
    df: pd.DataFrame,
    duration_col: str,
    event_col: str,
    *,
    failcode: object = 1,
    cencode: object = 0,
    entry_col: str | None = None,
    id_col: str | None = None,
    strata_col: str | None = None,
    weights_col: str | None = None,
    prefix: str = "fg",
    timefix: bool = True,
) -> pd.DataFrame:
    """R's ``finegray(Surv(...) ~ ., data, etype=failcode)``: the expanded data set.

    ``event_col`` holds ``cencode`` (censored), ``failcode`` (the event of interest) or any
    other value (a competing event).  With ``entry_col`` the data are ``(entry, duration]``
    intervals (R's counting-process ``Surv(start, stop, status)``), which needs ``id_col``
    (each person's rows contiguous in time, status 0 on all but the last row); entries
    later than the first exit time make it a left-truncated (delayed entry) analysis.
    ``strata_col`` gives a separate censoring curve per stratum (R's ``strata()``),
    ``weights_col`` case weights multiplied into ``fgwt``.  Returns the columns of ``df`` for
    each output row plus ``fgstart``, ``fgstop``, ``fgstatus`` (1 = event of interest) and
    ``fgwt``, with a fresh index (rows of a stratum together, as R).
    """
    stop = df[duration_col].to_numpy(dtype=float)
    raw = df[event_col].to_numpy()
    status = np.where(raw == cencode, 0, np.where(raw == failcode, 1, 2))
    if df[[duration_col, event_col]].isna().any().any():
        raise ValueError("missing times or events: drop incomplete rows first")
    n = stop.size
    first = np.ones(n, dtype=bool)
    last = np.ones(n, dtype=bool)
    delay = False
    if entry_col is None:
        if timefix:
            stop, _ = aeq_times(stop)
        lowest = stop.min()
        start = np.full(n, 0.0 if lowest > 0 else 2 * lowest - 1)
    else:
        if id_col is None:
            raise ValueError("(start, stop] data requires id_col (R: 'requires a subject id')")
        start = df[entry_col].to_numpy(dtype=float)
        if timefix:
            stop, start = aeq_times(stop, start)
        ids = df[id_col].to_numpy()
        order = np.lexsort((stop, pd.factorize(ids)[0]))
        sid = ids[order]
        is_first = np.r_[True, sid[1:] != sid[:-1]]
        is_last = np.r_[sid[1:] != sid[:-1], True]
        if np.any(status[order][~is_last] != 0):
            raise ValueError("a subject has a transition before their last time point")
        if np.any((start[order][1:] != stop[order][:-1])[~is_last[:-1]]):
            raise ValueError("a subject has gaps in time")
        first[order], last[order] = is_first, is_last
        delay = bool(np.any(start[first] > stop.min()))
    weights = np.ones(n) if weights_col is None else df[weights_col].to_numpy(dtype=float)
    utime = np.unique(np.concatenate([start, stop]))
    strata = np.zeros(n, dtype=int) if strata_col is None else pd.factorize(
        df[strata_col], sort=True)[0]
    pieces = []
    for s in range(strata.max() + 1):
        idx = np.flatnonzero(strata == s)
        interest = status[idx] == 1
        if not interest.any():
            continue  # R's stratfun returns NULL for a stratum without events
        rows, s_out, e_out, w_out = _expand_stratum(
            start[idx], stop[idx], status[idx], last[idx], first[idx], delay, utime, interest
        )
        out = df.iloc[idx[rows]].copy()
        out[f"{prefix}start"] = s_out
        out[f"{prefix}stop"] = e_out
        out[f"{prefix}status"] = (status[idx[rows]] == 1).astype(int)
        out[f"{prefix}wt"] = w_out * weights[idx[rows]]
        pieces.append(out)
    if not pieces:
        raise ValueError("no events of the cause of interest")
    return pd.concat(pieces).reset_index(drop=True)
