"""The cell key method (workbench.reporting.cell_key): the perturbation table's promises, the
lookup, the keys, and why it goes with fixed periods (differencing over free windows)."""

from __future__ import annotations

import numpy as np
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
    if count > TABLE.js:
        assert abs(p @ d ** 2 - TABLE.V) < 1e-8  # the variance asked for, where the support allows it


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
