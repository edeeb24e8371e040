"""The arrival review: a clerical review of a sample of the study's new arrivals, the measure of
linkage error the headline is corrected with (:mod:`workbench.statistics.linkage_correction`).

Pair rates (``linkage_review_*`` from ``workbench linkage-review``) describe record pairs; the
headline counts people, and its largest error, fragments of people seen before counted as new,
is not a rate of any pair sample. So the study asks reviewers about its own units:

1. :func:`draw_arrival_sample` draws a stratified random sample of the arrivals in the headline
   (those with the whole contact lookback): by what the linkage says, presented or not, with
   ``not_presented_share`` of the sample where errors gather (fragments and missed presentations
   both land among the "not presented"; false links, at the linkage's precision, are rare).
2. Inside the secure step, a reviewer looks up each sampled arrival's contact and the person's
   records in every source (by name, nickname, date of birth, NI number, client reference) and
   answers two questions: ``seen_before`` (yes, no, unsure): was this person seen bedded down by
   outreach in the ``lookback_months`` before the arrival, under another record; and, if not,
   ``presented`` (yes, no, unsure): had they presented in the study's contact lookback (the
   study's definition). As in the pair review, an answer that disagrees with the linkage gets a
   second look by another reviewer and the latest answer is final (:func:`second_looks`).
3. :func:`review_strata` turns the final answers into counts per stratum; :func:`record_arrival_review`
   stores them with the snapshot (``store_meta``: ``linkage_review_arrivals``, JSON with the period
   and lookback they apply to); :func:`arrival_review_from_meta` reads them back for the study.

Unsure answers are left out (the decided arrivals of their stratum stand for them) and counted.
The sample holds pseudonymous person ids and record ids only; the identifiers stay in the secure
step.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

META_KEY = "linkage_review_arrivals"
YES, NO, UNSURE = "yes", "no", "unsure"
PRESENTED, NOT_PRESENTED = "presented", "not presented"
DECISION_COLUMNS = ("arrival_key", "seen_before", "presented", "reviewer", "decided_at")


@dataclass(frozen=True)
class ArrivalReviewDesign:
    """How many arrivals to review and how to spread them over the two strata."""

    arrivals: int = 200
    not_presented_share: float = 2 / 3
    seed: int = 20240612


def arrival_key(paths: pd.DataFrame) -> pd.Series:
    """One key per arrival: its person id and arrival date."""
    return paths["person_id"].astype(str) + "@" + pd.to_datetime(paths["arrival_date"]).dt.strftime("%Y-%m-%d")


def _allocation(sizes: dict[str, int], design: ArrivalReviewDesign) -> dict[str, int]:
    total = min(design.arrivals, sum(sizes.values()))
    want = {NOT_PRESENTED: round(total * design.not_presented_share)}
    want[PRESENTED] = total - want[NOT_PRESENTED]
    out = {k: min(sizes.get(k, 0), v) for k, v in want.items()}
    spare = total - sum(out.values())  # a small stratum's unused share goes to the other
    for k in out:
        add = min(spare, sizes.get(k, 0) - out[k])
        out[k] += add
        spare -= add
    return out


def draw_arrival_sample(paths: pd.DataFrame, design: ArrivalReviewDesign | None = None) -> pd.DataFrame:
    """A simple random sample of arrivals in each stratum (presented or not, by the linkage).

    ``paths``: one row per arrival in the headline (``person_id``, ``arrival_date``,
    ``arrival_contact_id``, ``presented``). Returns the sampled rows with ``arrival_key``,
    ``linked_presented`` (what the linkage says), ``stratum``, ``stratum_arrivals`` and
    ``inclusion_probability``.
    """
    design = design or ArrivalReviewDesign()
    rng = np.random.default_rng(design.seed)
    p = paths.assign(arrival_key=arrival_key(paths).to_numpy(),
                     stratum=np.where(paths["presented"].to_numpy(dtype=bool), PRESENTED, NOT_PRESENTED))
    sizes = p["stratum"].value_counts().to_dict()
    take = _allocation(sizes, design)
    parts = []
    for stratum in (PRESENTED, NOT_PRESENTED):
        members = p[p["stratum"] == stratum].sort_values("arrival_key")
        k = take.get(stratum, 0)
        if k == 0:
            continue
        pick = np.sort(rng.choice(len(members), size=k, replace=False))
        parts.append(members.iloc[pick].assign(stratum_arrivals=len(members), inclusion_probability=k / len(members)))
    keep = ["arrival_key", "person_id", "arrival_date", "arrival_contact_id", "linked_presented", "stratum",
            "stratum_arrivals", "inclusion_probability"]
    if not parts:
        return pd.DataFrame(columns=keep)
    return pd.concat(parts, ignore_index=True).rename(columns={"presented": "linked_presented"})[keep]


def final_answers(decisions: pd.DataFrame) -> pd.DataFrame:
    """Each arrival's latest answers (a second look overrides the first), indexed by arrival_key."""
    missing = [c for c in DECISION_COLUMNS if c not in decisions.columns]
    if missing:
        raise ValueError(f"Arrival review decisions lack column(s) {missing}; they need {list(DECISION_COLUMNS)}.")
    bad = decisions[~decisions["seen_before"].isin([YES, NO, UNSURE])]
    if len(bad):
        raise ValueError(f"Arrival review decisions, row {bad.index[0] + 2}, column seen_before: "
                         f"{bad['seen_before'].iloc[0]!r} is not one of yes, no, unsure.")
    ok = decisions["presented"].isin([YES, NO, UNSURE]) | (decisions["seen_before"] != NO)
    if not ok.all():
        row = decisions[~ok].index[0]
        raise ValueError(f"Arrival review decisions, row {row + 2}, column presented: "
                         f"{decisions.loc[row, 'presented']!r} is not one of yes, no, unsure (needed unless seen_before "
                         "is yes or unsure).")
    d = decisions.reset_index(drop=True).sort_values("decided_at", kind="stable")
    return d.groupby("arrival_key")[["seen_before", "presented"]].last()


def second_looks(sample: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Sampled arrivals answered once whose answer disagrees with the linkage or is unsure: seen
    before (the linkage says new), or presented not as the linkage says."""
    if decisions.empty:
        return sample.iloc[0:0]
    once = decisions.groupby("arrival_key").size()
    once = once[once == 1].index
    answers = final_answers(decisions)
    s = sample[sample["arrival_key"].isin(once)]
    a = answers.reindex(s["arrival_key"])
    linked = np.where(s["linked_presented"].to_numpy(dtype=bool), YES, NO)
    disagree = ((a["seen_before"] != NO).to_numpy()
                | ((a["seen_before"] == NO).to_numpy() & (a["presented"].to_numpy() != linked)))
    return s[disagree]


def review_strata(sample: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Counts per stratum for :func:`workbench.statistics.linkage_correction.review_corrected_share`:
    arrivals, reviewed (decided), genuine (not seen before), genuine_presented, unsure."""
    answers = final_answers(decisions) if len(decisions) else pd.DataFrame(columns=["seen_before", "presented"])
    s = sample.join(answers, on="arrival_key")
    unsure = (s["seen_before"] == UNSURE) | ((s["seen_before"] == NO) & (s["presented"] == UNSURE))
    decided = s["seen_before"].isin([YES, NO]) & ~unsure
    genuine = decided & (s["seen_before"] == NO)
    rows = []
    for stratum in (PRESENTED, NOT_PRESENTED):
        at = (s["stratum"] == stratum).to_numpy()
        size = int(s.loc[at, "stratum_arrivals"].iloc[0]) if at.any() else 0
        rows.append({"stratum": stratum, "arrivals": size, "sampled": int(at.sum()),
                     "reviewed": int((decided & at).sum()), "genuine": int((genuine & at).sum()),
                     "genuine_presented": int((genuine & at & (s["presented"] == YES)).sum()),
                     "unsure": int((unsure & at).sum())})
    return pd.DataFrame(rows)


def record_arrival_review(store, strata: pd.DataFrame, *, period_start: dt.date, period_end: dt.date,
                          lookback_months: int, note: str = "") -> dict[str, str]:
    """Record the review's counts with the store's snapshot, for the study to correct its headline."""
    value = json.dumps({"period_start": str(period_start), "period_end": str(period_end),
                        "lookback_months": int(lookback_months), "note": note,
                        "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                        "strata": strata.to_dict(orient="records")}, default=int)
    values = {META_KEY: value, f"{META_KEY}_reviewed": str(int(strata["reviewed"].sum()))}
    store.record_meta(values)
    return values


def arrival_review_from_meta(meta: dict[str, str]) -> dict[str, Any] | None:
    """The arrival review recorded with a snapshot (period, lookback, strata table), or None."""
    raw = meta.get(META_KEY)
    if not raw:
        return None
    try:
        value = json.loads(raw)
        value["strata"] = pd.DataFrame(value["strata"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"store_meta {META_KEY} is not a readable arrival review ({exc}); record it again with "
                         "record_arrival_review.") from exc
    return value
