"""Harrell's concordance of a fitted Cox model, in O((n + events) log^2 n)."""

from __future__ import annotations

import numpy as np

from workbench.statistics.cox_risk_sets import CoxData, prefix_cumsum

__all__ = ["concordance_counts"]


def range_weight_below(
    ranks: np.ndarray, w: np.ndarray, lo: np.ndarray, hi: np.ndarray, q: np.ndarray
) -> np.ndarray:
    """``sum(w[j] for j in range(lo_i, hi_i) if ranks[j] < q_i)`` for every query ``i``.

    A merge-sort tree queried bottom-up like a segment tree, vectorised over queries:
    level ``k`` holds blocks of ``2**k`` positions sorted by rank (one global
    ``searchsorted`` on ``block * M + rank`` keys per level), so the whole computation
    is O((n + queries) log^2 n) numpy work with a loop over the ~log2(n) levels only.
    """
    n = ranks.size
    M = int(max(ranks.max(initial=0), q.max(initial=0))) + 2  # keys never spill over blocks
    perm = np.arange(n)  # positions in level order (level 0: blocks of one)
    left, right = lo.astype(np.int64).copy(), hi.astype(np.int64).copy()
    out = np.zeros(lo.size)
    k = 0
    while (left < right).any():
        # Level k order from level k-1's: pairs of sorted runs, which a stable
        # (tim)sort merges in about linear time.
        keys = (perm >> k) * M + ranks[perm]
        o = np.argsort(keys, kind="stable")
        perm, keys = perm[o], keys[o]
        cw = prefix_cumsum(w[perm])

        # Bottom-up segment-tree walk: an odd left block / odd right end is used whole.
        for side in ("left", "right"):
            if side == "left":
                use = (left < right) & (left & 1).astype(bool)
                b = left[use]
                left = left + use
            else:
                use = (left < right) & (right & 1).astype(bool)
                right = right - use
                b = right[use]
            idx = np.searchsorted(keys, b * M + q[use], side="left")
            out[use] += cw[idx] - cw[np.minimum(b << k, n)]
        left, right = left >> 1, right >> 1
        k += 1
    return out



def concordance_counts(data: CoxData, lp: np.ndarray) -> dict[str, float]:
    """Harrell's C as R's ``coxph`` reports it, with the weighted concordant, discordant and
    tied.x pair counts, for the linear predictor ``lp`` of the sorted data (see
    :attr:`workbench.statistics.cox.CoxPH.concordance_`)."""
    _, ranks = np.unique(lp, return_inverse=True)
    w = data.w
    ev = data.ev_sorted
    g = data.obs_group[ev]
    # Comparable partners of an event at t_g: rows after the tied events of g in the
    # (stratum, exit) order, up to the stratum end, minus those entering at >= t_g.
    lo = data.g_lo_exit[g] + data.d[g]
    hi = data.g_hi_exit[g]
    q = ranks[ev]
    m = q.size
    # One pass answers both "rank < q" and "rank <= q" (= rank < q + 1).
    both = range_weight_below(
        ranks, w, np.tile(lo, 2), np.tile(hi, 2), np.concatenate([q, q + 1])
    )
    less, leq = both[:m], both[m:]
    cw = prefix_cumsum(w)
    total = cw[hi] - cw[lo]
    if data.has_entry:
        re_, we = ranks[data.ord_entry], w[data.ord_entry]
        elo, ehi = data.g_lo_entry[g], data.g_hi_entry[g]
        both = range_weight_below(
            re_, we, np.tile(elo, 2), np.tile(ehi, 2), np.concatenate([q, q + 1])
        )
        less, leq = less - both[:m], leq - both[m:]
        cwe = prefix_cumsum(we)
        total = total - (cwe[ehi] - cwe[elo])
    wi = w[ev]
    conc = float(wi @ less)
    tied = float(wi @ (leq - less))
    disc = float(wi @ (total - leq))
    denom = conc + disc + tied
    c = (conc + tied / 2) / denom if denom > 0 else float("nan")
    return {"concordant": conc, "discordant": disc, "tied.x": tied, "concordance": c}
