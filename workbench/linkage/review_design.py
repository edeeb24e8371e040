"""Clerical review of a linkage: which record pairs a reviewer is shown, by a stratified design
with known inclusion probabilities, so their decisions estimate precision and recall.

The population a review can reach (:func:`review_population`) is every pair the model *scored*
(down to the settings' ``prediction_floor``) together with every pair the clustering *linked*
(records in one cluster, including pairs joined only through other records and never scored).
Pairs that blocking never brought together, or that scored below the floor, are out of reach:
their links cannot be missed or found by this sample, so recall here is recall among pairs the
model scored or linked (``docs/assumptions/linkage.md`` measures how many true pairs that leaves
out on the synthetic county).

Strata cross three things known before anyone looks (:func:`stratify`):

- whether the pair is linked at the threshold (in one cluster) or not;
- a band of splink's match weight (the threshold's own band edge, so pairs just below the
  threshold are a stratum of their own), or "not scored" for pairs linked only through others;
- whether it is a *critical* link (:func:`critical_links`): the links the new arrivals study
  counts, an outreach contact with an earlier record of a presenting source.

:func:`allocate` spreads the reviews over strata in proportion to stratum size times the spread
the model expects there (Neyman allocation), with a share reserved for the critical strata and a
minimum per stratum; :func:`draw_sample` draws a simple random sample within each stratum, so
every sampled pair carries its inclusion probability ``n_h / N_h`` and design weight ``N_h / n_h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.definitions import definition

#: The source whose contacts make a new arrival (the new arrivals study's sightings).
ARRIVAL_SOURCE = "outreach_contacts"
NOT_SCORED = "not scored"


@dataclass(frozen=True)
class ReviewDesign:
    """How many pairs to review and how to spread them.

    ``weight_bands`` are match-weight cut points (log2 odds; the threshold's weight is added);
    ``critical_share`` of the reviews go to critical strata; every stratum gets at least
    ``min_per_stratum`` (or all its pairs, if fewer). ``spread_floor`` stops allocation trusting
    the model completely: a stratum the model calls certain still gets reviews, as if its error
    rate could be one percent. ``not_scored_spread`` is the spread assumed for pairs
    linked only through others, which have no probability of their own.
    """

    pairs: int = 400
    critical_share: float = 0.5
    min_per_stratum: int = 3
    weight_bands: tuple[float, ...] = (-5.0, 0.0, math.log2(0.9 / 0.1), 10.0, 15.0)
    spread_floor: float = 0.1
    not_scored_spread: float = 0.25
    seed: int = 20240610


def critical_links(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The one definition of a critical link: a pair of an outreach contact and a record of a
    source that counts as presenting for help (``new_arrivals.presenting_sources``) dated before
    the contact, within the study's contact lookback (``new_arrivals.contact_lookback_months``).

    These are the links the new arrivals study counts ("had the arrival presented before?").
    Every outreach contact is included, not only arrival contacts: which contact is a person's
    arrival depends on the very linkage being judged.
    """
    presenting = list(definition("new_arrivals", "presenting_sources"))
    months = int(definition("new_arrivals", "contact_lookback_months"))
    source = frame["source"].astype(str).to_numpy()
    when = pd.to_datetime(frame["event_date"]).to_numpy()
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)

    def one_way(contact: np.ndarray, other: np.ndarray) -> np.ndarray:
        cdate = pd.DatetimeIndex(when[contact])
        start = (cdate - pd.DateOffset(months=months)).to_numpy()
        odate = when[other]
        return ((source[contact] == ARRIVAL_SOURCE) & np.isin(source[other], presenting)
                & (odate < cdate.to_numpy()) & (odate >= start))

    return one_way(left, right) | one_way(right, left)


def linked_pairs(labels: np.ndarray) -> pd.DataFrame:
    """Every pair of records in one cluster (``left < right``, row positions)."""
    labels = np.asarray(labels)
    g = pd.DataFrame({"c": labels, "i": np.arange(len(labels), dtype=np.int64)})
    sizes = g["c"].map(g["c"].value_counts())
    g = g[sizes.to_numpy() > 1]
    m = g.merge(g, on="c", suffixes=("_l", "_r"))
    m = m[m["i_l"] < m["i_r"]]
    return pd.DataFrame({"left": m["i_l"].to_numpy(), "right": m["i_r"].to_numpy()})


def review_population(result, frame: pd.DataFrame) -> pd.DataFrame:
    """The pairs a review can reach: scored pairs and linked pairs, one row each.

    ``result`` is a :class:`workbench.linkage.model.LinkageResult` of ``frame``. Columns: left,
    right (row positions of the frame, left < right), match_probability and match_weight (NaN
    when not scored), scored, linked (same cluster at the threshold), critical.
    """
    n = len(frame)
    p = result.pairs
    lo = np.minimum(p["unique_id_l"].to_numpy(), p["unique_id_r"].to_numpy()).astype(np.int64)
    hi = np.maximum(p["unique_id_l"].to_numpy(), p["unique_id_r"].to_numpy()).astype(np.int64)
    scored = pd.DataFrame({"key": lo * n + hi, "left": lo, "right": hi,
                           "match_probability": p["match_probability"].to_numpy(dtype=float),
                           "match_weight": p["match_weight"].to_numpy(dtype=float)})
    linked = linked_pairs(result.labels)
    linked["key"] = linked["left"] * n + linked["right"]
    extra = linked[~linked["key"].isin(scored["key"])]
    pop = pd.concat([scored.assign(scored=True),
                     extra.assign(match_probability=np.nan, match_weight=np.nan, scored=False)],
                    ignore_index=True)
    labels = np.asarray(result.labels)
    left, right = pop["left"].to_numpy(), pop["right"].to_numpy()
    pop["linked"] = labels[left] == labels[right]
    pop["critical"] = critical_links(frame, left, right)
    return pop.drop(columns="key").sort_values(["left", "right"], ignore_index=True)


def _band_labels(edges: list[float]) -> list[str]:
    bounds = ["-inf", *[f"{e:g}" for e in edges], "inf"]
    return [f"weight {a} to {b}" for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def band_edges(design: ReviewDesign, threshold: float) -> list[float]:
    """Match-weight cut points: the design's bands and the threshold's weight."""
    tw = math.log2(threshold / (1 - threshold))
    return sorted({round(e, 3) for e in (*design.weight_bands, tw)})


def stratify(population: pd.DataFrame, design: ReviewDesign, threshold: float) -> pd.Series:
    """Stratum name per pair: critical or other, linked or not, and the match-weight band."""
    edges = band_edges(design, threshold)
    band = pd.cut(population["match_weight"], [-np.inf, *edges, np.inf], right=False, labels=_band_labels(edges))
    band = band.astype(object).where(population["scored"], NOT_SCORED)
    kind = np.where(population["critical"], "critical", "other")
    status = np.where(population["linked"], "linked", "not linked")
    return pd.Series([f"{k} | {s} | {b}" for k, s, b in zip(kind, status, band, strict=True)],
                     index=population.index, name="stratum")


def strata_table(population: pd.DataFrame, strata: pd.Series, design: ReviewDesign) -> pd.DataFrame:
    """One row per stratum: its size, link status, criticality, the model's mean probability and
    the spread it implies (the Bernoulli standard deviation), for allocation and estimation."""
    t = population.assign(stratum=strata.to_numpy()).groupby("stratum", sort=True).agg(
        size=("left", "size"), linked=("linked", "first"), critical=("critical", "first"),
        scored=("scored", "first"), mean_probability=("match_probability", "mean"),
        expected_matches=("match_probability", "sum"))
    p = t["mean_probability"]
    spread = np.sqrt(p * (1 - p)).where(t["scored"], design.not_scored_spread)
    t["spread"] = np.maximum(spread, design.spread_floor)
    return t.reset_index()


def _share_out(sizes: np.ndarray, score: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Integer allocation: ``minimum`` each (capped at size), the rest by ``score``, capped at size."""
    base = np.minimum(sizes, minimum)
    left = total - base.sum()
    alloc = base.astype(float)
    room = sizes - base
    for _ in range(len(sizes) + 1):  # re-spread what capped strata cannot take
        open_ = room > 0
        if left <= 0 or not open_.any():
            break
        w = np.where(open_, score, 0.0)
        w = w / w.sum() if w.sum() > 0 else open_ / open_.sum()
        add = np.minimum(w * left, room)
        alloc += add
        room = room - add
        left = total - alloc.sum()
    whole = np.floor(alloc + 1e-9).astype(int)
    short = int(round(min(total, sizes.sum()) - whole.sum()))
    if short > 0:  # largest remainders, where there is room
        order = np.argsort(-(alloc - whole))
        for i in order:
            if short == 0:
                break
            if whole[i] < sizes[i]:
                whole[i] += 1
                short -= 1
    return whole


def allocate(strata: pd.DataFrame, design: ReviewDesign) -> pd.Series:
    """Reviews per stratum: the critical share to the critical strata, the rest to the others,
    each part by Neyman allocation (size x spread) after the minimum per stratum."""
    sizes = strata["size"].to_numpy(dtype=int)
    score = (strata["size"] * strata["spread"]).to_numpy(dtype=float)
    crit = strata["critical"].to_numpy(dtype=bool)
    total = min(design.pairs, int(sizes.sum()))
    n_crit = int(round(total * design.critical_share)) if crit.any() and (~crit).any() else (total if crit.any() else 0)
    n_crit = min(n_crit, int(sizes[crit].sum()))
    out = np.zeros(len(strata), dtype=int)
    out[crit] = _share_out(sizes[crit], score[crit], n_crit, design.min_per_stratum)
    out[~crit] = _share_out(sizes[~crit], score[~crit], total - n_crit, design.min_per_stratum)
    return pd.Series(out, index=strata.index, name="sampled")


def draw_sample(population: pd.DataFrame, strata: pd.Series, table: pd.DataFrame, design: ReviewDesign) -> pd.DataFrame:
    """A simple random sample in each stratum, of the sizes in ``table['sampled']``, with each
    pair's inclusion probability and design weight."""
    rng = np.random.default_rng(design.seed)
    parts = []
    grouped = population.assign(stratum=strata.to_numpy()).groupby("stratum", sort=True)
    for row in table.itertuples(index=False):
        members = grouped.get_group(row.stratum)
        k = int(row.sampled)
        if k == 0:
            continue
        pick = np.sort(rng.choice(len(members), size=k, replace=False))
        parts.append(members.iloc[pick].assign(inclusion_probability=k / row.size, design_weight=row.size / k))
    return pd.concat(parts, ignore_index=True)
