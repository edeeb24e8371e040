"""Precomputed aggregates: built atomically beside the store, rebuilt when the store changes, and
their counts reconcile with the store (via the same cohorts the studies use)."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from workbench.dashboards.aggregates import (
    AGGREGATES_FILE,
    COUNTY,
    TABLES,
    Period,
    aggregates_are_current,
    build_aggregates,
    ensure_aggregates,
    load_aggregates,
    quarter_of,
)
from workbench.definitions import DISTRICTS
from workbench.store import Store


@pytest.fixture(scope="module")
def data_dir(small_data_dir, tmp_path_factory):
    # a private copy: some tests here change the store
    target = tmp_path_factory.mktemp("agg") / "data"
    shutil.copytree(small_data_dir, target)
    build_aggregates(target)
    return target


def test_built_atomically_beside_the_store(data_dir):
    path = data_dir / AGGREGATES_FILE
    assert path.exists()
    assert not [p for p in os.listdir(data_dir) if p.startswith(".aggregates-")], "temporary file left behind"
    agg = load_aggregates(data_dir, build=False)
    assert set(agg.tables) == set(TABLES) - {"meta"}
    assert agg.meta["extract_date"] == Store(data_dir).meta()["extract_date"]
    assert aggregates_are_current(data_dir)


def test_rebuilt_when_the_store_is_newer(data_dir):
    before = (data_dir / AGGREGATES_FILE).stat().st_mtime_ns
    store = data_dir / "workbench.duckdb"
    st = store.stat()
    os.utime(store, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))  # "a new ingest"
    assert not aggregates_are_current(data_dir)
    ensure_aggregates(data_dir)
    assert aggregates_are_current(data_dir)
    assert (data_dir / AGGREGATES_FILE).stat().st_mtime_ns != before


def test_they_record_their_definitions_are_owner_only_and_follow_a_change_of_definitions(data_dir, monkeypatch):
    import workbench.dashboards.aggregates as aggregates
    from workbench import definitions

    ensure_aggregates(data_dir)
    agg = load_aggregates(data_dir, build=False)
    assert agg.definitions_version == definitions.version() and agg.definitions_sha256 == definitions.content_hash()
    assert agg.ingest_id == Store(data_dir).ingest_id
    assert (data_dir / AGGREGATES_FILE).stat().st_mode & 0o777 == 0o600
    # definitions.yaml changed (say a code moved between outcome sets): the aggregates are out of date
    monkeypatch.setattr(aggregates.registry, "content_hash", lambda: "0" * 64)
    assert not aggregates_are_current(data_dir)
    ensure_aggregates(data_dir)
    assert load_aggregates(data_dir, build=False).definitions_sha256 == "0" * 64
    monkeypatch.undo()
    ensure_aggregates(data_dir)  # back as they were, for the tests after this one
    assert aggregates_are_current(data_dir)


def test_one_build_at_a_time_and_none_when_another_process_built_them(data_dir, monkeypatch):
    """Several dashboard kernels find the aggregates out of date after an ingest: one builds, the
    others wait for it and then use its file instead of building it again."""
    import fcntl
    import threading

    import workbench.dashboards.aggregates as aggregates

    store = data_dir / "workbench.duckdb"
    st = store.stat()
    os.utime(store, ns=(st.st_atime_ns, st.st_mtime_ns + 20_000_000_000))  # "a new ingest"
    assert not aggregates_are_current(data_dir)
    real_build, builds = aggregates.build_aggregates, []
    monkeypatch.setattr(aggregates, "build_aggregates", lambda d: builds.append(d) or real_build(d))
    lock = data_dir / f".{AGGREGATES_FILE}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process is building
    waiting = threading.Thread(target=ensure_aggregates, args=(data_dir,))
    try:
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive(), "did not wait for the build under way"
        real_build(data_dir)  # the other process's build
    finally:
        os.close(fd)  # releases its lock
    waiting.join(60)
    assert not waiting.is_alive() and builds == []  # it found them built
    assert aggregates_are_current(data_dir) and lock.stat().st_mode & 0o777 == 0o600


def test_a_failed_build_leaves_the_old_aggregates(data_dir, monkeypatch):
    import workbench.dashboards.aggregates as aggregates

    before = (data_dir / AGGREGATES_FILE).read_bytes()

    def boom(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(aggregates, "_compute", boom)
    with pytest.raises(RuntimeError):
        build_aggregates(data_dir)
    assert (data_dir / AGGREGATES_FILE).read_bytes() == before
    assert not [p for p in os.listdir(data_dir) if p.startswith(".aggregates-")]


def test_counts_reconcile_with_the_store(data_dir):
    from workbench.measures.sources import SourceTables

    agg = load_aggregates(data_dir, build=False)
    src = SourceTables.from_store(Store(data_dir))
    cases = src["statutory_cases"]
    duty = agg["duty_outcomes"]
    assert duty.loc[duty.duty == "prevention", "n"].sum() == cases["prevention_duty_end"].notna().sum()
    assert duty.loc[duty.duty == "relief", "n"].sum() == cases["relief_duty_end"].notna().sum()
    assert agg["tenancy_outcomes"]["n"].sum() == len(src["settled_tenancies"])
    assert agg["sa_starts"]["n"].sum() == len(src["supported_accommodation"])
    # the county counts each person once a month; each district counts the people seen there
    rs = agg["rough_sleeping"]
    from workbench.cohorts.rough_sleeping import chain_classification

    chain = chain_classification(src["outreach_contacts"])
    assert rs.loc[rs.area == COUNTY, "n"].sum() == len(chain)
    assert rs.loc[rs.area.isin(DISTRICTS), "n"].sum() >= len(chain)


def test_returns_outcomes_match_the_returns_cohort(data_dir):
    from workbench.cohorts.returns import returns_cohort

    agg = load_aggregates(data_dir, build=False)
    cohort = returns_cohort(Store(data_dir))
    r = agg["returns_outcomes"]
    for months in r.window_months.unique():
        assert r.loc[r.window_months == months, "n"].sum() == len(cohort)
    twelve = r[r.window_months == 12]
    days = 12 * 365.25 / 12
    extract = agg.extract_date
    closed = cohort[(extract - pd.to_datetime(cohort.move_in_date)).dt.days >= days]
    returned = ((closed.status == 1) & (closed.time_days <= days)).sum()
    assert twelve.loc[twelve.outcome == "returned", "n"].sum() == returned
    assert twelve.loc[twelve.outcome != "not_yet", "n"].sum() == len(closed)


def test_select_filters_by_period_shift_and_columns(data_dir):
    agg = load_aggregates(data_dir, build=False)
    df = agg["duty_outcomes"]
    m = df["month"].sort_values().iloc[len(df) // 2]
    period = Period(m, m)
    got = agg.select("duty_outcomes", period=period, duty="relief", district=["cherwell", "oxford_city"])
    want = df[(df.month == m) & (df.duty == "relief") & df.district.isin(["cherwell", "oxford_city"])]
    assert got.equals(want)
    shifted = agg.select("duty_outcomes", period=period, month_shift=3)
    assert (shifted["month"] == m - pd.DateOffset(months=3)).all()


def test_quarters_are_financial_year_quarters(data_dir):
    agg = load_aggregates(data_dir, build=False)
    qs = agg.quarters()
    assert all(q.start.month in (1, 4, 7, 10) for q in qs)
    assert qs[-1].start <= agg.last_month <= qs[-1].end
    assert quarter_of(pd.Timestamp("2025-05-17")).label == "Apr–Jun 2025"
    assert quarter_of(pd.Timestamp("2026-02-01")).financial_year == "2025-26"


def test_missing_cohort_module_marks_the_table_unavailable(data_dir, monkeypatch, tmp_path):
    import workbench.measures.returns as returns_measure

    def missing(*_args, **_kwargs):
        raise ImportError("No module named 'workbench.cohorts.returns'")

    target = tmp_path / "data"
    shutil.copytree(data_dir, target)
    monkeypatch.setattr(returns_measure, "returns_outcome_counts", missing)
    build_aggregates(target)
    agg = load_aggregates(target, build=False)
    assert not agg.available("returns_outcomes")
    assert agg.available("duty_outcomes")


def test_a_case_mix_model_that_cannot_be_fitted_leaves_the_crude_page(data_dir, monkeypatch, tmp_path):
    import numpy as np

    import workbench.measures.benchmarking as benchmarking_measure
    from workbench.dashboards import filters, protection
    from workbench.dashboards.aggregates import COUNTY, Period
    from workbench.dashboards.pages.district_benchmarking import benchmarking_panels

    def singular(*_args, **_kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    target = tmp_path / "data"
    shutil.copytree(data_dir, target)
    monkeypatch.setattr(benchmarking_measure, "case_mix_expected_by_quarter", singular)
    build_aggregates(target)
    agg = load_aggregates(target, build=False)
    assert not agg.available("case_mix_expected") and agg.available("duty_outcomes")
    qs = agg.quarters()
    (panel,) = benchmarking_panels(agg, filters.FilterState(COUNTY, Period(qs[-4].start, qs[-1].end), "prevention"),
                                   protection.disclosure_policy())
    assert not panel.other_charts and "no case-mix adjustment" in panel.definitions.lower()


def test_count_rows_carry_cell_keys_that_stay_the_same_across_rebuilds(data_dir):
    """Issue 20 item 3: each count column has a key per row (uniform on [0, 1), a keyed hash of
    the row's definition under a secret kept owner-only beside the store), the same after a
    rebuild, so a figure is perturbed the same way in every quarter's aggregates."""
    from workbench.dashboards.cell_keys import SECRET_FILE, UNKEYED, key_column

    secret = data_dir / SECRET_FILE
    assert secret.exists() and (secret.stat().st_mode & 0o777) == 0o600
    before = load_aggregates(data_dir, build=False)
    keyed = 0
    for name, df in before.tables.items():
        if name in UNKEYED or "n" not in df or not len(df):
            continue
        keys = df[key_column("n")]
        assert ((keys >= 0) & (keys < 1)).all() and keys.nunique() == len(keys), name
        keyed += 1
    assert keyed >= 14
    # another table's row with the same dimension values gets another key
    assert not before.tables["sa_starts"][key_column("n")].isin(before.tables["pathway_moves"][key_column("n")]).any()
    build_aggregates(data_dir)
    after = load_aggregates(data_dir, build=False)
    for name in ("duty_outcomes", "returns_outcomes", "handovers"):
        pd.testing.assert_series_equal(before.tables[name][key_column("n")], after.tables[name][key_column("n")])


def test_the_cell_key_secret_is_made_once_even_by_builds_at_the_same_time(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    from workbench.dashboards.cell_keys import SECRET_FILE, cell_key_secret

    with ProcessPoolExecutor(4) as pool:
        secrets = set(pool.map(cell_key_secret, [tmp_path] * 16))
    assert len(secrets) == 1 and len(next(iter(secrets))) == 32
    assert [p.name for p in tmp_path.iterdir()] == [SECRET_FILE]
    (tmp_path / SECRET_FILE).write_text("", encoding="ascii")
    with pytest.raises(ValueError, match="does not hold a cell key secret"):
        cell_key_secret(tmp_path)
