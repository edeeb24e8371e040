"""The ingest's staging database: the stored tables and person ids built there with SQL are those the
pandas functions build from the same accepted rows; the file is owner-only, and never outlives an ingest."""

from __future__ import annotations

import os

import duckdb
import numpy as np
import pandas as pd
import pytest
from factories import EXTRACT_DATE, valid_frame, write_csv, write_extract_folder

from workbench.ingest.pipeline import (
    alternative_person_ids,
    ingest_folder,
    linkage_frame,
    linkage_source_columns,
    pseudonymised_table,
)
from workbench.ingest.pseudonymise import PseudonymKey
from workbench.ingest.staging import Staging
from workbench.ingest.validate import validate_file
from workbench.linkage.deterministic import NORMALISERS, deterministic_labels, link_deterministic
from workbench.linkage.persons import person_ids
from workbench.store.history import remove_leftovers
from workbench.store.layout import POS

KEY = PseudonymKey(b"s" * 40, True, "test key")


def _with_gaps(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Blank some optional values (dates of birth, ages) so that ages are computed, recorded or unknown."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for column in ("date_of_birth", "approximate_age", "age"):
        if column in out.columns:
            out.loc[rng.random(len(out)) < 0.3, column] = ""
    return out


@pytest.fixture
def staged(tmp_path, contracts):
    """Every source's valid rows (with gaps) validated into a staging database, and the same rows
    kept whole in pandas, in the same order."""
    staging = Staging(tmp_path)
    accepted = []
    for i, contract in enumerate(contracts):
        path = write_csv(_with_gaps(valid_frame(contract, 40, seed=i), seed=i), tmp_path / f"{contract.name}.csv")
        whole = validate_file(path, contract, EXTRACT_DATE)
        staged_result = validate_file(path, contract, EXTRACT_DATE, accepted_columns="record_id",
                                      sink=staging.sink(contract, path.name))
        assert staged_result.rows_accepted == whole.rows_accepted > 0
        accepted.append((contract, whole.accepted, path.name))
    yield staging, accepted
    staging.remove()


def test_staged_linkage_frame_person_ids_and_tables_are_the_pandas_ones(staged):
    staging, accepted = staged
    frame = linkage_frame([(c, f) for c, f, _ in accepted])
    from_staging = staging.linkage_frame(linkage_frame, linkage_source_columns)
    pd.testing.assert_frame_equal(from_staging, frame)

    labels = link_deterministic(frame)
    alternatives = {"deterministic rules": labels[::-1].copy(), "another": np.arange(len(frame))}
    pids = person_ids(frame, labels, KEY)
    assert staging.person_ids(labels, alternatives, KEY) == pids.nunique()
    tables = staging.build_tables({c.name: c.identifier_fields for c, _, _ in accepted})
    offset = 0
    for contract, f, file in accepted:
        expected = pseudonymised_table(contract, f, pids.iloc[offset:offset + len(f)], file)
        offset += len(f)
        got = staging.con.execute(f'select * from "{tables[contract.name]}" order by {POS}').df()
        assert list(got[POS]) == list(range(len(f)))
        got = got.drop(columns=POS)
        assert list(got.columns) == list(expected.columns)
        registered = duckdb.sql("select * from expected").df()  # the types the store gave the pandas table
        kinds = staging.con.execute(f'describe select * exclude ({POS}) from "{tables[contract.name]}"').fetchall()
        assert [k[:2] for k in kinds] == [k[:2] for k in duckdb.sql("describe select * from expected").fetchall()]
        pd.testing.assert_frame_equal(got, registered, check_dtype=True)
        age = f"age_at_{contract.event_date}"
        assert got[age].notna().any()
    alt = staging.con.execute(f"select * from \"{staging.build_alternatives()}\" order by {POS}").df()
    expected_alt = alternative_person_ids(frame, alternatives, KEY)
    assert list(alt[POS]) == list(range(len(expected_alt)))
    pd.testing.assert_frame_equal(alt.drop(columns=POS), expected_alt.astype(str), check_dtype=False)


def test_a_restarted_file_is_staged_once(tmp_path, contracts):
    contract = contracts["deaths"]
    staging = Staging(tmp_path)
    try:
        sink = staging.sink(contract, "deaths.csv")
        piece = validate_file(write_csv(valid_frame(contract, 5), tmp_path / "deaths.csv"), contract, EXTRACT_DATE).accepted
        sink.add(piece)
        sink.restart()  # the reader starts the file again another way
        sink.add(piece)
        assert staging.records == 5
        assert staging.con.execute('select count(*), min(_stage_pos), max(_stage_pos) from "file_0"').fetchone() == (5, 0, 4)
    finally:
        staging.remove()


def test_staging_file_is_owner_only_and_never_outlives_the_ingest(tmp_path, contracts):
    previous = os.umask(0o022)
    try:
        staging = Staging(tmp_path)
        assert staging.path.parent == tmp_path and oct(staging.path.stat().st_mode & 0o777) == "0o600"
        staging.remove()
        assert not staging.path.exists()
    finally:
        os.umask(previous)
    # After an ingest that stored, and one that was refused, nothing of the staging is left.
    folder = write_extract_folder(tmp_path / "extracts", contracts)
    data = tmp_path / "data"
    ingest_folder(folder, data, linkage="deterministic", progress=False)
    (folder / "deaths.csv").write_text("not,the,header\n1,2,3\n")
    with pytest.raises(Exception, match="deaths.csv"):
        ingest_folder(folder, data, linkage="deterministic", progress=False)
    assert not [p.name for p in data.iterdir() if "staging" in p.name or ".tmp" in p.name]
    # A killed ingest's staging file is removed by the next one (under the lock).
    (data / ".workbench.duckdb.0badc0de.staging").write_bytes(b"half staged")
    (data / ".workbench.duckdb.0badc0de.staging.wal").write_bytes(b"half staged")
    assert len(remove_leftovers(data)) == 2


def test_build_memory_limit_stays_within_its_bounds_and_the_peak_so_far(monkeypatch):
    from workbench.ingest import staging

    monkeypatch.setattr(staging, "_status_megabytes", lambda: {"VmHWM": 800, "VmRSS": 300})
    assert staging.build_memory_limit() == "436MB"  # the room under the peak, less 64 MB
    monkeypatch.setattr(staging, "_status_megabytes", lambda: {"VmHWM": 400, "VmRSS": 390})
    assert staging.build_memory_limit() == f"{staging.MIN_BUILD_MEGABYTES}MB"
    monkeypatch.setattr(staging, "_status_megabytes", lambda: {"VmHWM": 9000, "VmRSS": 300})
    assert staging.build_memory_limit() == f"{staging.MAX_BUILD_MEGABYTES}MB"
    monkeypatch.setattr(staging, "_status_megabytes", dict)  # not Linux: the minimum
    assert staging.build_memory_limit() == f"{staging.MIN_BUILD_MEGABYTES}MB"


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """The same clusters, whatever the labels."""
    pairs = pd.DataFrame({"a": a, "b": b}).drop_duplicates()
    return pairs["a"].is_unique and pairs["b"].is_unique


def test_identifier_codes_link_as_the_rules_do_on_the_text_frame(tmp_path, contracts):
    """The ingest's deterministic linkage reads integer codes made in the staging database; on
    awkward identifiers (case, accents, spaces, blanks, dates around 1970) spread over two files with
    different field names, and a file without NI numbers, they give the clusters the rules give on
    the text frame."""
    rng = np.random.default_rng(16)
    names = np.array(["Anné", "anne ", "ANNE", "a\u0301nne", "O'Brien", "obrien", "Zoë", "zoe", "-", None], dtype=object)
    nis = np.array(["ab 12 34 56 c", "AB123456C", "ab123456c ", "CD 00 00 00 D", " ", None], dtype=object)
    days = pd.to_datetime(["1969-12-31", "1970-01-01", "1980-01-02", "1901-03-04", None])
    fields = {"a": {"first_name": "given", "last_name": "family", "date_of_birth": "dob", "ni_number": "ni"},
              "b": {"first_name": "first", "last_name": "last", "date_of_birth": "birth"}}  # no NI numbers
    staging = Staging(tmp_path)
    text_parts = []
    for file, (contract, columns) in enumerate(zip(list(contracts)[:2], fields.values(), strict=True)):
        sink = staging.sink(contract, f"file{file}.csv")
        for _ in range(3):  # pieces
            n = 400
            part = pd.DataFrame({"first_name": rng.choice(names, n), "last_name": rng.choice(names, n),
                                 "date_of_birth": days[rng.integers(0, len(days), n)],
                                 "ni_number": rng.choice(nis, n) if "ni_number" in columns else None})
            text_parts.append(part)
            sink.add(part[list(columns)].rename(columns=columns).astype(
                {columns[c]: "string[pyarrow]" for c in columns if c != "date_of_birth"}))
    by_contract = {c.name: cols for c, cols in zip(list(contracts)[:2], fields.values(), strict=True)}
    codes = staging.identifier_codes(lambda contract: by_contract[contract.name], NORMALISERS,
                                     dates=("date_of_birth",))
    staging.remove()
    frame = pd.concat(text_parts, ignore_index=True).astype({c: "string" for c in ("first_name", "last_name", "ni_number")})
    expected = link_deterministic(frame)
    assert all(len(v) == len(frame) for v in codes.values())
    assert _same_partition(deterministic_labels(**codes), expected)
    assert 1 < len(set(expected)) < len(frame)  # some records linked, not all
