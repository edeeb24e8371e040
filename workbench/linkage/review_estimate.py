"""Precision and recall from a clerical review, and from splink's own probabilities.

**The review estimate** (:func:`estimate_from_review`) is design-based. Each reviewed pair stands
for ``N_h / n_h`` pairs of its stratum (Horvitz-Thompson): the matches among linked pairs are
``A = sum_h N_h * ybar_h`` over linked strata, the missed matches ``B`` the same over strata not
linked, so precision is ``A / N_linked`` (the number of linked pairs is known exactly) and recall
``A / (A + B)``. Variances are the stratified ones with the finite-population correction, recall's
by linearisation of the ratio. The confidence interval is Korn and Graubard's (1998; R survey's
``svyciprop(method = "beta")``): a Clopper-Pearson interval at the effective sample size
``p (1 - p) / var``, capped at the pairs reviewed and shrunk by the design's degrees of freedom.
A plain Wald interval would be too narrow here: errors are rare, and a stratum in which the
sample found none contributes no variance at all.

**Decisions**: a pair's final decision is its latest one, so a second look overrides the first
(:func:`final_decisions`). A second look is asked for every pair whose first decision disagrees
with the linkage or is "unsure" (:func:`second_looks`): the usual adjudication of clerical review,
which keeps one reviewer's slips from counting as linkage errors. **Unsure** pairs (and strata
with no decided pair yet) are handled explicitly: the point estimate leaves them out (within its
stratum the decided pairs stand for them), and the interval is widened to cover both extremes,
its lower limit computed with every unsure pair counted against the linkage (a linked pair a
non-match, an unlinked pair a match), its upper limit with every one counted in its favour.

**The model's estimate** (:func:`model_estimate`) is independent of the review: expected false
links ``sum(1 - p)`` over linked scored pairs and expected missed links ``sum(p)`` over scored pairs
not linked, if splink's match probabilities are calibrated.

Both describe the pairs the model scored or linked (``review_design``); links blocking never
proposed are outside both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

MATCH, NON_MATCH, UNSURE = "match", "non-match", "unsure"
DECISIONS = (MATCH, NON_MATCH, UNSURE)
SCOPES = {"all": "overall", "critical": "critical links"}


def final_decisions(decisions: pd.DataFrame) -> pd.Series:
    """Each pair's final decision: its latest (a second look overrides the first), by pair_key."""
    if decisions.empty:
        return pd.Series(dtype=object, name="decision")
    d = decisions.sort_values("decided_at", kind="stable")
    return d.groupby("pair_key")["decision"].last()


def second_looks(sample: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Sampled pairs that need a second look: one decision so far, and it is "unsure" or it
    disagrees with the linkage (a linked pair judged a non-match, an unlinked one a match)."""
    if decisions.empty:
        return sample.iloc[0:0]
    counts = decisions.groupby("pair_key").size()
    once = counts[counts == 1].index
    last = final_decisions(decisions)
    s = sample[sample["pair_key"].isin(once)]
    first = s["pair_key"].map(last)
    discordant = (first == UNSURE) | (s["linked"] & (first == NON_MATCH)) | (~s["linked"] & (first == MATCH))
    return s[discordant.to_numpy()]


@dataclass(frozen=True)
class Interval:
    estimate: float
    lower: float
    upper: float
    reviewed: int  # decided sample pairs in the domain (linked pairs for precision, matches for recall)

    def contains(self, value: float) -> bool:
        return self.lower <= value <= self.upper


def korn_graubard(p: float, var: float, n: int, df: int, level: float) -> tuple[float, float]:
    """Clopper-Pearson interval at the effective sample size (Korn and Graubard, 1998)."""
    if n <= 0 or not math.isfinite(p):
        return 0.0, 1.0
    n_eff = p * (1 - p) / var if var > 0 else float(n)
    n_eff = min(n_eff, float(n))
    alpha = 1 - level
    if df > 0:
        z, t = stats.norm.ppf(1 - alpha / 2), stats.t.ppf(1 - alpha / 2, df)
        n_eff *= (z / t) ** 2
    x = p * n_eff
    lower = 0.0 if x <= 0 else float(stats.beta.ppf(alpha / 2, x, n_eff - x + 1))
    upper = 1.0 if x >= n_eff else float(stats.beta.ppf(1 - alpha / 2, x + 1, n_eff - x))
    return min(lower, p), max(upper, p)


def _strata_sums(strata: pd.DataFrame, reviewed: pd.DataFrame, unsure_as: str | None) -> pd.DataFrame:
    """Per stratum: N, n decided, matches found, HT total of matches and its variance."""
    d = reviewed[["stratum", "linked", "decision"]].copy()
    if unsure_as is not None:  # "against" or "for" the linkage
        against = unsure_as == "against"
        as_match = np.where(d["linked"], not against, against)
        d.loc[d["decision"] == UNSURE, "decision"] = np.where(as_match, MATCH, NON_MATCH)[(d["decision"] == UNSURE).to_numpy()]
    d = d[d["decision"].isin([MATCH, NON_MATCH])]
    g = d.assign(y=(d["decision"] == MATCH).astype(float)).groupby("stratum")["y"].agg(["size", "sum", "var"])
    t = strata.set_index("stratum")[["size", "linked", "critical"]].join(g.rename(columns={"size": "n", "sum": "x"}))
    t["n"] = t["n"].fillna(0).astype(int)
    t["x"] = t["x"].fillna(0.0)
    empty = t["n"] == 0
    if unsure_as is not None:  # a stratum nobody has judged yet: its extreme
        against = unsure_as == "against"
        t.loc[empty, "x"] = 0.0
        t.loc[empty, "ybar"] = np.where(t.loc[empty, "linked"], 0.0 if against else 1.0, 1.0 if against else 0.0)
    t.loc[~empty, "ybar"] = t.loc[~empty, "x"] / t.loc[~empty, "n"]
    s2 = t["var"].where(t["n"] > 1, 0.25)  # one pair: the largest Bernoulli variance
    fpc = 1 - t["n"] / t["size"]
    t["total"] = t["size"] * t["ybar"]
    t["total_var"] = np.where(t["n"] > 0, t["size"] ** 2 * fpc * s2 / t["n"].clip(lower=1), 0.0)
    t["counted"] = ~empty | (unsure_as is not None)
    return t


def _precision_recall(t: pd.DataFrame, level: float) -> tuple[Interval, Interval]:
    census = bool((t["n"] >= t["size"]).all())  # every pair decided: nothing left to estimate
    t = t[t["counted"]]
    lk, ul = t[t["linked"]], t[~t["linked"]]
    df = int(t["n"].sum() - (t["n"] > 0).sum())
    n_linked = float(lk["size"].sum())
    a, var_a = float(lk["total"].sum()), float(lk["total_var"].sum())
    b, var_b = float(ul["total"].sum()), float(ul["total_var"].sum())
    if n_linked > 0:
        p = a / n_linked
        lo, hi = (p, p) if census else korn_graubard(p, var_a / n_linked ** 2, int(lk["n"].sum()), df, level)
        precision = Interval(p, lo, hi, int(lk["n"].sum()))
    else:
        precision = Interval(math.nan, 0.0, 1.0, 0)
    if a + b > 0:
        r = a / (a + b)
        var_r = (b ** 2 * var_a + a ** 2 * var_b) / (a + b) ** 4
        found = int(lk["x"].sum() + ul["x"].sum())
        lo, hi = (r, r) if census else korn_graubard(r, var_r, found, df, level)
        recall = Interval(r, lo, hi, found)
    else:
        recall = Interval(math.nan, 0.0, 1.0, 0)
    return precision, recall


def estimate_from_review(strata: pd.DataFrame, reviewed: pd.DataFrame, *, level: float = 0.95) -> dict[str, Interval]:
    """Precision and recall with intervals, overall and for critical links.

    ``strata``: one row per stratum (stratum, size, linked, critical); ``reviewed``: one row per
    sampled pair (stratum, linked, decision: match, non-match, unsure, or empty if not yet
    reviewed). Keys: ``precision``, ``recall``, ``critical_precision``, ``critical_recall``.
    """
    out: dict[str, Interval] = {}
    for scope in SCOPES:
        keep = strata["critical"] if scope == "critical" else pd.Series(True, index=strata.index)
        st = strata[keep.to_numpy(dtype=bool)]
        rv = reviewed[reviewed["stratum"].isin(st["stratum"])]
        point = _precision_recall(_strata_sums(st, rv, None), level)
        low = _precision_recall(_strata_sums(st, rv, "against"), level)
        high = _precision_recall(_strata_sums(st, rv, "for"), level)
        prefix = "" if scope == "all" else "critical_"
        for i, name in enumerate(("precision", "recall")):
            est = point[i]
            lower = min(est.lower, low[i].lower)
            upper = max(est.upper, high[i].upper)
            out[prefix + name] = Interval(est.estimate, lower, upper, est.reviewed)
    return out


def model_estimate(population: pd.DataFrame) -> dict[str, float]:
    """Precision and recall if splink's probabilities are calibrated, over scored pairs: expected
    false links sum(1 - p) over linked pairs, expected missed links sum(p) over pairs not linked.
    Pairs linked only through others have no probability and are left out (counted in
    ``linked_not_scored``)."""
    out: dict[str, float] = {}
    for scope in SCOPES:
        pop = population[population["critical"]] if scope == "critical" else population
        s = pop[pop["scored"]]
        p = s["match_probability"].to_numpy(dtype=float)
        linked = s["linked"].to_numpy(dtype=bool)
        n_linked = float(linked.sum())
        false = float((1 - p[linked]).sum())
        missed = float(p[~linked].sum())
        prefix = "" if scope == "all" else "critical_"
        out[prefix + "expected_false_links"] = false
        out[prefix + "expected_missed_links"] = missed
        out[prefix + "precision"] = 1 - false / n_linked if n_linked else math.nan
        out[prefix + "recall"] = (n_linked - false) / (n_linked - false + missed) if n_linked - false + missed > 0 else math.nan
        out[prefix + "linked_not_scored"] = float((pop["linked"] & ~pop["scored"]).sum())
    return out
