"""Turn scored pairs into people: connected components for well-identified records, and a guarded,
local vote for records that carry too little to be linked pair by pair.

Plain connected components at a threshold lets one record that matches two people well enough
(an outreach contact giving only "Paul, about 35") join them into one. So records are split into
*well identified* (a last name, and a date of birth or an NI number) and *weak* (the rest; see
``workbench.linkage.prepare.weak_records``):

1. well-identified records are clustered by connected components of their links at or above the
   threshold (as splink's ``cluster_pairwise_predictions_at_threshold`` does): these are *people*;
2. a weak record is given to a person only when it is unambiguous: among the records within
   ``window_days`` of it that are compatible with it (pair probability at least
   ``min_probability``; the blocking already requires the same first-name group, gender and
   district, and a similar age), those whose person is known vote, each with the pair's odds, and
   one person must hold ``min_share`` of the votes. Weak records given to a person then vote too,
   for ``rounds`` rounds, so a run of contacts between two well-identified ones follows them;
3. weak records still unassigned are joined to each other by their links at or above the
   threshold (connected components among themselves only: never into a person).

Without weak records this is exactly connected components at the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass(frozen=True)
class WeakRecordRule:
    """How records without date of birth or NI number are given to people (settings: clustering)."""

    window_days: int = 150
    min_probability: float = 0.3
    min_share: float = 0.85
    rounds: int = 5
    link_unassigned: bool = True
    weighted: bool = True  # votes weighted by the pair's odds instead of one per record
    #: A weak record with no claimed record near it in time (someone seen again after a long gap)
    #: may be given to a person by the vote of its links at or above this probability at any
    #: distance in time (None: never; it stays apart or with other unclaimed weak records).
    long_gap_min_probability: float | None = None


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label per node, for ``n`` nodes and edges ``a[i] - b[i]``."""
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Relabel so clusters are numbered in order of their first record (stable across runs)."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first)
    remap = np.empty(len(first), dtype=np.int64)
    remap[order] = np.arange(len(first))
    return remap[inverse]


def _assign_weak(
    person: np.ndarray, weak: np.ndarray, voter: np.ndarray, voted: np.ndarray, strength: np.ndarray,
    rule: WeakRecordRule,
) -> np.ndarray:
    """Give weak records to people by unanimous (or ``min_share``) vote of their compatible,
    nearby records; ``voter``/``voted``: directed edges, the voted record being weak."""
    assigned = person.copy()
    weak_idx = np.flatnonzero(weak)
    for _ in range(max(rule.rounds, 1)):
        votes_for = assigned[voter]
        known = votes_for >= 0
        if not known.any():
            break
        tally = (pd.DataFrame({"w": voted[known], "p": votes_for[known], "votes": strength[known]})
                 .groupby(["w", "p"], sort=False)["votes"].sum().reset_index())
        total = tally.groupby("w")["votes"].transform("sum")
        best = tally[tally["votes"] >= rule.min_share * total]
        # With min_share <= 0.5 two people could tie: keep the one with most votes, then lowest id.
        best = best.sort_values(["w", "votes", "p"], ascending=[True, False, True]).drop_duplicates("w")
        new = assigned.copy()
        new[weak_idx] = -1
        new[best["w"].to_numpy()] = best["p"].to_numpy()
        if np.array_equal(new, assigned):
            break
        assigned = new
    return assigned


def _assign_after_gap(
    assigned: np.ndarray, weak: np.ndarray, left: np.ndarray, right: np.ndarray, probability: np.ndarray,
    near: np.ndarray, near_voter: np.ndarray, near_voted: np.ndarray, rule: WeakRecordRule,
) -> np.ndarray:
    """Weak records left unclaimed with no claimed record near them in time (a person back after a
    long gap) are put to a second vote in which their strong links at any distance count too
    (probability >= ``long_gap_min_probability``), as well as their near links, so a run of contacts
    after the gap follows the first one claimed. Records that had a claimed neighbour but no clear
    majority are left alone: the nearby evidence was split, and distant links must not outvote it."""
    n = len(assigned)
    had_near_claimed = np.zeros(n, dtype=bool)
    had_near_claimed[near_voted[assigned[near_voter] >= 0]] = True
    candidate = weak & (assigned < 0) & ~had_near_claimed
    if not candidate.any():
        return assigned
    far = (probability >= rule.long_gap_min_probability) & ~near
    use = (near | far) & (candidate[left] | candidate[right])
    a, b = left[use], right[use]
    voter, voted = np.concatenate([a, b]), np.concatenate([b, a])
    p = np.clip(np.tile(probability[use], 2), 0.0, 1.0 - 1e-12)
    strength = p / (1.0 - p) if rule.weighted else np.ones(len(voter))
    keep = candidate[voted]
    return _assign_weak(assigned, candidate, voter[keep], voted[keep], strength[keep], rule)


def cluster_pairs(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    threshold: float,
    weak: np.ndarray | None = None,
    event_days: np.ndarray | None = None,
    rule: WeakRecordRule | None = None,
) -> np.ndarray:
    """Cluster label per record from scored pairs (record positions ``left``/``right``)."""
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    probability = np.asarray(probability, dtype=float)
    above = probability >= threshold
    if weak is None or not np.any(weak) or rule is None:
        return canonical_labels(components(n, left[above], right[above]))
    weak = np.asarray(weak, dtype=bool)
    if event_days is None:
        raise ValueError("Clustering weak records needs each record's event_days.")
    event_days = np.asarray(event_days, dtype=float)

    # 1. people from links between well-identified records.
    strong_edge = above & ~weak[left] & ~weak[right]
    person = components(n, left[strong_edge], right[strong_edge])
    person = np.where(weak, -1, person)

    # 2. weak records: a vote of compatible records nearby in time.
    near = (probability >= rule.min_probability) & (np.abs(event_days[left] - event_days[right]) <= rule.window_days)
    touches_weak = near & (weak[left] | weak[right])
    a, b = left[touches_weak], right[touches_weak]
    voter = np.concatenate([a, b])
    voted = np.concatenate([b, a])
    if rule.weighted:
        # Odds, not probability: probabilities saturate near 1 and would hide that one candidate
        # matches the record's age or name far better than another.
        p = np.clip(probability[touches_weak], 0.0, 1.0 - 1e-12)
        strength = np.tile(p / (1.0 - p), 2)
    else:
        strength = np.ones(len(voter))
    to_weak = weak[voted]
    assigned = _assign_weak(person, weak, voter[to_weak], voted[to_weak], strength[to_weak], rule)
    if rule.long_gap_min_probability is not None:
        assigned = _assign_after_gap(assigned, weak, left, right, probability, near, voter[to_weak],
                                     voted[to_weak], rule)

    # 3. weak records nobody could claim: linked among themselves at the threshold.
    labels = np.where(assigned >= 0, assigned, n + np.arange(n))
    if rule.link_unassigned:
        free = assigned < 0
        ww = above & free[left] & free[right]
        if ww.any():
            sub = components(n, left[ww], right[ww])
            labels = np.where(free, n + sub, labels)
    return canonical_labels(labels)
