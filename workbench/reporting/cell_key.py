"""The cell key method: consistent perturbation of counts (issue 20 item 3, the design chosen for
tables a reader can re-cut).

What it is (the ONS's method for Census 2021's flexible tables; the ABS's TableBuilder; the
``ptable`` and ``cellKey`` R packages of sdcTools): every counted record carries a fixed random
*record key*, uniform on [0, 1); a cell's *cell key* is the fractional part of the sum of its
records' keys; the cell's shown count is its true count plus a perturbation looked up from the
*perturbation table* (ptable) with the true count and the cell key. The same records always give
the same cell key, so the same cell shows the same value on every page and at every filter
setting: asking again, or asking for the same people another way, gains nothing.

The ptable (:class:`PerturbationTable`), for a true count ``i``, is a distribution of the
perturbation ``d`` with

* ``|d| <= D`` (the largest change), and mean zero (no bias in any count);
* variance at most ``V`` (counts near zero have a one-sided support, and a smaller variance);
* shown values ``i + d`` never from 1 to ``js`` (no count small enough to identify a person; with
  the partnership's threshold of 5, ``js = 4``): a small count is shown as 0 or as ``js + 1`` or
  more, and a shown 0 no longer proves that nobody is in the cell;
* zero kept zero (a cell nobody is in has no key; ONS practice);
* among such distributions, the one of maximum entropy (as ``ptable``'s default): the
  probabilities are proportional to ``exp(a d + b d^2)`` on the allowed support.

Why not suppression for the dashboards: suppression protects one table at a time, and filters
that re-cut the same records (periods and areas) let a reader difference tables (the site-wide
audit found hundreds of hidden cells recovered). Perturbation does not stop differencing; it makes
every difference noisy. It does not survive *unlimited* re-cutting either: each distinct window
over the same quarter is another noisy look at it, and enough of them average the noise away
(:func:`differencing_error` measures it). So the method goes with fixed periods. See
``docs/assumptions/disclosure_control.md``, "Tables a reader can re-cut".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog, minimize

__all__ = ["PerturbationTable", "cell_keys", "differencing_error", "record_keys"]


@dataclass(frozen=True)
class PerturbationTable:
    """The perturbation distribution of every true count (see the module's docstring).

    ``D``: largest perturbation; ``V``: its variance where the support allows; ``js``: shown values
    from 1 to ``js`` never occur (the suppression threshold minus one)."""

    D: int = 5
    V: float = 4.0
    js: int = 4
    #: count -> (perturbations, probabilities, cumulative probabilities), made once per count
    _rows: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict, init=False, repr=False,
                                                                         compare=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.D, int) and isinstance(self.js, int)) or self.js < 0 or self.D < max(self.js, 1):
            # a true 1 must be able to reach js + 1 with a mean-zero change: D >= js
            raise ValueError(f"D must be an integer of at least js (here {self.js}) and 1, got {self.D!r}")
        if not 0 < self.V <= self.D ** 2:
            raise ValueError(f"V must be in (0, D^2], got {self.V!r}")

    @property
    def largest_distinct(self) -> int:
        """From this true count on, every row is the same distribution of ``d``."""
        return self.js + self.D + 1

    @property
    def typical_change(self) -> float:
        """The average size of the change to a count that is not small (``E|d|``)."""
        d, p = self.row(self.largest_distinct)
        return float(p @ np.abs(d))

    def variance(self, count: int) -> float:
        """The variance of the perturbation of a true ``count`` (``V`` where the support allows; a
        count near zero has its own)."""
        d, p = self.row(count)
        return float(p @ (d.astype(float) ** 2))

    def support(self, count: int) -> np.ndarray:
        """The perturbations allowed for a true ``count``."""
        if count == 0:
            return np.zeros(1, dtype=np.int64)
        d = np.arange(-self.D, self.D + 1)
        shown = count + d
        return d[(shown == 0) | (shown > self.js)]

    def row(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``(d, p)``: the perturbations of a true ``count`` and their probabilities."""
        return self._row(count)[:2]

    def _row(self, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        count = min(int(count), self.largest_distinct)
        if count < 0:
            raise ValueError("counts are never negative")
        if count not in self._rows:
            d = self.support(count)
            p = _max_entropy(d.astype(float), self.V)
            self._rows[count] = (d, p, np.cumsum(p))
        return self._rows[count]

    def perturbation(self, count: int, cell_key: float) -> int:
        """The perturbation of a true ``count`` whose cell key is ``cell_key`` (the interval of the
        cumulative distribution the key falls in)."""
        d, _, cumulative = self._row(count)
        i = int(np.searchsorted(cumulative, cell_key, side="right"))
        return int(d[min(i, len(d) - 1)])

    def perturb(self, counts: Iterable[int], keys: Iterable[float]) -> np.ndarray:
        """Shown counts: each true count plus its perturbation."""
        counts = np.asarray(list(counts), dtype=np.int64)
        keys = np.asarray(list(keys), dtype=float)
        return np.asarray([c + self.perturbation(c, k) for c, k in zip(counts, keys, strict=True)], dtype=np.int64)

    def true_range(self, shown: int) -> tuple[int, int]:
        """The true counts that could be shown as ``shown`` (what a reader who knows the ptable
        learns from one cell): a shown 0 is a true 0 to ``D``; a shown ``s`` above ``js`` is a
        true ``max(1, s - D)`` to ``s + D``."""
        if shown == 0:
            return 0, self.D
        if 1 <= shown <= self.js:
            raise ValueError(f"{shown} is never shown")
        return max(1, shown - self.D), shown + self.D


def _max_entropy(d: np.ndarray, variance: float) -> np.ndarray:
    """The maximum-entropy distribution on the perturbations ``d`` with mean zero and variance at
    most ``variance``: the maximum-entropy one with mean zero alone when its variance is no more
    (a count near zero, whose support is one-sided), else the one with variance ``variance`` if
    the support allows it. "At most" keeps every row's tails falling away from the count: with an
    exact variance a true 2 (mostly shown as 0) was shown as 14 to 17 more often than as 13."""
    if len(d) == 1:
        return np.ones(1)
    free = _fit(d, None)
    lo, hi = _variance_range(d)
    if float(free @ d ** 2) <= variance or not lo + 1e-9 < variance < hi - 1e-9:
        return free
    return _fit(d, variance)


def _fit(d: np.ndarray, target: float | None) -> np.ndarray:
    """The maximum-entropy distribution on ``d`` with mean zero and, unless ``target`` is None,
    variance ``target`` (solved through its dual: ``p`` proportional to ``exp(a d + b d^2)``)."""

    def dual(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = theta[0], (theta[1] if target is not None else 0.0)
        z = a * d + b * d ** 2
        m = z.max()
        w = np.exp(z - m)
        s = w.sum()
        p = w / s
        grad = [float(p @ d)]
        value = m + math.log(s)
        if target is not None:
            value -= b * target
            grad.append(float(p @ d ** 2) - target)
        return value, np.asarray(grad)

    start = np.zeros(2 if target is not None else 1)
    res = minimize(dual, start, jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 1000})
    a, b = res.x[0], (res.x[1] if target is not None else 0.0)
    z = a * d + b * d ** 2
    p = np.exp(z - z.max())
    return p / p.sum()


def _variance_range(d: np.ndarray) -> tuple[float, float]:
    """The smallest and largest variance of a mean-zero distribution on ``d``."""
    a_eq = np.vstack([np.ones_like(d), d])
    out = []
    for sign in (1.0, -1.0):
        res = linprog(sign * d ** 2, A_eq=a_eq, b_eq=[1.0, 0.0], bounds=(0, None), method="highs")
        out.append(sign * res.fun if res.status == 0 else math.nan)
    return out[0], out[1]


def record_keys(ids: Iterable[str], secret: bytes, namespace: str = "record") -> np.ndarray:
    """A fixed key, uniform on [0, 1), for each record id: the keyed hash the pseudonyms use
    (:meth:`workbench.ingest.pseudonymise.PseudonymKey.pseudonyms`, HMAC-SHA256 of the namespace
    and the id, 80 bits), read as a fraction, so nobody without the secret can work the keys out
    and the same record always has the same key."""
    from workbench.ingest.pseudonymise import PSEUDONYM_HEX_CHARS, PseudonymKey

    digests = PseudonymKey(secret, is_demo=False, origin="cell keys").pseudonyms(namespace, ids)
    return np.asarray([int(h, 16) for h in digests], dtype=float) / 16.0 ** PSEUDONYM_HEX_CHARS


def cell_keys(keys: np.ndarray, cells: np.ndarray) -> dict[object, float]:
    """The cell key of each cell: the fractional part of the sum of its records' keys (``cells``
    names each record's cell)."""
    sums: dict[object, float] = {}
    for cell, key in zip(cells.tolist(), keys.tolist(), strict=True):
        sums[cell] = sums.get(cell, 0.0) + key
    return {cell: s % 1.0 for cell, s in sums.items()}


def differencing_error(quarterly: np.ndarray, windows: list[tuple[int, int]], table: PerturbationTable,
                       rng: np.random.Generator) -> np.ndarray:
    """What a reader recovers from perturbed window totals: each window ``(i, j)`` (quarters ``i``
    to ``j`` inclusive) is shown perturbed with its own cell key; the reader fits the quarterly
    counts by least squares to every window shown. Returns the reader's estimate minus the truth
    for each quarter. Few, fixed windows leave each quarter with its perturbation's error; every
    run of quarters (what a free "from" and "to" allows) averages it away."""
    n = len(quarterly)
    a = np.zeros((len(windows), n))
    for r, (i, j) in enumerate(windows):
        a[r, i: j + 1] = 1.0
    true = a @ quarterly
    shown = table.perturb(true.astype(np.int64), rng.random(len(windows)))
    estimate, *_ = np.linalg.lstsq(a, shown.astype(float), rcond=None)
    return estimate - quarterly
