"""Episode splitting of survival data at fixed times, as R's ``survival::survSplit``.

A row followed from ``entry`` to ``stop`` becomes one row per interval between the cut points it
crosses, each at risk from its interval's start (delayed entry) and with the event only in the
last. A Cox model on the split data with a covariate multiplied by each interval's indicator
estimates that covariate's hazard ratio separately per interval: the usual time-varying estimate
when proportional hazards fail (Therneau, Crowson and Atkinson, "Using time dependent covariates
and time dependent coefficients in the Cox model", the survival package's vignette)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def split_at(
    frame: pd.DataFrame,
    cuts: Sequence[float],
    *,
    duration_col: str,
    event_col: str,
    entry_col: str | None = None,
    interval_col: str = "interval",
) -> pd.DataFrame:
    """One row per (original row, interval it is at risk in); ``entry_col`` (0 if None) becomes
    each piece's start (column ``entry`` if None), ``duration_col`` its stop, ``event_col`` is kept only in the last piece;
    ``interval_col`` numbers the intervals 0..len(cuts). Other columns are copied."""
    cuts = np.sort(np.asarray(cuts, dtype=float))
    if len(cuts) and cuts[0] <= 0:
        raise ValueError("cut points must be positive")
    stop = frame[duration_col].to_numpy(float)
    start = frame[entry_col].to_numpy(float) if entry_col else np.zeros(len(frame))
    edges = np.r_[0.0, cuts, np.inf]
    pieces = []
    for k in range(len(edges) - 1):
        lo, hi = edges[k], edges[k + 1]
        at_risk = (stop > lo) & (start < hi)
        if not at_risk.any():
            continue
        piece = frame.loc[at_risk].copy()
        piece_stop = np.minimum(stop[at_risk], hi)
        piece[entry_col or "entry"] = np.maximum(start[at_risk], lo)
        piece[duration_col] = piece_stop
        piece[event_col] = np.where(stop[at_risk] <= hi, piece[event_col].to_numpy(), 0)
        piece[interval_col] = k
        pieces.append(piece)
    return pd.concat(pieces, ignore_index=True)
