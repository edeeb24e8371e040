"""Funnel plots for comparing districts (Spiegelhalter 2005), for proportions and for
observed/expected ratios.

Each district's indicator is plotted against its size (the denominator, or the expected count for
a case-mix-adjusted ratio) with control limits around a target: 95% ("two sigma") and 99.8%
("three sigma"). A district outside the 99.8% limits is flagged; league tables are avoided.

Limits for a proportion with target ``theta`` and denominator ``n``:

- ``method="exact"`` (default): binomial limits with Spiegelhalter's interpolation (2005,
  Appendix A.1.1): for the tail probability ``p`` let ``r_p`` be the smallest ``r`` with
  ``P(R <= r) >= p`` for ``R ~ Binomial(n, theta)``, ``alpha = (P(R <= r_p) - p) /
  (P(R <= r_p) - P(R <= r_p - 1))`` and the limit is ``(r_p - alpha) / n``. This keeps the limits
  smooth although R is discrete.
- ``method="normal"``: ``theta +- z sqrt(theta (1 - theta) / n)`` clipped to [0, 1], the method of
  the PHE/OHID Fingertips funnel plots (PHEindicatormethods ``phe_funnels``; its published test
  values are reproduced in the tests). Fine for the district sizes here (hundreds of cases), poor
  for small ``n``.

Ratios (indirect standardisation): observed ``O`` over expected ``E = sum p_i`` from a
county-wide case-mix model; under the target ratio ``rho`` the variance of ``O`` is
``V = sum q_i (1 - q_i)`` with ``q_i = min(rho p_i, 1)``, and the limits are
``rho +- z sqrt(V) / E`` (normal approximation; with E in the hundreds it is accurate).

**Target.** The standard target is the county rate (all districts pooled; for ratios, 1). A
district far out of line drags the county rate towards itself, which can push an in-line district
outside the limits on the other side. ``target="robust"`` therefore also reports the Phase I
statistical-process-control estimate: the district furthest outside the 99.8% limits is set aside
and the target is re-estimated from the rest, repeatedly, until no district left in the pool is
outside (Montgomery, *Introduction to Statistical Quality Control*, trial control limits); every
district, including those set aside, is then judged against that target. Both are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

# scipy.stats is imported where it is used: the dashboards import this module in every page
# kernel, and only the benchmarking page draws a funnel (docs/assumptions/dashboards.md).

Method = Literal["exact", "normal"]
LEVELS: tuple[float, float] = (0.95, 0.998)
LEVEL_NAMES: dict[float, str] = {0.95: "95", 0.998: "998"}  # column suffixes: lower_95, upper_998...
POSITIONS = ("above 99.8% limit", "above 95% limit", "within limits", "below 95% limit", "below 99.8% limit")


def _z(level: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(1 - (1 - level) / 2))


def binomial_limit(theta: float, n: ArrayLike, p: float) -> np.ndarray:
    """Spiegelhalter's interpolated binomial quantile, as a proportion: the ``p`` limit at ``n``."""
    from scipy import stats

    n = np.asarray(n, dtype=float)
    r = stats.binom.ppf(p, n, theta)
    f_r = stats.binom.cdf(r, n, theta)
    f_below = np.where(r > 0, stats.binom.cdf(r - 1, n, theta), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(f_r > f_below, (f_r - p) / (f_r - f_below), 0.0)
        return np.clip((r - alpha) / n, 0.0, 1.0)


def proportion_limits(theta: float, n: ArrayLike, level: float, method: Method = "exact") -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) control limits for a proportion around ``theta`` at ``level`` (e.g. 0.998)."""
    if not 0 <= theta <= 1:
        raise ValueError("the target must be a proportion")
    n = np.asarray(n, dtype=float)
    tail = (1 - level) / 2
    if method == "exact":
        return binomial_limit(theta, n, tail), binomial_limit(theta, n, 1 - tail)
    if method == "normal":
        half = _z(level) * np.sqrt(theta * (1 - theta) / n)
        return np.clip(theta - half, 0, 1), np.clip(theta + half, 0, 1)
    raise ValueError("method must be 'exact' or 'normal'")


def rate_limits(rate: float, population: ArrayLike, level: float, per: float = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) limits for a rate per ``per`` residents around ``rate``, for populations
    ``population``: the expected count ``E = rate / per * population`` is Poisson, and the limits
    are ``(E +- z sqrt(E)) / population * per`` (normal approximation; with E in the tens or
    more it is close to the exact Poisson limits)."""
    population = np.asarray(population, dtype=float)
    expected = rate / per * population
    half = _z(level) * np.sqrt(np.maximum(expected, 0))
    return (expected - half) / population * per, (expected + half) / population * per


def ratio_limits(rho: float, expected: ArrayLike, variance: ArrayLike, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) limits for an observed/expected ratio around ``rho`` (normal approximation)."""
    half = _z(level) * np.sqrt(np.asarray(variance, float)) / np.asarray(expected, float)
    return np.maximum(rho - half, 0.0), rho + half


def _position(value: np.ndarray, limits: dict[float, tuple[np.ndarray, np.ndarray]]) -> list[str]:
    lo95, hi95 = limits[0.95]
    lo998, hi998 = limits[0.998]
    out = []
    for v, a, b, c, d in zip(value, lo95, hi95, lo998, hi998, strict=True):
        if v > d:
            out.append(POSITIONS[0])
        elif v > b:
            out.append(POSITIONS[1])
        elif v < c:
            out.append(POSITIONS[4])
        elif v < a:
            out.append(POSITIONS[3])
        else:
            out.append(POSITIONS[2])
    return out


def proportion_funnel(
    units: Sequence[str],
    observed: ArrayLike,
    denominator: ArrayLike,
    *,
    target: float | None = None,
    method: Method = "exact",
) -> pd.DataFrame:
    """Each unit's rate with its limits around ``target`` (default: the pooled rate of all units).

    Columns: unit, observed, denominator, rate, target, lower_95, upper_95, lower_998, upper_998,
    z (standardised difference, normal scale), position.
    """
    o = np.asarray(observed, float)
    n = np.asarray(denominator, float)
    if (n <= 0).any() or (o < 0).any() or (o > n).any():
        raise ValueError("need 0 <= observed <= denominator and denominator > 0")
    theta = float(o.sum() / n.sum()) if target is None else float(target)
    rate = o / n
    limits = {lv: proportion_limits(theta, n, lv, method) for lv in LEVELS}
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (rate - theta) / np.sqrt(theta * (1 - theta) / n)
    return pd.DataFrame({
        "unit": list(units), "observed": o, "denominator": n, "rate": rate, "target": theta,
        "lower_95": limits[0.95][0], "upper_95": limits[0.95][1],
        "lower_998": limits[0.998][0], "upper_998": limits[0.998][1],
        "z": z, "position": _position(rate, limits),
    })


def ratio_funnel(
    units: Sequence[str],
    observed: ArrayLike,
    expected: ArrayLike,
    case_probabilities: Sequence[ArrayLike],
    *,
    target: float = 1.0,
) -> pd.DataFrame:
    """Each unit's observed/expected ratio with limits around ``target`` (1 = as the county).

    ``case_probabilities[i]`` are unit i's case-mix probabilities (their sum is ``expected[i]``).
    Columns: unit, observed, expected, ratio, target, lower_95 ... upper_998, z, position.
    """
    o = np.asarray(observed, float)
    e = np.asarray(expected, float)
    var = np.array([float(np.sum(np.minimum(target * np.asarray(p, float), 1.0) * (1 - np.minimum(target * np.asarray(p, float), 1.0))))
                    for p in case_probabilities])
    ratio = o / e
    limits = {lv: ratio_limits(target, e, var, lv) for lv in LEVELS}
    z = (o - target * e) / np.sqrt(var)
    return pd.DataFrame({
        "unit": list(units), "observed": o, "expected": e, "ratio": ratio, "target": target,
        "lower_95": limits[0.95][0], "upper_95": limits[0.95][1],
        "lower_998": limits[0.998][0], "upper_998": limits[0.998][1],
        "z": z, "position": _position(ratio, limits),
    })


def robust_proportion_target(observed: ArrayLike, denominator: ArrayLike, *, method: Method = "exact",
                             level: float = 0.998) -> tuple[float, list[int]]:
    """Phase I target: pooled rate after setting aside, one at a time, the unit furthest outside
    the ``level`` limits. Returns (target, positions of the units set aside)."""
    o = np.asarray(observed, float)
    n = np.asarray(denominator, float)
    pool = np.ones(len(o), bool)
    aside: list[int] = []
    while pool.sum() > 2:  # keep at least two units to estimate a target from
        theta = o[pool].sum() / n[pool].sum()
        lo, hi = proportion_limits(theta, n, level, method)
        rate = o / n
        outside = pool & ((rate < lo) | (rate > hi))
        if not outside.any():
            break
        z = np.abs(rate - theta) / np.sqrt(theta * (1 - theta) / n)
        worst = int(np.argmax(np.where(outside, z, -np.inf)))
        pool[worst] = False
        aside.append(worst)
    return float(o[pool].sum() / n[pool].sum()), aside


def robust_ratio_target(observed: ArrayLike, expected: ArrayLike, case_probabilities: Sequence[ArrayLike],
                        *, level: float = 0.998) -> tuple[float, list[int]]:
    """Phase I target for ratios: sum(O) / sum(E) over the units left in the pool (see above)."""
    o = np.asarray(observed, float)
    e = np.asarray(expected, float)
    pool = np.ones(len(o), bool)
    aside: list[int] = []
    while pool.sum() > 2:
        rho = o[pool].sum() / e[pool].sum()
        f = ratio_funnel(range(len(o)), o, e, case_probabilities, target=rho)
        name = LEVEL_NAMES[level]
        outside = pool & ((f["ratio"] < f[f"lower_{name}"]) | (f["ratio"] > f[f"upper_{name}"])).to_numpy()
        if not outside.any():
            break
        worst = int(np.argmax(np.where(outside, np.abs(f["z"].to_numpy()), -np.inf)))
        pool[worst] = False
        aside.append(worst)
    return float(o[pool].sum() / e[pool].sum()), aside


def funnel_curve(target: float, n_max: float, *, method: Method = "exact", n_min: float = 1.0, points: int = 200) -> pd.DataFrame:
    """Limits along a grid of denominators, for drawing the funnel."""
    n = np.unique(np.round(np.geomspace(max(n_min, 1.0), max(n_max, n_min + 1), points)))
    out = pd.DataFrame({"denominator": n, "target": target})
    for lv in LEVELS:
        lo, hi = proportion_limits(target, n, lv, method)
        out[f"lower_{LEVEL_NAMES[lv]}"], out[f"upper_{LEVEL_NAMES[lv]}"] = lo, hi
    return out


def plot_funnel(table: pd.DataFrame, *, x: str = "denominator", y: str = "rate", curve: pd.DataFrame | None = None,
                labels: dict[str, str] | None = None, title: str = "", xlabel: str = "", ylabel: str = "", ax=None):
    """Draw the funnel: points per unit, the target and the 95% / 99.8% limits. Returns the figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4.5))
    else:
        fig = ax.figure
    if curve is not None:
        ax.plot(curve[x], curve["lower_95"], color="#0072B2", ls="--", lw=1, label="95% limits")
        ax.plot(curve[x], curve["upper_95"], color="#0072B2", ls="--", lw=1)
        ax.plot(curve[x], curve["lower_998"], color="#D55E00", ls="-", lw=1, label="99.8% limits")
        ax.plot(curve[x], curve["upper_998"], color="#D55E00", ls="-", lw=1)
    ax.axhline(float(table["target"].iloc[0]), color="grey", lw=1, label="target")
    flagged = table["position"].str.contains("99.8")
    ax.scatter(table.loc[~flagged, x], table.loc[~flagged, y], color="#000000", zorder=3)
    ax.scatter(table.loc[flagged, x], table.loc[flagged, y], color="#D55E00", marker="D", zorder=3,
               label="outside 99.8% limits")
    for _, row in table.iterrows():
        name = (labels or {}).get(row["unit"], row["unit"])
        ax.annotate(name, (row[x], row[y]), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig
