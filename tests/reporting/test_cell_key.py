"""The cell key method (workbench.reporting.cell_key): the perturbation table's promises, the
lookup, the keys, and why it goes with fixed periods (differencing over free windows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.reporting.cell_key import (
    PerturbationTable,
    cell_keys,
    differencing_error,
    record_keys,
)

TABLE = PerturbationTable(D=5, V=3.0, js=4)


@pytest.mark.parametrize("count", range(0, 16))
def test_each_row_is_unbiased_bounded_and_never_shows_a_small_count(count):
    d, p = TABLE.row(count)
    assert abs(p.sum() - 1) < 1e-12 and (p > 0).all()
    assert abs(p @ d) < 1e-8  # no bias
    assert (np.abs(d) <= TABLE.D).all()
    shown = count + d
    assert not ((shown >= 1) & (shown <= TABLE.js)).any()
    assert (shown >= 0).all()
    if count == 0:
        assert d.tolist() == [0]  # nobody in the cell: shown 0
    # the variance asked for, or less where the most uncertain mean-zero row has less (near zero)
    assert p @ d ** 2 <= TABLE.V + 1e-8 or count <= TABLE.js
    if count >= TABLE.largest_distinct:
        assert abs(p @ d ** 2 - TABLE.V) < 1e-8


@pytest.mark.parametrize("count", range(1, 5))
def test_a_small_count_is_shown_large_less_often_the_larger_it_would_be(count):
    """With the dashboards' largest change (15) and variance (16), a small count shown above the
    threshold is more often shown 5 than 6, 6 than 7, and so on: an exact variance of 16 had a true 2
    shown as 14 to 17 more often than as 13."""
    from workbench.reporting.policy import DisclosurePolicy

    d, p = DisclosurePolicy(method="cell_key").perturbation_table().row(count)
    up = p[d > 0]
    assert (np.diff(up) < 0).all(), up


@pytest.mark.parametrize("count", [1, 3, 6, 12])
def test_rows_are_the_maximum_entropy_form(count):
    """Maximum entropy under moment constraints: log p is a quadratic in d on the support."""
    d, p = TABLE.row(count)
    fit = np.polynomial.polynomial.Polynomial.fit(d, np.log(p), 2)
    assert np.abs(fit(d) - np.log(p)).max() < 1e-6
    # and among mean-zero distributions on the support with its variance, none has more entropy
    entropy = -(p @ np.log(p))
    rng = np.random.default_rng(count)
    for _ in range(200):
        q = p * np.exp(rng.normal(0, 0.05, len(p)))
        q /= q.sum()
        # a random nearby distribution broken in mean or variance is not comparable; keep those that hold both
        if abs(q @ d) < 1e-3 and abs(q @ d ** 2 - p @ d ** 2) < 1e-3:
            assert -(q @ np.log(q)) <= entropy + 1e-6


def test_the_lookup_gives_each_perturbation_its_probability():
    keys = (np.arange(100_000) + 0.5) / 100_000
    for count in (1, 4, 7, 30):
        d, p = TABLE.row(count)
        got = np.asarray([TABLE.perturbation(count, k) for k in keys])
        freq = np.asarray([(got == x).mean() for x in d])
        assert np.abs(freq - p).max() < 2e-5


def test_the_same_records_give_the_same_cell_key_in_any_order():
    ids = [f"person-{i}" for i in range(200)]
    keys = record_keys(ids, b"secret")
    cells = np.asarray([i % 7 for i in range(200)])
    order = np.random.default_rng(0).permutation(200)
    a, b = cell_keys(keys, cells), cell_keys(keys[order], cells[order])
    assert a.keys() == b.keys() and all(abs(a[c] - b[c]) < 1e-9 for c in a)
    assert (record_keys(ids, b"secret") == keys).all()
    assert not np.allclose(record_keys(ids, b"another secret"), keys)


def test_record_keys_are_uniform():
    keys = record_keys((f"id{i}" for i in range(20_000)), b"k")
    assert stats.kstest(keys, "uniform").pvalue > 1e-3
    assert ((keys >= 0) & (keys < 1)).all()


def test_a_reader_knowing_the_table_gets_the_true_count_inside_the_range_of_its_shown_value():
    for count in range(0, 40):
        d, _ = TABLE.row(count)
        for shown in count + d:
            lo, hi = TABLE.true_range(int(shown))
            assert lo <= count <= hi
    with pytest.raises(ValueError, match="never shown"):
        TABLE.true_range(3)


def test_settings_that_cannot_keep_small_counts_off_the_page_are_refused():
    with pytest.raises(ValueError, match="at least js"):
        PerturbationTable(D=3, js=4)  # a true 1 cannot reach 5 with a mean-zero change of at most 3
    with pytest.raises(ValueError, match="V must be"):
        PerturbationTable(D=5, V=0)


def test_free_windows_average_the_noise_away_and_fixed_periods_do_not():
    """Why the method goes with fixed periods: sixteen quarters of small counts, shown (a) as
    each quarter and each year of four, or (b) as every run of quarters (a free "from" and "to":
    136 windows). A reader fitting the quarters by least squares to what is shown is off by the
    perturbation in (a), and much closer in (b)."""
    rng = np.random.default_rng(20)
    fixed = [(i, i) for i in range(16)] + [(4 * k, 4 * k + 3) for k in range(4)]
    free = [(i, j) for i in range(16) for j in range(i, 16)]
    error = {name: np.concatenate([differencing_error(rng.poisson(3, 16), w, TABLE, rng) for _ in range(100)])
             for name, w in (("fixed", fixed), ("free", free))}
    rmse = {k: float(np.sqrt((e ** 2).mean())) for k, e in error.items()}
    assert rmse["fixed"] > 1.5 and rmse["free"] < 1.0, rmse
    assert (np.abs(error["fixed"]) < 0.5).mean() < 0.25 < (np.abs(error["free"]) < 0.5).mean()


@pytest.mark.parametrize("largest, variance, most", [(5, 4.0, 0.03), (None, None, 0.002)])
def test_a_perturbed_table_shows_no_small_count_and_its_margins_are_consistent(largest, variance, most):
    """And what a reader who knows the perturbation table can prove from one table with its
    margins: the audit's ranges hold the truth. With a largest change of 5 (variance 4) a small
    count is proved to be from 1 to 4 in about 1% of cases (two non-empty cells, each shown 5 or
    more, in a row whose total is shown 0); with the defaults (15 and 16) in almost none."""
    from workbench.reporting.audit import find_disclosure_risks, perturbed_ranges
    from workbench.reporting.counts import perturb_counts
    from workbench.reporting.policy import DisclosurePolicy

    settings = {} if largest is None else {"perturbation_max": largest, "perturbation_variance": variance}
    policy = DisclosurePolicy(threshold=5, method="cell_key", **settings)
    rng = np.random.default_rng(3)
    small = proved = 0
    for _ in range(120):
        table = pd.DataFrame(rng.poisson(3, (4, 3)), index=list("abcd"), columns=list("xyz"))
        keys = pd.DataFrame(rng.random((4, 3)), index=table.index, columns=table.columns)
        pt = perturb_counts(table, keys, policy, row_total=True, col_total=True)
        shown = pt.numeric.to_numpy()
        assert not ((shown >= 1) & (shown <= 4)).any() and not pt.mask.to_numpy().any()
        true = pt._audit.parts[0].frame
        assert (np.abs(shown - true.to_numpy()) <= policy.perturbation_max).all()
        # a row's total is the same figure as that row summed on its own: the same shown value
        row_a = perturb_counts(table.loc[["a"]].T.rename(columns={"a": "n"}), keys.loc[["a"]].T.rename(columns={"a": "n"}),
                               policy, col_total=True)
        assert row_a.numeric.loc["Total", "n"] == pt.numeric.loc["a", "Total"]
        ranges = perturbed_ranges(true, pt.numeric, "Total", "Total", policy)
        for j, lo, hi in ranges:
            assert lo - 1e-9 <= true.to_numpy().ravel()[j] <= hi + 1e-9
        small += len(ranges)
        risks = find_disclosure_risks(pt)
        assert set(risks["kind"]) <= {"shown_to_be_small", "exact_recovery"}
        proved += len(risks)
    assert small > 600 and proved <= most * small, (proved, small)
    if largest is not None:
        assert proved > 0  # the risk the page's own check (hiding such a total) is there for
    with pytest.raises(ValueError, match="cell key"):
        perturb_counts(table, keys.iloc[:2], policy)


def test_the_audit_finds_a_small_count_that_a_zero_total_proves_small():
    from workbench.reporting.audit import find_disclosure_risks
    from workbench.reporting.counts import perturb_counts
    from workbench.reporting.policy import DisclosurePolicy

    # a largest change of 5 (variance 4): the keys below are picked for that perturbation table
    policy = DisclosurePolicy(threshold=5, method="cell_key", perturbation_max=5, perturbation_variance=4.0)
    table = pd.DataFrame([[1, 1]], index=["b"], columns=["x", "y"])
    # keys picked so that each 1 is shown as 5 and their total (2, key 0.64) as 0
    pt = perturb_counts(table, pd.DataFrame([[0.82, 0.82]], index=["b"], columns=["x", "y"]), policy, row_total=True)
    assert pt.numeric.loc["b"].tolist() == [5.0, 5.0, 0.0]
    risks = find_disclosure_risks(pt)
    assert sorted(risks["column"]) == ["x", "y"] and set(risks["kind"]) == {"shown_to_be_small"}
    assert risks["lower"].tolist() == [1.0, 1.0] and risks["upper"].tolist() == [4.0, 4.0]


def test_the_policy_names_the_method_and_refuses_what_cannot_protect():
    from workbench.reporting.policy import DisclosurePolicy

    p = DisclosurePolicy.from_dict({"method": "cell_key", "threshold": 7})
    assert p.perturbs and p.perturbation_max == 21 and p.perturbation_table().js == 6  # 3 x threshold
    assert DisclosurePolicy.from_dict(p.to_dict()) == p
    assert "changed a little" in p.footnote_text(perturbed=True) and "[c]" not in p.footnote_text(summaries=False, perturbed=True)
    assert "[c]" in p.footnote_text()  # a table without cell keys is suppressed, and says so
    assert not DisclosurePolicy().perturbs
    with pytest.raises(ValueError, match="method must be one of"):
        DisclosurePolicy(method="noise")
    with pytest.raises(ValueError, match="perturbation_max must be an integer >= 6"):
        DisclosurePolicy(threshold=7, method="cell_key", perturbation_max=5)
    with pytest.raises(ValueError, match="perturbation_variance"):
        DisclosurePolicy(method="cell_key", perturbation_variance=400)  # above 15 squared


def test_the_dashboards_perturb_unless_the_policy_file_names_a_method(tmp_path, monkeypatch):
    from workbench.dashboards.protection import disclosure_policy
    from workbench.reporting.policy import POLICY_ENV, shareable_policy

    assert disclosure_policy().perturbs and not shareable_policy().perturbs  # study exports keep suppression
    path = tmp_path / "policy.yaml"
    path.write_text("disclosure:\n  threshold: 7\n", encoding="utf-8")
    monkeypatch.setenv(POLICY_ENV, str(path))
    assert disclosure_policy().perturbs and disclosure_policy().threshold == 7
    path.write_text("disclosure:\n  threshold: 7\n  method: suppression\n", encoding="utf-8")
    assert not disclosure_policy().perturbs
