"""A share counted through linkage, corrected by a clerical review of a sample of the people counted.

The new arrivals study counts, among the people linkage makes *new arrivals*, those linked to an
earlier presentation. Linkage error moves that share in four ways: a missed link between one
person's outreach records makes a later sighting look new (a *fragment* of someone seen before,
which rarely carries the earlier records); a missed link to an earlier presentation hides it; a
false link invents one; a false link can merge a real arrival into someone seen earlier.

Rates measured on record pairs (precision, recall) do not say how many arrivals are fragments or
how many hidden presentations sit behind the "not presented". A review of the *arrivals* does:
a reviewer takes a sample of them, stratified by what the linkage says (presented or not), and
answers for each (a) was this person seen sleeping rough in the lookback before, under another
record (a fragment), and, if not, (b) had they presented before. This is a validation sample, or
two-phase design (Tenenbein 1970; Carroll et al., *Measurement error in nonlinear models*): the
linkage's classification is known for every arrival (phase 1), the truth for a stratified sample
(phase 2), and

    share = sum_x N_x a_x / n_x  /  sum_x N_x g_x / n_x

where, in stratum x, N_x arrivals, n_x reviewed, g_x of them genuine arrivals and a_x genuine and
presented. Nothing is assumed about how the errors arise; the sample measures their net effect.

**Interval** (:func:`review_corrected_share`): draws from the posterior of the superpopulation
share, with Jeffreys priors: the mix of the strata from Dirichlet(N_x + 1/2) (sampling error of the
arrivals, the same uncertainty a Wilson interval describes) and, in each stratum, the shares of
(genuine and presented, genuine and not, fragment) from Dirichlet(counts + 1/2) (the review's
sampling error); each draw gives the share, and the interval is the draws' 2.5% and 97.5%
quantiles. Simulation rather than the delta method because the share is a ratio whose terms can
sit near 0 or 1 (a stratum reviewed with no fragment found), where a normal approximation gives
intervals outside [0, 1] and too narrow. Arrivals merged into someone seen earlier (hidden) never
reach the sample; they are assumed to have presented as often as the rest (``docs/assumptions/
new_arrivals.md``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: Columns of the strata table: one row per phase-1 stratum.
STRATA_COLUMNS = ("stratum", "arrivals", "reviewed", "genuine", "genuine_presented")


def _check(strata: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in STRATA_COLUMNS if c not in strata.columns]
    if missing:
        raise ValueError(f"The review's strata table lacks column(s) {missing}; it needs {list(STRATA_COLUMNS)}.")
    t = strata.loc[:, list(STRATA_COLUMNS)].copy()
    for c in STRATA_COLUMNS[1:]:
        t[c] = pd.to_numeric(t[c], errors="raise").astype(int)
    bad = t[(t["reviewed"] > t["arrivals"]) | (t["genuine"] > t["reviewed"]) | (t["genuine_presented"] > t["genuine"])
            | (t[list(STRATA_COLUMNS[1:])] < 0).any(axis=1)]
    if len(bad):
        r = bad.iloc[0]
        raise ValueError(f"Review stratum {r['stratum']!r}: counts must satisfy 0 <= genuine_presented <= genuine <= "
                         f"reviewed <= arrivals (got {r['genuine_presented']}, {r['genuine']}, {r['reviewed']}, "
                         f"{r['arrivals']}).")
    return t


def point_estimate(strata: pd.DataFrame) -> dict[str, float]:
    """The corrected share, the estimated number of genuine arrivals and the share of fragments."""
    t = _check(strata)
    t = t[t["arrivals"] > 0]
    if (t["reviewed"] == 0).any():
        empty = ", ".join(t.loc[t["reviewed"] == 0, "stratum"].astype(str))
        raise ValueError(f"No arrival reviewed in stratum {empty}: the correction needs a reviewed sample in every "
                         "stratum that holds arrivals.")
    genuine = float((t["arrivals"] * t["genuine"] / t["reviewed"]).sum())
    presented = float((t["arrivals"] * t["genuine_presented"] / t["reviewed"]).sum())
    n = float(t["arrivals"].sum())
    return {"share": presented / genuine if genuine > 0 else math.nan, "genuine_arrivals": genuine,
            "genuine_presented": presented, "arrivals": n, "fragment_share": 1 - genuine / n if n else math.nan}


def review_corrected_share(strata: pd.DataFrame, *, draws: int = 4000, level: float = 0.95,
                           seed: int = 20240612) -> dict[str, Any]:
    """The corrected share with an interval for sampling and review error (module docstring).

    ``strata``: one row per phase-1 stratum with ``arrivals`` (all of them), ``reviewed`` (decided
    in the sample), ``genuine`` (reviewed and not seen before) and ``genuine_presented``. Returns the
    point estimate (``share``), ``lower``/``upper``, the estimated ``fragment_share`` with its own
    interval, and the number of draws. Seeded, so a run reproduces.
    """
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1.")
    t = _check(strata)
    t = t[t["arrivals"] > 0].reset_index(drop=True)
    point = point_estimate(t)
    rng = np.random.default_rng(seed)
    mix = rng.dirichlet(t["arrivals"].to_numpy(dtype=float) + 0.5, size=draws)  # draws x strata
    cells = np.stack([t["genuine_presented"], t["genuine"] - t["genuine_presented"], t["reviewed"] - t["genuine"]],
                     axis=1).astype(float) + 0.5
    theta = np.stack([rng.dirichlet(c, size=draws) for c in cells], axis=1)  # draws x strata x 3
    presented = (mix * theta[:, :, 0]).sum(axis=1)
    genuine = (mix * (theta[:, :, 0] + theta[:, :, 1])).sum(axis=1)
    share = presented / genuine
    alpha = (1 - level) / 2
    lo, hi = np.quantile(share, [alpha, 1 - alpha])
    f_lo, f_hi = np.quantile(1 - genuine, [alpha, 1 - alpha])
    return {**point, "lower": float(min(lo, point["share"])), "upper": float(max(hi, point["share"])),
            "fragment_lower": float(f_lo), "fragment_upper": float(f_hi), "draws": draws, "level": level,
            "reviewed": int(t["reviewed"].sum())}
