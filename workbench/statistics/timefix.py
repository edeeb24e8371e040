"""Merge nearly equal times as R's ``survival::aeqSurv`` (``coxph.control(timefix=TRUE)``).

Times that differ only by floating-point representation error (``0.1 * 3`` against
``0.3``) would otherwise be distinct event times and change the risk sets, so that the
same data parsed two ways gives different coefficients.  R's rule: sort the distinct
finite times (start and stop together for counting-process data); two neighbours are tied
when their difference is at most ``tolerance`` in absolute terms or relative to the mean
absolute time; every time in a run of tied neighbours becomes the first of the run.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TIMEFIX_TOLERANCE", "merge_nearly_equal_times"]

TIMEFIX_TOLERANCE = float(np.sqrt(np.finfo(float).eps))  # R's sqrt(.Machine$double.eps)


def merge_nearly_equal_times(
    stop: np.ndarray, start: np.ndarray | None = None, tolerance: float = TIMEFIX_TOLERANCE
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(stop, start)`` with nearly equal times merged, as ``aeqSurv``.

    Raises ``ValueError`` when merging makes an interval ``(start, stop]`` empty (R's
    "aeqSurv exception, an interval has effective length 0").
    """
    stop = np.asarray(stop, dtype=float)
    pooled = stop if start is None else np.concatenate([stop, np.asarray(start, dtype=float)])
    y = np.unique(pooled[np.isfinite(pooled)])
    if y.size < 2:
        return stop, start
    dy = np.diff(y)
    tied = (dy <= tolerance) | (dy / np.mean(np.abs(y)) <= tolerance)
    if not tied.any():
        return stop, start
    cuts = y[np.concatenate([[True], ~tied])]

    def snap(t: np.ndarray) -> np.ndarray:
        # findInterval: the last cut <= t; infinite and NaN times are left alone.
        out = t.copy()
        ok = np.isfinite(t)
        out[ok] = cuts[np.searchsorted(cuts, t[ok], side="right") - 1]
        return out

    new_stop = snap(stop)
    if start is None:
        return new_stop, None
    start = np.asarray(start, dtype=float)
    new_start = snap(start)
    if np.any((new_start == new_stop) & (start != stop)):
        raise ValueError(
            "timefix: an interval (start, stop] has effective length 0 after merging nearly "
            "equal times (R's aeqSurv exception); fix the times or pass timefix=False"
        )
    return new_stop, new_start
