"""Worst-case bounds on a share counted through linkage, given the linkage's measured error rates.

A study that counts people with an earlier linked record (the new arrivals study: new arrivals who
had presented before) can only be as right as the links. False links can only invent such records
and missed links can only hide them; :func:`linkage_bounds` places the expected numbers of each in
the worst way, from the error rates alone (reasons in ``docs/assumptions/new_arrivals.md``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from workbench.statistics.intervals import wilson


def linkage_bounds(
    paths: pd.DataFrame,
    precision: float | None,
    recall: float | None,
    *,
    spurious_arrival_share: float = 0.0,
    hidden_arrival_share: float = 0.0,
) -> dict[str, Any]:
    """Worst-case bounds on the share who had presented, given the linkage's error rates.

    ``paths`` is one row per arrival with ``earlier_contacts`` (linked presenting records in the
    lookback). With L such links among N arrivals, K of whom have at least one:

    - a false link can only *invent* an earlier contact: about (1 - precision) x L links are false;
      at worst they are the only links of the presenters with fewest links, so the lower bound
      removes whole presenters, fewest links first, until those links are used up (K_low);
    - a missed link can only *hide* one: the links found that are true, precision x L, are a share
      ``recall`` of all true links, so about precision x L x (1 - recall) / recall were missed; at
      worst each belongs to a different arrival counted as not presented (K_high).

    Errors among outreach records change the arrivals themselves. ``spurious_arrival_share`` (s) is
    the share of arrivals that are fragments of someone seen before (missed links between their
    sightings); ``hidden_arrival_share`` (h) the share of true arrivals merged into someone seen
    earlier (false links); both are measured on the synthetic county by ``arrival_linkage_errors``
    (the synthetic evaluation). Of the N arrivals, S = s x N are spurious and T = N - S true;
    H = h / (1 - h) x T true arrivals are missing. At worst every spurious arrival had presented and
    every hidden one had not: lower bound max(0, K_low - S) / (T + H); and the reverse: upper bound
    (min(T, K_high) + H) / (T + H). ``corrected_estimate`` is min(K, T) / T: spurious arrivals
    counted as not having presented (a fragment rarely carries the earlier records) and hidden
    arrivals like the rest. With s = h = 0 the bounds are K_low / N and K_high / N.

    Each bound also gets the Wilson interval at its own end (lower of the lower bound, upper of the
    upper bound), so the pair covers both linkage error and sampling error.
    """
    n = len(paths)
    links = paths["earlier_contacts"].to_numpy(dtype=int)
    k = int((links > 0).sum())
    total_links = int(links.sum())
    out: dict[str, Any] = {"arrivals": n, "presented": k, "links": total_links,
                           "estimate": k / n if n else math.nan, "precision": precision, "recall": recall,
                           "spurious_arrival_share": spurious_arrival_share,
                           "hidden_arrival_share": hidden_arrival_share}
    if precision is None or recall is None or n == 0:
        out.update(lower_bound=math.nan, upper_bound=math.nan, bound_lower_ci=math.nan, bound_upper_ci=math.nan,
                   corrected_estimate=math.nan, false_links=math.nan, missed_links=math.nan)
        return out
    if not (0 < recall <= 1 and 0 <= precision <= 1):
        raise ValueError("precision must be in [0, 1] and recall in (0, 1].")
    if not (0 <= spurious_arrival_share < 1 and 0 <= hidden_arrival_share < 1):
        raise ValueError("spurious_arrival_share and hidden_arrival_share must be in [0, 1).")
    false_links = math.ceil((1 - precision) * total_links - 1e-9)
    missed_links = math.ceil(precision * total_links * (1 - recall) / recall - 1e-9)
    per_presenter = np.sort(links[links > 0])
    removable = int(np.searchsorted(np.cumsum(per_presenter), false_links, side="right"))
    spurious = min(n - 1, math.ceil(spurious_arrival_share * n - 1e-9))
    true_seen = n - spurious
    hidden = math.ceil(hidden_arrival_share / (1 - hidden_arrival_share) * true_seen - 1e-9)
    true_arrivals = true_seen + hidden
    k_low = max(0, k - removable - spurious)
    k_high = min(true_seen, k + min(n - k, missed_links)) + hidden
    out.update(false_links=false_links, missed_links=missed_links, spurious_arrivals=spurious,
               hidden_arrivals=hidden, presented_lower=k_low, presented_upper=k_high,
               lower_bound=k_low / true_arrivals, upper_bound=k_high / true_arrivals,
               corrected_estimate=min(k, true_seen) / true_seen,
               bound_lower_ci=wilson(k_low, true_arrivals)[0], bound_upper_ci=wilson(k_high, true_arrivals)[1])
    return out

