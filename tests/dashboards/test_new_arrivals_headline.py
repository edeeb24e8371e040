"""The new arrivals page shows the study's headline: the same estimate and interval, from the
precomputed aggregates, in words that say whether it was corrected for linkage error."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.dashboards.aggregates import Aggregates, build_aggregates, load_aggregates
from workbench.dashboards.pages.new_arrivals import study_headline_panel
from workbench.reporting.policy import DisclosurePolicy
from workbench.store import Store


def _agg(**row) -> Aggregates:
    base = {"estimate": 0.597, "lower": 0.552, "upper": 0.634, "method": "corrected by arrival review",
            "why": "200 arrivals reviewed", "arrivals": 2000, "presented": 1100, "uncorrected": 0.55,
            "uncorrected_lower": 0.528, "uncorrected_upper": 0.572, "period_start": "2020-04-03",
            "period_end": "2026-09-30"}
    return Aggregates(tables={"new_arrivals_headline": pd.DataFrame([{**base, **row}])},
                      meta={"new_arrivals_headline_available": "true", "extract_date": "2026-09-30"})


def test_a_corrected_headline_is_shown_with_its_interval_and_the_uncorrected_figure():
    panel = study_headline_panel(_agg(), DisclosurePolicy())
    assert panel.headline.startswith("60% (95% interval 55% to 63%)")
    assert "April 2020" in panel.headline and "September 2026" in panel.headline
    assert "55%" in panel.definitions and not panel.notice


def test_an_uncorrected_headline_is_flagged_not_given_as_the_answer():
    panel = study_headline_panel(_agg(method="not corrected", estimate=0.55, lower=0.528, upper=0.572),
                                 DisclosurePolicy())
    assert "not corrected for linkage error" in panel.headline
    assert "lower figure, not the answer" in panel.notice
    assert "53% to 57%" in panel.definitions


def test_too_few_people_hides_it():
    panel = study_headline_panel(_agg(arrivals=12, presented=10), DisclosurePolicy())
    assert "hidden" in panel.headline and "%" not in panel.headline


@pytest.mark.slow
def test_the_page_shows_the_study_headline_of_the_county(county_data_dir, tmp_path):
    import shutil

    from workbench.studies.new_arrivals import run

    data_dir = tmp_path / "data"
    shutil.copytree(county_data_dir, data_dir)
    build_aggregates(data_dir)
    row = load_aggregates(data_dir, build=False)["new_arrivals_headline"].iloc[0]
    study = run(Store(data_dir)).estimates
    assert [row["estimate"], row["lower"], row["upper"]] == pytest.approx(study["headline"])
    assert row["method"] == study["headline_method"] == "true linkage"
    panel = study_headline_panel(load_aggregates(data_dir, build=False), DisclosurePolicy())
    assert panel.headline.startswith(f"{100 * study['headline'][0]:.0f}% (95% interval {100 * study['headline'][1]:.0f}%")
