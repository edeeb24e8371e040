"""Disclosure control of the measure tables: small counts, rates, summaries, breakdown margins."""

from __future__ import annotations

import pandas as pd

from workbench.reporting.measure_tables import protect_breakdown, protect_tidy
from workbench.reporting.policy import DisclosurePolicy


def test_protect_tidy_hides_small_counts_rates_and_summaries():
    df = pd.DataFrame({
        "district": ["cherwell", "oxford_city", "Oxfordshire"],
        "period": ["2021-Q1"] * 3,
        "numerator": [3, 40, 43],
        "denominator": [20, 60, 80],
        "rate": [0.15, 40 / 60, 43 / 80],
        "mean_days": [30.0, 50.0, 45.0],
    })
    pt = protect_tidy(df, ["numerator", "denominator"], by=["period", "district"], totals={"district": "Oxfordshire"},
                      rates={"rate": ("numerator", "denominator")}, summaries={"mean_days": "numerator"},
                      policy=DisclosurePolicy(threshold=5))
    v = pt.values.set_index("district")
    # 3 is a small count: hidden, and with it Oxford's 40 (else 43 - 40 gives it away)
    assert v.loc["cherwell", "numerator"] == "[c]" and v.loc["oxford_city", "numerator"] == "[c]"
    assert v.loc["Oxfordshire", "numerator"] == 43
    assert v.loc["cherwell", "rate"] == "[c]"  # its count is hidden
    # means of fewer than 10 people hidden (Cherwell's 3), and those of hidden counts
    assert v.loc["cherwell", "mean_days"] == "[c]"
    assert v.loc["Oxfordshire", "mean_days"] == 45.0
    assert "[c]" in pt.footnote


def test_protect_tidy_hides_rates_with_small_complements():
    df = pd.DataFrame({"district": ["a", "b"], "period": ["p", "p"], "numerator": [18, 30], "denominator": [20, 60],
                       "rate": [0.9, 0.5]})
    pt = protect_tidy(df, ["numerator", "denominator"], by=["period", "district"],
                      rates={"rate": ("numerator", "denominator")})
    v = pt.values.set_index("district")
    # 18 of 20: "all but 2" reveals a small group as surely as "2 did not"
    assert v.loc["a", "rate"] == "[c]" and v.loc["b", "rate"] == 0.5


def test_protect_breakdown_protects_the_category_total():
    df = pd.DataFrame({"district": ["a", "a", "b", "b", "Oxfordshire", "Oxfordshire"],
                       "reason": ["x", "y"] * 3, "count": [2, 30, 20, 25, 22, 55]})
    pt = protect_breakdown(df, "count", row="district", column="reason", row_total="Oxfordshire", column_total="all")
    v = pt.values.set_index(["district", "reason"])["count"]
    assert v[("a", "x")] == "[c]"
    # a's 2 cannot be recovered from a's total (32) and y (30), nor from the county column
    hidden = {k for k, val in v.items() if val == "[c]"}
    assert len(hidden) >= 4  # a cycle of at least four cells around the small count
