"""Tests for the disclosure control of workbench.reporting.

Hand-worked examples first (each states the expected table), then an independent check of the
LP audit against brute-force enumeration, then property-based tests over random tables.
"""

from __future__ import annotations

import csv
import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from workbench.reporting.audit import assert_safe, feasible_intervals, find_disclosure_risks
from workbench.reporting.counts import TOTAL, protect_counts, protect_long
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import DisclosureRiskError, ProtectedTable
from workbench.reporting.rates import protect_rate, protect_summary

C = "[c]"
DEFAULT = DisclosurePolicy()


def with_margins(frame: pd.DataFrame, rows: bool = True, cols: bool = True) -> pd.DataFrame:
    """Margins computed here, independently of the module."""
    out = frame.copy()
    if rows:
        out[TOTAL] = out.sum(axis=1)
    if cols:
        out.loc[TOTAL] = out.sum(axis=0)
    return out


def primary_only(frame: pd.DataFrame, threshold: int = 5) -> pd.DataFrame:
    """What a naive publisher would show: small counts hidden, nothing else."""
    small = (frame >= 1) & (frame < threshold)
    return frame.astype(object).mask(small, C)


def kinds(risks: pd.DataFrame) -> set[str]:
    return set(risks["kind"])


counts = st.one_of(st.integers(0, 6), st.integers(0, 6), st.integers(0, 60))
policies = st.builds(
    DisclosurePolicy,
    threshold=st.sampled_from([3, 5, 5, 7, 10]),
    suppress_zeros=st.booleans(),
    rounding_base=st.sampled_from([None, None, 5, 10]),
    interval_protection=st.booleans(),
)


# ------------------------------------------------------------------------------------------
# Policy
# ------------------------------------------------------------------------------------------


def test_policy_defaults_follow_uk_practice():
    p = DisclosurePolicy()
    assert p.threshold == 5
    assert p.suppress_zeros is False
    assert p.rounding_base is None
    assert p.min_group_for_summary == 10
    assert p.rate_min_denominator == 5  # defaults to the threshold
    assert p.suppressed_marker == "[c]"
    assert DisclosurePolicy(threshold=10).rate_min_denominator == 10
    assert [p.is_primary(x) for x in (0, 1, 4, 5)] == [False, True, True, False]
    assert DisclosurePolicy(suppress_zeros=True).is_primary(0)


def test_policy_loads_from_dict_and_yaml(tmp_path):
    p = DisclosurePolicy.from_dict({"threshold": 10, "rounding_base": 5})
    assert (p.threshold, p.rounding_base, p.rate_min_denominator) == (10, 5, 10)
    assert DisclosurePolicy.from_dict(p.to_dict()) == p
    path = tmp_path / "policy.yaml"
    path.write_text(
        "disclosure:\n  threshold: 7\n  suppress_zeros: true\n  suppressed_marker: '*'\n"
    )
    q = DisclosurePolicy.from_yaml(path)
    assert (q.threshold, q.suppress_zeros, q.suppressed_marker) == (7, True, "*")
    path.write_text("threshold: 3\n")
    assert DisclosurePolicy.from_yaml(path).threshold == 3


@pytest.mark.parametrize(
    "settings_",
    [
        {"treshold": 5},
        {"threshold": 0},
        {"threshold": True},
        {"rounding_base": 0},
        {"threshold": 2.5},
    ],
)
def test_policy_rejects_typos_and_bad_values(settings_):
    with pytest.raises(ValueError):
        DisclosurePolicy.from_dict(settings_)


def test_rounding_rule():
    p5 = DisclosurePolicy(rounding_base=5)
    assert [p5.round_count(x) for x in (0, 5, 7, 8, 12, 13, 26, 48)] == [
        0,
        5,
        5,
        10,
        10,
        15,
        25,
        50,
    ]
    p10 = DisclosurePolicy(rounding_base=10)
    assert [p10.round_count(x) for x in (5, 14, 15, 24)] == [10, 10, 20, 20]
    # a shown count is never rounded down to look like a small count: 7 -> 10, not 5
    p7 = DisclosurePolicy(threshold=7, rounding_base=5)
    assert p7.round_count(7) == 10
    assert p7.rounding_interval(10) == (7, 12)
    assert p10.rounding_interval(10) == (5, 14)
    assert p5.rounding_interval(0) == (0, 0)  # non-zero counts are never shown as 0
    assert p5.rounding_interval(5) == (5, 7)  # 3 and 4 are hidden, never rounded to 5


@given(policies)
def test_rounding_interval_is_exactly_the_preimage_of_round_count(policy):
    shown_counts = [v for v in range(0, 120) if not policy.is_primary(v)]
    by_shown: dict[int, list[int]] = {}
    for v in shown_counts:
        by_shown.setdefault(policy.round_count(v), []).append(v)
    for shown, preimage in by_shown.items():
        if shown > 100:
            continue  # the preimage of the last values is cut off by range(120)
        assert policy.rounding_interval(shown) == (min(preimage), max(preimage))
        assert preimage == list(range(min(preimage), max(preimage) + 1))


# ------------------------------------------------------------------------------------------
# Hand-worked count tables
# ------------------------------------------------------------------------------------------


def test_1d_one_small_cell_forces_a_second_suppression():
    table = pd.Series({"A": 3, "B": 10, "C": 7, "D": 20, TOTAL: 40}, name="people")
    pt = protect_counts(table)
    # A is small; with the total shown A = 40 - 10 - 7 - 20, so the smallest other cell (C) goes
    assert pt.values["people"].tolist() == [C, 10, C, 20, 40]
    assert pt.primary_mask["people"].tolist() == [True, False, False, False, False]
    assert pt.secondary_mask["people"].tolist() == [False, False, True, False, False]
    assert pt.numeric["people"].isna().tolist() == [True, False, True, False, False]
    assert_safe(pt)
    # the naive table really is unsafe, and the audit says why
    naive = find_disclosure_risks(primary_only(table.to_frame()))
    assert naive[["row", "kind", "lower"]].values.tolist() == [["A", "exact_recovery", 3.0]]


def test_1d_without_total_needs_no_secondary_suppression():
    pt = protect_counts(pd.Series({"A": 3, "B": 10}, name="n"))
    assert pt.values["n"].tolist() == [C, 10]
    assert not pt.secondary_mask.to_numpy().any()


def test_2d_table_secondary_suppression_closes_a_rectangle():
    table = pd.DataFrame(
        {"a": [2, 12, 40], "b": [10, 15, 50], "c": [20, 30, 60]}, index=["x", "y", "z"]
    )
    pt = protect_counts(table, row_total=True, col_total=True)
    expected = pd.DataFrame(
        {
            "a": [C, C, 40, 54],
            "b": [C, C, 50, 75],
            "c": [20, 30, 60, 110],
            TOTAL: [32, 57, 150, 239],
        },
        index=["x", "y", "z", TOTAL],
    )
    pd.testing.assert_frame_equal(pt.values, expected, check_dtype=False)
    assert pt.primary_mask.to_numpy().sum() == 1
    assert_safe(pt)
    # (x, a) can still be anything from 0 to 12: the four hidden cells move together
    ranges = feasible_intervals(pt.values).set_index(["row", "column"])
    assert ranges.loc[("x", "a")].tolist() == [0.0, 12.0]


def test_2d_naive_suppression_is_detected():
    table = pd.DataFrame([[3, 12, 8, 20], [15, 2, 9, 11], [6, 14, 30, 1]], columns=list("abcd"))
    naive = primary_only(with_margins(table))
    risks = find_disclosure_risks(naive)
    assert set(zip(risks["row"], risks["column"], risks["lower"], strict=True)) == {
        (0, "a", 3.0),
        (1, "b", 2.0),
        (2, "d", 1.0),
    }
    with pytest.raises(DisclosureRiskError, match="exact_recovery"):
        assert_safe(naive)
    pt = protect_counts(table, row_total=True, col_total=True)
    assert_safe(pt)
    assert_safe(pt.values)  # the published view, read back as a reader would
    # no row or column (each including its total) is left with a single hidden cell
    assert (pt.mask.sum(axis=1) != 1).all() and (pt.mask.sum(axis=0) != 1).all()


def test_small_total_is_hidden_and_protected():
    pt = protect_counts(pd.Series({"A": 1, "B": 2, "C": 0, TOTAL: 3}, name="n"))
    assert pt.values["n"].tolist() == [C, C, 0, C]
    assert pt.primary_mask["n"].tolist() == [True, True, False, True]
    assert_safe(pt)


def test_small_row_total_in_2d_table():
    table = pd.DataFrame({"a": [1, 8], "b": [2, 9]}, index=["x", "y"])
    pt = protect_counts(table, row_total=True, col_total=True)
    assert pt.primary_mask.loc["x"].tolist() == [True, True, True]
    assert pt.mask.loc["x"].all()
    # x's total of 3 is hidden, but with only it hidden in the Total column, 20 - 17 would give
    # it away: so more of that column is hidden too
    assert pt.mask[TOTAL].sum() >= 2
    assert_safe(pt)


def test_zeros_are_shown_by_default_and_hidden_on_request():
    table = pd.Series({"A": 0, "B": 12, "C": 9, TOTAL: 21}, name="n")
    assert protect_counts(table).values["n"].tolist() == [0, 12, 9, 21]
    pt = protect_counts(table, DisclosurePolicy(suppress_zeros=True))
    assert pt.values["n"].tolist() == [C, 12, C, 21]
    assert_safe(pt)


def test_hidden_zeros_recoverable_through_non_negativity_are_protected():
    # Two hidden zeros with a shown total: the equations alone leave A + B = 0 undetermined,
    # but non-negativity forces A = B = 0. The protection must see this even with the
    # interval rule switched off.
    policy = DisclosurePolicy(suppress_zeros=True, interval_protection=False)
    table = pd.Series({"A": 0, "B": 0, "C": 9, TOTAL: 9}, name="n")
    naive = table.astype(object).mask(table == 0, C).to_frame()
    assert kinds(find_disclosure_risks(naive, policy)) == {"exact_recovery"}
    pt = protect_counts(table, policy)
    assert pt.values["n"].tolist() == [C, C, C, 9]
    assert_safe(pt)


def test_interval_protection_hides_more_when_hidden_cells_sum_to_a_small_number():
    table = pd.Series({"A": 1, "B": 2, "C": 50, TOTAL: 53}, name="n")
    naive = primary_only(table.to_frame())
    # exact recovery is impossible (A + B = 3) but the table proves both are small
    assert kinds(find_disclosure_risks(naive, check_interval=False)) == set()
    assert kinds(find_disclosure_risks(naive)) == {"shown_to_be_small"}
    loose = protect_counts(table, DisclosurePolicy(interval_protection=False))
    assert loose.values["n"].tolist() == [C, C, 50, 53]
    strict = protect_counts(table)
    assert strict.values["n"].tolist() == [C, C, C, 53]
    assert_safe(strict)


def test_rounding_of_shown_counts_and_separately_rounded_totals():
    table = pd.Series({"A": 3, "B": 12, "C": 7, "D": 26, TOTAL: 48}, name="n")
    pt = protect_counts(table, DisclosurePolicy(rounding_base=5))
    assert pt.values["n"].tolist() == [C, 10, C, 25, 50]
    assert pt.numeric["n"].fillna(-1).tolist() == [-1, 10, -1, 25, 50]
    assert "rounded to the nearest 5" in pt.footnote
    assert_safe(pt)  # true values: no exact recovery
    assert_safe(pt.values, pt.policy)  # as published: shown counts stand for their interval


def test_margin_options():
    table = pd.DataFrame({"a": [5, 6], "b": [7, 8]}, index=["x", "y"])
    pt = protect_counts(table, row_total=True)
    assert pt.values[TOTAL].tolist() == [12, 14]
    assert TOTAL not in pt.values.index
    pt = protect_counts(table, col_total=True, total_label="All")
    assert pt.values.loc["All"].tolist() == [11, 15]
    with pytest.raises(ValueError, match="row_total=False"):
        protect_counts(with_margins(table), row_total=False)
    bad = with_margins(table)
    bad.loc["x", TOTAL] = 99
    with pytest.raises(ValueError, match="not the sum"):
        protect_counts(bad)
    with pytest.raises(ValueError, match="whole numbers"):
        protect_counts(pd.DataFrame({"a": [1.5, 2]}))
    with pytest.raises(ValueError, match="whole numbers"):
        protect_counts(pd.DataFrame({"a": [-1, 2]}))


# ------------------------------------------------------------------------------------------
# Long tables, rates, summaries
# ------------------------------------------------------------------------------------------


def district_month_counts() -> pd.DataFrame:
    counts = {
        "Cherwell": [3, 8, 12],
        "Oxford": [20, 25, 2],
        "South Oxfordshire": [6, 1, 9],
        "Vale of White Horse": [0, 7, 11],
    }
    pops = {"Cherwell": 160_000, "Oxford": 160_000, "South Oxfordshire": 150_000}
    pops["Vale of White Horse"] = 4  # tiny denominator, to exercise the rule
    rows = [
        (month, d, counts[d][i], pops[d])
        for i, month in enumerate(["2024-01", "2024-02", "2024-03"])
        for d in counts
    ]
    df = pd.DataFrame(rows, columns=["month", "district", "people", "population"])
    county = df.groupby("month", as_index=False)[["people", "population"]].sum()
    county["district"] = "Oxfordshire"
    df = pd.concat([df, county], ignore_index=True)
    df["rate_per_100k"] = df["people"] / df["population"] * 100_000
    return df


def test_protect_long_matches_the_wide_table_and_hides_rates():
    df = district_month_counts()
    pt = protect_long(
        df,
        "people",
        by=["district", "month"],
        totals={"district": "Oxfordshire"},
        rate_cols={"rate_per_100k": "population"},
    )
    assert list(pt.values.columns) == list(df.columns) and len(pt.values) == len(df)
    # same protection as the wide table with the county row as the column totals
    wide = df.pivot(index="district", columns="month", values="people")
    wide_pt = protect_counts(wide.rename(index={"Oxfordshire": TOTAL}))
    wide_mask = wide_pt.mask.rename(index={TOTAL: "Oxfordshire"})
    long_mask = pd.Series(
        pt.mask["people"].to_numpy(), index=pd.MultiIndex.from_frame(df[["district", "month"]])
    )
    for (d, m), hidden in long_mask.items():
        assert hidden == wide_mask.loc[d, m]
    assert_safe(pt)
    v = pt.values.set_index(["district", "month"])
    # a small count hides its rate
    assert v.loc[("Cherwell", "2024-01"), ["people", "rate_per_100k"]].tolist() == [C, C]
    # a secondary suppression (count >= 5) hides its rate too
    secondary = pt.secondary_mask["people"]
    assert secondary.any() and pt.mask.loc[secondary, "rate_per_100k"].all()
    # the tiny denominator hides the rate, but not a count of 11
    assert v.loc[("Vale of White Horse", "2024-03"), ["people", "rate_per_100k"]].tolist() == [
        11,
        C,
    ]
    # zero counts stay visible and so do their rates (denominator allowing)
    assert v.loc[("Oxford", "2024-01"), "people"] == 20
    assert pt.footnote.count("Rates") == 1


def test_protect_long_rounded_rates_follow_the_rounded_count():
    df = pd.DataFrame({"district": ["A", "B"], "people": [12, 26], "population": [1000, 1000]})
    df["rate"] = df["people"] / df["population"] * 1000
    pt = protect_long(
        df,
        "people",
        by=["district"],
        rate_cols={"rate": "population"},
        policy=DisclosurePolicy(rounding_base=5),
    )
    assert pt.values["people"].tolist() == [10, 25]
    # a rate of 12 per 1,000 would give away the unrounded count behind the shown 10
    assert pt.numeric["rate"].tolist() == pytest.approx([10.0, 25.0])


def test_protect_long_strata_missing_combinations_and_errors():
    df = pd.DataFrame(
        {
            "service": ["outreach"] * 3 + ["hostel"] * 3,
            "district": ["A", "B", "All"] * 2,
            "people": [3, 9, 12, 20, 30, 50],
        }
    )
    pt = protect_long(df, "people", by=["district"], strata=["service"], totals={"district": "All"})
    assert pt.values["people"].tolist() == [C, C, 12, 20, 30, 50]
    assert_safe(pt)
    # an absent combination is a public zero: it cannot be picked for secondary suppression
    sparse = pd.DataFrame(
        {"d": ["A", "A", "B", "T", "T"], "m": [1, 2, 1, 1, 2], "n": [3, 6, 9, 12, 6]}
    )
    # (B, 2) is absent: with zeros suppressed it would be a lone hidden cell in month 2 and force
    # more suppression; as a public zero it is left alone
    pt = protect_long(
        sparse, "n", by=["d", "m"], totals={"d": "T"}, policy=DisclosurePolicy(suppress_zeros=True)
    )
    assert pt.values["n"].tolist() == [C, 6, C, 12, 6]
    assert len(pt.values) == len(sparse)
    assert_safe(pt)
    with pytest.raises(ValueError, match="not unique"):
        protect_long(pd.concat([df, df]), "people", by=["district"], strata=["service"])
    with pytest.raises(ValueError, match="total level"):
        protect_long(df, "people", by=["district"], strata=["service"], totals={"district": "X"})
    with pytest.raises(ValueError, match="not the sum"):
        bad = df.assign(people=[3, 9, 13, 20, 30, 50])
        protect_long(bad, "people", by=["district"], strata=["service"], totals={"district": "All"})


def test_protect_rate_rules():
    assert protect_rate(12, 100, per=100).value == pytest.approx(12.0)
    small = protect_rate(3, 100)
    assert (small.suppressed, small.display, small.reason) == (True, C, "small count")
    assert protect_rate(12, 4).reason == "denominator below 5"
    assert protect_rate(float("nan"), 100).reason == "count hidden"
    assert protect_rate(0, 100).value == 0.0  # a zero is structural
    assert protect_rate(0, 100, DisclosurePolicy(suppress_zeros=True)).suppressed
    # "38 of 40" tells you 2 people did not: hidden for proportions
    assert protect_rate(38, 40, per=100, proportion=True).reason == "small complement"
    assert protect_rate(38, 40, per=100).suppressed is False
    assert protect_rate(12, 100, DisclosurePolicy(rounding_base=5), per=100).value == 10.0
    vec = protect_rate(pd.Series([3, 7, np.nan], index=["a", "b", "c"]), 40, per=100)
    assert isinstance(vec, ProtectedTable)
    assert vec.values["rate"].tolist() == [C, 17.5, C]
    assert vec.primary_mask["rate"].tolist() == [True, False, False]


def test_protect_summary_needs_groups_of_ten():
    nine = protect_summary(range(9))
    assert nine.values.loc["all"].tolist() == [9, C, C]
    ten = protect_summary(range(10))
    assert ten.values.loc["all"].tolist() == [10, 4.5, 4.5]
    three = protect_summary([1.0, 2.0, 3.0, np.nan])
    assert three.values.loc["all"].tolist() == [C, C, C]
    df = pd.DataFrame({"g": ["a"] * 12 + ["b"] * 6, "days": list(range(12)) + list(range(6))})
    grouped = protect_summary(df.groupby("g")["days"])
    assert grouped.values.loc["a"].tolist() == [12, 5.5, 5.5]
    assert grouped.values.loc["b"].tolist() == [6, C, C]
    assert "groups of 10 or more" in grouped.footnote
    assert_safe(grouped)
    tampered = dataclasses.replace(grouped, numeric=grouped.numeric.fillna(1.0))
    assert kinds(find_disclosure_risks(tampered)) == {"average_on_small_group"}


def test_audit_flags_rates_and_counts_shown_in_a_tampered_export():
    df = district_month_counts()
    pt = protect_long(
        df,
        "people",
        by=["district", "month"],
        totals={"district": "Oxfordshire"},
        rate_cols={"rate_per_100k": "population"},
    )
    leaked = pt.numeric.copy()
    leaked["rate_per_100k"] = df["rate_per_100k"]
    leaked["people"] = df["people"].astype(float)
    risks = find_disclosure_risks(dataclasses.replace(pt, numeric=leaked))
    assert {"rate_on_hidden_count", "rate_on_small_denominator", "small_count_shown"} <= kinds(
        risks
    )


# ------------------------------------------------------------------------------------------
# Exports
# ------------------------------------------------------------------------------------------


def test_csv_and_excel_exports_carry_the_footnote(tmp_path):
    table = pd.DataFrame({"a": [2, 12, 40], "b": [10, 15, 50]}, index=["x", "y", "z"])
    pt = protect_counts(table, row_total=True, col_total=True)
    with pt.to_csv(tmp_path / "t.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[1][:2] == ["x", C]
    assert rows[-1][0].startswith("Note: [c] means")
    assert rows[-2] == []
    assert not any(cell == "2" for row in rows for cell in row)
    openpyxl = pytest.importorskip("openpyxl")
    ws = openpyxl.load_workbook(pt.to_excel(tmp_path / "t.xlsx"))["Table"]
    cells = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert pt.footnote in cells and C in cells and 2 not in cells


# ------------------------------------------------------------------------------------------
# The audit itself, against brute force
# ------------------------------------------------------------------------------------------


@st.composite
def published_tables(draw):
    """A small table with both margins, a random set of hidden cells, grand total shown."""
    n_rows = draw(st.integers(1, 3))
    n_cols = draw(st.integers(1, 3 if n_rows < 3 else 2))
    cells = draw(st.lists(st.integers(0, 4), min_size=n_rows * n_cols, max_size=n_rows * n_cols))
    full = with_margins(pd.DataFrame(np.reshape(cells, (n_rows, n_cols))))
    hide = draw(
        st.lists(st.booleans(), min_size=full.size, max_size=full.size).filter(
            lambda h: sum(h[:-1]) > 0
        )
    )
    hide = np.reshape(hide, full.shape)
    hide[-1, -1] = False  # grand total shown: it bounds every cell
    interior_hidden = hide[:-1, :-1].sum()
    if interior_hidden > 4:  # keep the enumeration small
        hide[:-1, :-1] &= np.cumsum(hide[:-1, :-1].ravel()).reshape(n_rows, n_cols) <= 4
    return full, hide


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(published_tables())
def test_lp_intervals_equal_brute_force_enumeration(case):
    full, hide = case
    published = full.astype(object).mask(hide, C)
    lp = feasible_intervals(published)
    values = full.to_numpy()
    n_rows, n_cols = values.shape[0] - 1, values.shape[1] - 1
    grand = int(values[-1, -1])
    hidden_inner = [(i, j) for i in range(n_rows) for j in range(n_cols) if hide[i, j]]
    # every whole-number completion of the hidden interior cells, 0..grand total
    grids = np.meshgrid(*[np.arange(grand + 1)] * len(hidden_inner), indexing="ij")
    combos = np.stack([g.ravel() for g in grids], axis=1) if hidden_inner else np.zeros((1, 0))
    inner = np.broadcast_to(values[:-1, :-1], (len(combos), n_rows, n_cols)).copy()
    for k, (i, j) in enumerate(hidden_inner):
        inner[:, i, j] = combos[:, k]
    tables = np.zeros((len(combos), n_rows + 1, n_cols + 1))
    tables[:, :-1, :-1] = inner
    tables[:, :-1, -1] = inner.sum(axis=2)
    tables[:, -1, :-1] = inner.sum(axis=1)
    tables[:, -1, -1] = inner.sum(axis=(1, 2))
    shown = ~hide
    ok = (tables[:, shown] == values[shown]).all(axis=1)
    feasible = tables[ok]
    assert len(feasible) >= 1  # the true table is always a solution
    got = {(r, c): (lo, hi) for r, c, lo, hi in lp.itertuples(index=False)}
    assert len(got) == hide.sum()
    for i, j in zip(*np.nonzero(hide), strict=True):
        label = (full.index[i], full.columns[j])
        expected = (feasible[:, i, j].min(), feasible[:, i, j].max())
        assert got[label] == pytest.approx(expected), label


def test_audit_reports_small_counts_shown_and_inconsistent_tables():
    shown = pd.DataFrame({"n": [3, 10, 13]}, index=["A", "B", TOTAL])
    assert kinds(find_disclosure_risks(shown)) == {"small_count_shown"}
    zero = pd.DataFrame({"n": [0, 10, 10]}, index=["A", "B", TOTAL])
    assert kinds(find_disclosure_risks(zero)) == set()
    assert kinds(find_disclosure_risks(zero, DisclosurePolicy(suppress_zeros=True))) == {
        "small_count_shown"
    }
    # shown figures that cannot add up, with and without hidden cells
    broken = pd.DataFrame({"n": [C, 10, 9]}, index=["A", "B", TOTAL], dtype=object)
    assert kinds(find_disclosure_risks(broken)) == {"inconsistent"}
    assert kinds(
        find_disclosure_risks(pd.DataFrame({"n": [6, 10, 9]}, index=["A", "B", TOTAL]))
    ) == {"inconsistent"}


# ------------------------------------------------------------------------------------------
# Properties over random tables
# ------------------------------------------------------------------------------------------


@st.composite
def count_tables(draw, max_rows: int = 6, max_cols: int = 8):
    n_rows = draw(st.integers(1, max_rows))
    n_cols = draw(st.integers(1, max_cols))
    cells = draw(st.lists(counts, min_size=n_rows * n_cols, max_size=n_rows * n_cols))
    return pd.DataFrame(
        np.reshape(cells, (n_rows, n_cols)),
        index=[f"r{i}" for i in range(n_rows)],
        columns=[f"c{j}" for j in range(n_cols)],
    )


def check_protected(pt: ProtectedTable, original: pd.DataFrame, policy: DisclosurePolicy) -> None:
    """The properties every protected count table must have."""
    assert pt.values.shape == original.shape
    hidden = pt.mask.to_numpy()
    primary = pt.primary_mask.to_numpy()
    truth = original.to_numpy()
    shown_vals = pt.values.to_numpy()
    # primary suppression is exactly the small-count rule
    small = (truth >= 1) & (truth < policy.threshold)
    if policy.suppress_zeros:
        small |= truth == 0
    assert (primary == small).all()
    assert (hidden | ~primary).all()
    assert (shown_vals[hidden] == policy.suppressed_marker).all()
    assert np.isnan(pt.numeric.to_numpy()[hidden]).all()
    # shown cells: the original, or its rounding, and never a small count
    for got, true in zip(shown_vals[~hidden], truth[~hidden], strict=True):
        assert isinstance(got, int)
        if policy.rounding_base is None:
            assert got == true
        else:
            base = policy.rounding_base
            first_shown = base * max(1, math.ceil(policy.threshold / base))
            assert got % base == 0
            # nearest multiple, or bumped up to the first multiple a shown count may take
            assert abs(got - true) <= base / 2 or (got == first_shown and 0 < true < got)
            assert (got == 0) == (true == 0)
        assert not 1 <= got < policy.threshold
        assert not (policy.suppress_zeros and got == 0)
    # the independent LP audit: no hidden cell is recoverable (nor, with interval protection,
    # shown to be small), judged on the true values of the shown cells ...
    assert_safe(pt, check_interval=policy.interval_protection)
    # ... and on the published values as a reader sees them
    assert_safe(pt.values, policy, check_interval=policy.interval_protection)


def has_lone_small_cell(original: pd.DataFrame, threshold: int) -> bool:
    """A row or column whose total is shown and holds exactly one small count."""
    small = (original >= 1) & (original < threshold)
    lines = []
    if TOTAL in original.columns:
        lines += [small.loc[r] for r in original.index]
    if TOTAL in original.index:
        lines += [small[c] for c in original.columns]
    return any(line.sum() == 1 and not line[TOTAL] for line in lines)


@settings(max_examples=80, deadline=None)
@given(count_tables(), policies, st.booleans(), st.booleans())
def test_property_2d_tables(table, policy, row_total, col_total):
    pt = protect_counts(table, policy, row_total=row_total, col_total=col_total)
    original = with_margins(table, rows=row_total, cols=col_total)
    check_protected(pt, original, policy)
    # the audit is not vacuous: a naive table with a lone small cell in a line whose total is
    # shown is flagged (that cell is the total minus the shown cells)
    if has_lone_small_cell(original, policy.threshold):
        event("naive 2-D table audited")
        naive = primary_only(original, policy.threshold)
        naive_policy = DisclosurePolicy(threshold=policy.threshold)
        assert "exact_recovery" in kinds(find_disclosure_risks(naive, naive_policy))


@settings(max_examples=80, deadline=None)
@given(count_tables(max_cols=1), policies, st.booleans())
def test_property_1d_tables(table, policy, total):
    series = table["c0"].rename("n")
    pt = protect_counts(series, policy, col_total=total)
    original = with_margins(series.to_frame(), rows=False, cols=total)
    check_protected(pt, original, policy)
    # the audit is not vacuous (see the 2-D test)
    if has_lone_small_cell(original, policy.threshold):
        event("naive 1-D table audited")
        naive = primary_only(original, policy.threshold)
        naive_policy = DisclosurePolicy(threshold=policy.threshold)
        assert "exact_recovery" in kinds(find_disclosure_risks(naive, naive_policy))


@settings(max_examples=30, deadline=None)
@given(count_tables(max_rows=5, max_cols=6), policies)
def test_property_long_tables_with_county_total(table, policy):
    wide = with_margins(table, rows=False, cols=True).rename(index={TOTAL: "county"})
    long = wide.rename_axis(index="district", columns="month").stack().rename("n").reset_index()
    long["population"] = 1000
    long["rate"] = long["n"] / long["population"] * 1000
    pt = protect_long(
        long,
        "n",
        by=["district", "month"],
        policy=policy,
        totals={"district": "county"},
        rate_cols={"rate": "population"},
    )
    assert_safe(pt, check_interval=policy.interval_protection)
    assert (pt.mask["rate"] == pt.mask["n"]).all()
    shown = ~pt.mask["n"]
    assert (
        pt.values.loc[shown, "n"] == [policy.round_count(x) for x in long.loc[shown, "n"]]
    ).all()
