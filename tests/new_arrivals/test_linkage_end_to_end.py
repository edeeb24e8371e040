"""End to end on the synthetic county: the headline under the probabilistic (splink) linkage, with
bounds from that linkage's measured error rates, must bracket the headline under the true linkage."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from workbench.studies.new_arrivals import run
from workbench.synthetic.evaluation import arrival_linkage_errors, relinked

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def linkages(synthetic_county):
    pytest.importorskip("splink")
    from workbench.linkage.model import link_frame
    from workbench.synthetic.evaluation import county_frame

    frame, true_labels = county_frame(synthetic_county)
    estimated = np.asarray(link_frame(frame).labels)
    index = pd.MultiIndex.from_arrays([frame["source"].astype(str).to_numpy(),
                                       frame["record_id"].astype(str).to_numpy()])
    true_ids = pd.Series([f"t{v}" for v in true_labels], index=index)
    est_ids = pd.Series([f"e{v}" for v in estimated], index=index)
    return true_ids, est_ids, np.asarray(true_labels), estimated


def test_bounds_from_measured_error_rates_bracket_the_truth(county_tables, county_result, linkages):
    true_ids, est_ids, true_labels, estimated = linkages
    tables = county_tables
    truth = county_result
    p = truth.parameters
    start, end = dt.date.fromisoformat(p["period_start"]), dt.date.fromisoformat(p["period_end"])
    errors = arrival_linkage_errors(tables, est_ids, true_ids, period_start=start, period_end=end)
    estimated_run = run(tables=relinked(tables, est_ids), extract_date=dt.date.fromisoformat(p["extract_date"]),
                        period_start=start, period_end=end,
                        linkage_precision=errors["arrival_link_precision"],
                        linkage_recall=errors["arrival_link_recall"],
                        spurious_arrival_share=errors["spurious_arrival_share"],
                        hidden_arrival_share=errors["hidden_arrival_share"])
    b = estimated_run.estimates["linkage_bounds"]
    true_share = truth.estimates["presented_share"]["any"][0]
    assert b["lower_bound"] <= true_share <= b["upper_bound"]
    # The links the headline counts are harder than the average pair: a first street contact is often
    # a thin one. Their measured recall is below the linkage's overall B-cubed recall, which is why
    # the bounds take the arrival links' own rates (with the overall rates they missed the truth).
    from workbench.linkage.quality import linkage_quality

    assert errors["arrival_link_recall"] < linkage_quality(true_labels, estimated).bcubed_recall


def test_arrival_review_corrects_the_headline_where_the_uncorrected_interval_misses(county_tables, county_result,
                                                                                     linkages):
    """The splink linkage's headline, corrected by a review of 200 arrivals answered by the
    simulated reviewer (2% of answers wrong at random, second looks): its interval contains the
    share under the true linkage and its estimate is closer to it than the uncorrected share, whose
    Wilson interval misses it (fragments of people seen before count as new arrivals). One review
    of 200 has a standard error of about 2 points: the calibration over seeds measures bias."""
    from workbench.statistics.intervals import wilson
    from workbench.statistics.linkage_correction import review_corrected_share
    from workbench.studies.new_arrivals.review import draw_arrival_sample, review_strata
    from workbench.studies.new_arrivals.study import complete_arrivals
    from workbench.synthetic.evaluation import simulated_arrival_review, true_arrivals

    true_ids, est_ids, _, _ = linkages
    p = county_result.parameters
    period = dict(period_start=dt.date.fromisoformat(p["period_start"]),
                  period_end=dt.date.fromisoformat(p["period_end"]), lookback_months=p["lookback_months"])
    complete = complete_arrivals(relinked(county_tables, est_ids), **period)
    truth = true_arrivals(county_tables, true_ids, **period)
    true_share = county_result.estimates["presented_share"]["any"][0]
    assert truth.loc[truth["contact_history_complete"], "presented"].mean() == pytest.approx(true_share)

    sample = draw_arrival_sample(complete)
    decisions = simulated_arrival_review(sample, truth, true_ids, error_rate=0.02, seed=1)
    strata = review_strata(sample, decisions)
    assert strata["reviewed"].sum() == 200
    fixed = review_corrected_share(strata)
    assert fixed["lower"] <= true_share <= fixed["upper"]
    assert fixed["upper"] - fixed["lower"] < 0.10
    uncorrected = complete["presented"].mean()
    assert abs(fixed["share"] - true_share) < abs(uncorrected - true_share)
    lo, hi = wilson(int(complete["presented"].sum()), len(complete))
    assert not lo <= true_share <= hi
    assert fixed["fragment_share"] > 0.02  # the review finds the fragments
