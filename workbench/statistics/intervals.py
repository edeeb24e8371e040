"""Confidence intervals for shares and quantiles: the one place the workbench makes them.

- :func:`wilson` - one proportion, k of n (scalars or arrays); NaN where n is 0.
- :func:`newcombe` - the difference of two independent proportions (Newcombe's hybrid score
  interval, method 10 of Newcombe 1998).
- :func:`goodman` - simultaneous intervals for the shares of a distribution over categories
  (Goodman 1965).
- :func:`bootstrap_quantiles` - sample quantiles with seeded percentile-bootstrap intervals.

Each takes the confidence level as ``confidence`` (default 0.95) and wraps statsmodels, which is
checked against R's ``binom``/``DescTools`` by its maintainers; what the workbench adds is its
convention for empty groups (NaN, never an error) and for a one-category distribution.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# statsmodels is imported where it is used, not here: the dashboards import this module (through
# the measures) in every page kernel, and statsmodels (with patsy, formulaic and most of scipy)
# would add about a second and tens of megabytes to each kernel that never draws an interval.


def wilson(k, n, confidence: float = 0.95):
    """Wilson score interval for ``k`` of ``n``: a pair of floats for scalars, a pair of arrays
    for arrays. Where ``n`` is 0 the interval is NaN."""
    from statsmodels.stats.proportion import proportion_confint

    alpha = 1 - confidence
    if np.ndim(k) == 0 and np.ndim(n) == 0:
        if n == 0:
            return (np.nan, np.nan)
        lo, hi = proportion_confint(int(k), int(n), alpha=alpha, method="wilson")
        return float(lo), float(hi)
    k, n = np.asarray(k, float), np.asarray(n, float)
    lo, hi = np.full(len(n), np.nan), np.full(len(n), np.nan)
    ok = n > 0
    if ok.any():
        lo[ok], hi[ok] = proportion_confint(k[ok], n[ok], alpha=alpha, method="wilson")
    return lo, hi


def newcombe(k1: int, n1: int, k0: int, n0: int, confidence: float = 0.95) -> tuple[float, float]:
    """Interval for ``k1/n1 - k0/n0`` (Newcombe's hybrid score); NaN when either group is empty."""
    if n1 == 0 or n0 == 0:
        return (np.nan, np.nan)
    from statsmodels.stats.proportion import confint_proportions_2indep

    lo, hi = confint_proportions_2indep(k1, n1, k0, n0, method="newcomb", compare="diff", alpha=1 - confidence)
    return float(lo), float(hi)


def goodman(counts, confidence: float = 0.95) -> np.ndarray:
    """Goodman (1965) simultaneous intervals for multinomial shares, one row (lower, upper) per
    category. With one category the share is a single proportion (Wilson)."""
    counts = np.asarray(counts, dtype=float)
    if counts.sum() == 0:
        return np.full((len(counts), 2), np.nan)
    if len(counts) == 1:
        return np.array([wilson(int(counts[0]), int(counts[0]), confidence)])
    from statsmodels.stats.proportion import multinomial_proportions_confint

    return multinomial_proportions_confint(counts, alpha=1 - confidence, method="goodman")


def bootstrap_quantiles(values, qs: tuple[float, ...] = (0.25, 0.5, 0.75), *, replicates: int,
                        seed: int, confidence: float = 0.95) -> pd.DataFrame:
    """Sample quantiles with percentile-bootstrap intervals (seeded, so reproducible).

    ``replicates`` and ``seed`` have no default: a study states them (and records them)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return pd.DataFrame({"quantile": qs, "estimate": np.nan, "lower": np.nan, "upper": np.nan})
    rng = np.random.default_rng(seed)
    boot = np.quantile(x[rng.integers(0, len(x), (replicates, len(x)))], qs, axis=1)
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [tail, 1 - tail], axis=1)
    return pd.DataFrame({"quantile": qs, "estimate": np.quantile(x, qs), "lower": lo, "upper": hi})
