"""Bounds on the headline share under linkage error, by hand and as properties."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.statistics.intervals import wilson
from workbench.statistics.linkage_bounds import linkage_bounds


def frame(links: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"earlier_contacts": links})


def test_perfect_linkage_gives_the_estimate():
    b = linkage_bounds(frame([0, 0, 1, 2, 3]), 1.0, 1.0)
    assert b["estimate"] == b["lower_bound"] == b["upper_bound"] == 3 / 5
    assert b["bound_lower_ci"] == pytest.approx(wilson(3, 5)[0])


def test_false_links_remove_presenters_with_fewest_links_first():
    # 10 links over 4 presenters (1, 1, 2, 6); precision 0.6 -> 4 false links. At worst they are
    # the only links of the presenters with 1, 1 and 2 links: 3 presenters lost.
    b = linkage_bounds(frame([0, 0, 0, 0, 1, 1, 2, 6]), 0.6, 1.0)
    assert b["false_links"] == 4 and b["presented_lower"] == 1 and b["lower_bound"] == 1 / 8
    assert b["upper_bound"] == 4 / 8  # recall 1: nothing hidden


def test_missed_links_add_presenters_up_to_everyone():
    # 4 links, precision 1, recall 0.8 -> 4 x 0.2 / 0.8 = 1 missed link: one more presenter at most.
    b = linkage_bounds(frame([0, 0, 0, 1, 1, 2]), 1.0, 0.8)
    assert b["missed_links"] == 1 and b["presented_upper"] == 4
    # Recall 0.1 would hide 36 links, but there are only 3 people left to gain.
    b = linkage_bounds(frame([0, 0, 0, 1, 1, 2]), 1.0, 0.1)
    assert b["presented_upper"] == 6 and b["upper_bound"] == 1.0


def test_unknown_quality_gives_no_bounds():
    b = linkage_bounds(frame([0, 1]), None, None)
    assert math.isnan(b["lower_bound"]) and b["estimate"] == 0.5
    with pytest.raises(ValueError):
        linkage_bounds(frame([0, 1]), 0.9, 0.0)


@settings(max_examples=200, deadline=None)
@given(links=st.lists(st.integers(0, 6), min_size=1, max_size=60),
       precision=st.floats(0.0, 1.0), recall=st.floats(0.05, 1.0),
       spurious=st.floats(0.0, 0.9), hidden=st.floats(0.0, 0.9))
def test_bounds_bracket_the_estimates_and_worsen_with_quality(links, precision, recall, spurious, hidden):
    b = linkage_bounds(frame(links), precision, recall, spurious_arrival_share=spurious,
                       hidden_arrival_share=hidden)
    assert 0 <= b["lower_bound"] <= b["estimate"] <= b["upper_bound"] <= 1
    assert b["lower_bound"] <= b["corrected_estimate"] <= b["upper_bound"]
    b = linkage_bounds(frame(links), precision, recall)
    assert 0 <= b["lower_bound"] <= b["estimate"] <= b["upper_bound"] <= 1
    assert b["bound_lower_ci"] <= b["lower_bound"] + 1e-12 and b["bound_upper_ci"] >= b["upper_bound"] - 1e-12
    worse = linkage_bounds(frame(links), precision * 0.9, recall * 0.9)
    assert worse["lower_bound"] <= b["lower_bound"] + 1e-12
    # Lower precision also means fewer true links to have missed: only the lower bound must widen.
    same_p = linkage_bounds(frame(links), precision, recall * 0.9)
    assert same_p["upper_bound"] >= b["upper_bound"] - 1e-12


def test_spurious_and_hidden_arrivals_widen_the_bounds():
    # 10 arrivals, 6 presented with one link each; precision and recall 1.
    # s = 0.2: 2 arrivals are fragments of people seen before, 8 true. h = 0.2: 2 true arrivals
    # are missing (0.2 / 0.8 x 8), 10 true arrivals in all.
    paths = frame([1] * 6 + [0] * 4)
    b = linkage_bounds(paths, 1.0, 1.0, spurious_arrival_share=0.2, hidden_arrival_share=0.2)
    assert (b["spurious_arrivals"], b["hidden_arrivals"]) == (2, 2)
    assert b["lower_bound"] == (6 - 2) / 10   # both fragments had "presented"; hidden had not
    assert b["upper_bound"] == (6 + 2) / 10   # fragments had not; hidden had
    assert b["corrected_estimate"] == 6 / 8
    none = linkage_bounds(paths, 1.0, 1.0)
    assert none["lower_bound"] == none["upper_bound"] == none["corrected_estimate"] == 0.6
    with pytest.raises(ValueError):
        linkage_bounds(paths, 1.0, 1.0, spurious_arrival_share=1.0)
