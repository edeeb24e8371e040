"""Closed-form pieces of the planted models: piecewise-constant hazards, sampling and incidence.

Kept apart from the simulation so the truth (planted cumulative incidence, potential outcomes)
is computed from exactly the same formulas the simulation samples from.
"""

from __future__ import annotations

import numpy as np

DAYS_PER_YEAR = 365.25


def baseline_arrays(pieces: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breakpoints (days), rates per day and cumulative baseline hazard at each breakpoint."""
    starts = np.array([p[0] for p in pieces], dtype=float)
    rates = np.array([p[1] for p in pieces], dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(rates[:-1] * np.diff(starts))])
    return starts, rates, cum


def cumulative_baseline(t: np.ndarray, pieces: list[tuple[float, float]]) -> np.ndarray:
    starts, rates, cum = baseline_arrays(pieces)
    t = np.asarray(t, dtype=float)
    k = np.searchsorted(starts, t, side="right") - 1
    return cum[k] + rates[k] * (t - starts[k])


def sample_event_times(
    rng: np.random.Generator, multiplier: np.ndarray, pieces: list[tuple[float, float]]
) -> np.ndarray:
    """Continuous event times (days) from hazard multiplier * baseline, by inverting H(t)."""
    starts, rates, cum = baseline_arrays(pieces)
    target = rng.exponential(1.0, size=len(multiplier)) / multiplier
    # The last breakpoint whose cumulative hazard is <= target; flat (zero-rate) pieces are skipped
    # because side="right" lands on the last breakpoint sharing the same cumulative value.
    k = np.searchsorted(cum, target, side="right") - 1
    return starts[k] + (target - cum[k]) / rates[k]


def cumulative_incidence(
    t: float, multiplier: np.ndarray, death_rate: np.ndarray, pieces: list[tuple[float, float]]
) -> np.ndarray:
    """P(event by t, before death) per person: exact integral with constant death hazard."""
    starts, rates, cum = baseline_arrays(pieces)
    multiplier = np.asarray(multiplier, dtype=float)
    death_rate = np.asarray(death_rate, dtype=float)
    total = np.zeros_like(multiplier)
    ends = np.append(starts[1:], np.inf)
    for a, b, rate, h in zip(starts, ends, rates, cum, strict=True):
        if a >= t:
            break
        e = min(b, t)
        r = rate * multiplier
        both = r + death_rate
        surv_a = np.exp(-multiplier * h - death_rate * a)
        with np.errstate(invalid="ignore", divide="ignore"):
            part = np.where(both > 0, r / both * surv_a * (1.0 - np.exp(-both * (e - a))), 0.0)
        total += part
    return total


def housing_first_pieces(effect) -> list[tuple[float, float]]:
    """Baseline pieces times the Housing First hazard ratio when it changes over time (a scenario's
    ``ReturnsEffect.hr_housing_first_late``): early ratio before ``hr_change_day``, late after."""
    change, early, late = float(effect.hr_change_day), effect.hr_housing_first, effect.hr_housing_first_late
    starts = sorted({p[0] for p in effect.baseline_pieces} | {change})
    out = []
    for a in starts:
        base = [r for s, r in effect.baseline_pieces if s <= a][-1]
        out.append((a, base * (early if a < change else late)))
    return out


def death_rate_per_day(rate_per_year_at_40: float, slope: float, age_years: np.ndarray) -> np.ndarray:
    return rate_per_year_at_40 / DAYS_PER_YEAR * np.exp(slope * (np.asarray(age_years) - 40.0))


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
