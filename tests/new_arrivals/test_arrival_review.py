"""The arrival review: its stratified sample, the second looks it asks for, the counts it gives the
correction, and the headline the study leads with in each case (true linkage, reviewed, not)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from workbench.studies.new_arrivals.headline import CORRECTED, EXACT, NOT_CORRECTED, headline
from workbench.studies.new_arrivals.review import (
    META_KEY,
    ArrivalReviewDesign,
    draw_arrival_sample,
    review_strata,
    second_looks,
)


def paths(n_presented: int, n_not: int) -> pd.DataFrame:
    n = n_presented + n_not
    return pd.DataFrame({"person_id": [f"p{i}" for i in range(n)],
                         "arrival_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) % 300, unit="D"),
                         "arrival_contact_id": [f"OR-{i:07d}" for i in range(n)],
                         "presented": [True] * n_presented + [False] * n_not})


def decisions(rows):
    return pd.DataFrame(rows, columns=["arrival_key", "seen_before", "presented", "reviewer", "decided_at"])


def test_sample_is_stratified_with_two_thirds_where_errors_gather_and_reproducible():
    p = paths(600, 400)
    s = draw_arrival_sample(p, ArrivalReviewDesign(arrivals=150))
    counts = s["stratum"].value_counts()
    assert counts["not presented"] == 100 and counts["presented"] == 50
    assert s["arrival_key"].is_unique
    assert np.allclose(s.loc[s["stratum"] == "presented", "inclusion_probability"], 50 / 600)
    assert (s["linked_presented"] == (s["stratum"] == "presented")).all()
    again = draw_arrival_sample(p.sample(frac=1, random_state=3), ArrivalReviewDesign(arrivals=150))
    assert list(again["arrival_key"]) == list(s["arrival_key"])  # the order of the input does not matter


def test_a_small_stratum_gives_its_unused_share_to_the_other():
    s = draw_arrival_sample(paths(900, 30), ArrivalReviewDesign(arrivals=150))
    counts = s["stratum"].value_counts()
    assert counts["not presented"] == 30 and counts["presented"] == 120


def test_answers_that_disagree_with_the_linkage_get_a_second_look_and_the_latest_counts():
    s = draw_arrival_sample(paths(3, 3), ArrivalReviewDesign(arrivals=6))
    keys = dict(zip(s["arrival_key"], s["linked_presented"], strict=True))
    pres = [k for k, v in keys.items() if v]
    notp = [k for k, v in keys.items() if not v]
    first = decisions([
        (pres[0], "no", "yes", "r1", "2026-01-01T09:00:00"),    # agrees: no second look
        (pres[1], "yes", "", "r1", "2026-01-01T09:01:00"),      # a fragment, says the reviewer: look again
        (pres[2], "no", "no", "r1", "2026-01-01T09:02:00"),     # presented by the linkage, not by the reviewer
        (notp[0], "no", "no", "r1", "2026-01-01T09:03:00"),
        (notp[1], "no", "yes", "r1", "2026-01-01T09:04:00"),    # a missed presentation
        (notp[2], "unsure", "", "r1", "2026-01-01T09:05:00"),
    ])
    again = set(second_looks(s, first)["arrival_key"])
    assert again == {pres[1], pres[2], notp[1], notp[2]}
    second = decisions([(pres[1], "no", "yes", "r2", "2026-01-02T09:00:00"),     # overturned
                        (notp[2], "yes", "", "r2", "2026-01-02T09:01:00")])
    t = review_strata(s, pd.concat([first, second])).set_index("stratum")
    assert t.loc["presented"].to_dict() == {"arrivals": 3, "sampled": 3, "reviewed": 3, "genuine": 3,
                                            "genuine_presented": 2, "unsure": 0}
    assert t.loc["not presented"].to_dict() == {"arrivals": 3, "sampled": 3, "reviewed": 3, "genuine": 2,
                                                "genuine_presented": 1, "unsure": 0}
    # answered twice: no third look; the two still answered once remain
    assert set(second_looks(s, pd.concat([first, second]))["arrival_key"]) == {pres[2], notp[1]}


def test_an_answer_outside_the_vocabulary_is_refused_naming_row_and_column():
    s = draw_arrival_sample(paths(2, 2), ArrivalReviewDesign(arrivals=4))
    bad = decisions([(s["arrival_key"].iloc[0], "maybe", "", "r1", "2026-01-01")])
    with pytest.raises(ValueError, match="row 2, column seen_before"):
        review_strata(s, bad)


def _meta(strata: pd.DataFrame, start="2020-04-03", end="2026-09-30", lookback=60) -> dict[str, str]:
    import json

    return {META_KEY: json.dumps({"period_start": start, "period_end": end, "lookback_months": lookback,
                                  "strata": strata.to_dict(orient="records")})}


def test_headline_in_each_case():
    complete = paths(600, 400)
    period = dict(period_start=dt.date(2020, 4, 3), period_end=dt.date(2026, 9, 30), lookback_months=60)
    exact = headline(complete, meta={}, linkage="truth", alternative=None, **period)
    assert exact["method"] == EXACT and exact["estimate"] == pytest.approx(0.6)

    plain = headline(complete, meta={}, linkage="splink", alternative=None, **period)
    assert plain["method"] == NOT_CORRECTED and "no arrival review" in plain["why"]
    assert (plain["estimate"], plain["lower"], plain["upper"]) == (
        plain["uncorrected"], plain["uncorrected_lower"], plain["uncorrected_upper"])

    strata = pd.DataFrame([{"stratum": "presented", "arrivals": 600, "reviewed": 60, "genuine": 60,
                            "genuine_presented": 58, "unsure": 0},
                           {"stratum": "not presented", "arrivals": 400, "reviewed": 120, "genuine": 84,
                            "genuine_presented": 12, "unsure": 1}])
    fixed = headline(complete, meta=_meta(strata), linkage="splink", alternative=None, **period)
    assert fixed["method"] == CORRECTED
    assert fixed["estimate"] == pytest.approx((580 + 40) / (600 + 280))
    assert fixed["lower"] < fixed["estimate"] < fixed["upper"]
    assert fixed["fragment_share"] == pytest.approx(120 / 1000) and fixed["unsure"] == 1

    # a review of another period, or of the chosen linkage read under an alternative, is not applied
    other = headline(complete, meta=_meta(strata, start="2021-01-01"), linkage="splink", alternative=None, **period)
    assert other["method"] == NOT_CORRECTED and "2021-01-01" in other["why"]
    alt = headline(complete, meta=_meta(strata), linkage="splink", alternative="threshold_0.95", **period)
    assert alt["method"] == NOT_CORRECTED and "alternative" in alt["why"]
    moved = headline(paths(601, 399), meta=_meta(strata), linkage="splink", alternative=None, **period)
    assert moved["method"] == NOT_CORRECTED and "strata" in moved["why"]


def test_the_study_leads_with_its_headline(county_result):
    """On the county ingested with its true linkage: the headline is the plain share, first in the
    findings and in estimates['headline'] as [estimate, lower, upper]."""
    h = county_result.estimates["headline"]
    assert county_result.estimates["headline_method"] == EXACT
    assert list(h) == list(county_result.estimates["presented_share"]["any"])
    assert 0 < h[1] < h[0] < h[2] < 1
    assert county_result.findings[0].startswith("Headline:")
    assert f"{100 * h[0]:.1f}%" in county_result.findings[0]


def test_worst_case_bounds_fall_back_to_the_pair_reviews_critical_rates():
    """A real store has no rates measured against a truth; the bounds then take the clerical pair
    review's rates for critical links at the pessimistic end of their intervals."""
    from workbench.studies.new_arrivals.study import _linkage_quality_from_store

    class Meta:
        def __init__(self, values):
            self.values = values

        def meta(self):
            return self.values

    review = {"linkage": "splink", "linkage_review_critical_precision": "0.99",
              "linkage_review_critical_precision_lower": "0.95", "linkage_review_critical_recall_lower": "0.90"}
    rates, method = _linkage_quality_from_store(Meta(review))
    assert method == "splink"
    assert (rates["linkage_precision"], rates["linkage_recall"]) == (0.95, 0.90)
    assert rates["spurious_arrival_share"] is None
    measured, _ = _linkage_quality_from_store(Meta({**review, "linkage_precision": "0.98", "linkage_recall": "0.94"}))
    assert (measured["linkage_precision"], measured["linkage_recall"]) == (0.98, 0.94)


def test_the_headline_table_is_in_the_shareable_export_with_small_counts_hidden():
    from workbench.reporting.policy import DisclosurePolicy
    from workbench.reporting.study_rules import NEW_ARRIVALS
    from workbench.reporting.study_tables import protect_study
    from workbench.studies.base import StudyResult
    from workbench.studies.new_arrivals.headline import headline_table

    h = dict(estimate=0.6, lower=0.55, upper=0.65, method=CORRECTED, why="200 arrivals reviewed", arrivals=2000,
             presented=1100, uncorrected=0.55, uncorrected_lower=0.53, uncorrected_upper=0.57, reviewed=200, unsure=2,
             fragment_share=0.05, fragment_lower=0.03, fragment_upper=0.08)
    shared = protect_study(StudyResult(study="new_arrivals", parameters={}, tables={"headline": headline_table(h)}),
                           NEW_ARRIVALS, DisclosurePolicy())
    assert "headline" not in shared.withheld
    row = shared.tables["headline"].iloc[0]
    assert float(row["estimate"]) == pytest.approx(0.6) and row["method"] == CORRECTED
    assert row["unsure"] == DisclosurePolicy().suppressed_marker  # 2 unsure answers: a small count
