"""Ingest into the store: provenance, idempotence, atomicity, pseudonymisation and key handling."""

from __future__ import annotations

import csv
import hashlib
import logging
import os

import duckdb
import pandas as pd
import pytest
from factories import EXTRACT_DATE, valid_frame, write_csv, write_extract_folder
from typer.testing import CliRunner

import workbench.store.history as history
from workbench.cli import app
from workbench.ingest.pipeline import IngestError, ingest_folder
from workbench.ingest.pseudonymise import PseudonymKeyError, load_key, write_new_key
from workbench.store import Store

runner = CliRunner()


def _store_digest(data_dir) -> str:
    return hashlib.sha256((data_dir / "workbench.duckdb").read_bytes()).hexdigest()


def test_ingest_builds_store_with_provenance(tmp_path, contracts):
    folder = write_extract_folder(tmp_path / "extracts", contracts, n=12)
    report = ingest_folder(folder, tmp_path / "data", progress=False)
    assert report.rows_read == 12 * len(contracts.contracts) == report.rows_accepted
    store = Store(tmp_path / "data")
    for c in contracts:
        table = store.table(c.name)
        assert len(table) == 12
        assert table["person_id"].notna().all()
        assert not set(c.identifier_fields) & set(table.columns)  # identifiers dropped
        assert f"age_at_{c.event_date}" in table.columns
    ingests = store.table("ingests")
    assert set(ingests.file) == {f"{c.name}.csv" for c in contracts}
    expected = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.csv")}
    assert dict(zip(ingests.file, ingests.sha256, strict=True)) == expected
    assert (ingests.size_bytes > 0).all()
    versions = {f"{c.name}.csv": c.version for c in contracts}
    assert dict(zip(ingests.file, ingests.contract_version, strict=True)) == versions
    assert (ingests.rows_read == ingests.rows_accepted + ingests.rows_quarantined).all()
    assert store.meta()["extract_date"] == EXTRACT_DATE.isoformat()


def test_reingesting_the_same_extract_adds_nothing(tmp_path, contracts):
    folder = write_extract_folder(tmp_path / "extracts", contracts)
    ingest_folder(folder, tmp_path / "data", progress=False)
    before = _store_digest(tmp_path / "data")
    again = ingest_folder(folder, tmp_path / "data", progress=False)
    assert again.already_ingested and "nothing was added" in again.summary()
    assert _store_digest(tmp_path / "data") == before
    # The same files linked another way are a new store (an old demo store linked by the truth is
    # rebuilt when the demo links with splink).
    relinked = ingest_folder(folder, tmp_path / "data", linkage="deterministic", progress=False)
    assert not relinked.already_ingested and Store(tmp_path / "data").meta()["linkage"] == "deterministic"
    assert ingest_folder(folder, tmp_path / "data", linkage="deterministic", progress=False).already_ingested


def test_interrupted_ingest_leaves_previous_store_intact(tmp_path, contracts, monkeypatch):
    folder = write_extract_folder(tmp_path / "extracts", contracts)
    ingest_folder(folder, tmp_path / "data", progress=False)
    before = _store_digest(tmp_path / "data")
    # A new quarter's extract, then a failure part-way through writing the new store.
    write_csv(valid_frame(contracts["deaths"], 30, seed=99), folder / "deaths.csv")
    real_connect = duckdb.connect

    class Exploding:
        def __init__(self, con):
            self.con, self.calls = con, 0

        def execute(self, sql, *a):
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-write
            return self.con.execute(sql, *a)

        def __getattr__(self, name):
            return getattr(self.con, name)

    monkeypatch.setattr(history.duckdb, "connect", lambda path=":memory:", **kw: Exploding(real_connect(path, **kw)) if ".tmp" in str(path) else real_connect(path, **kw))
    with pytest.raises(KeyboardInterrupt):
        ingest_folder(folder, tmp_path / "data", progress=False)
    monkeypatch.setattr(history.duckdb, "connect", real_connect)
    assert not list((tmp_path / "data" / "reports").glob("*/issues.csv"))[1:]  # the failed ingest's reports went too
    assert _store_digest(tmp_path / "data") == before
    assert not [p for p in (tmp_path / "data").iterdir() if p.name.endswith(".tmp")]
    assert len(Store(tmp_path / "data").table("deaths")) == 20
    # The ingest then succeeds, and provenance keeps both ingests.
    ingest_folder(folder, tmp_path / "data", progress=False)
    store = Store(tmp_path / "data")
    assert len(store.table("deaths")) == 30 and store.table("ingests").ingest_id.nunique() == 2


def _folder_with_one_bad_tenancy(tmp_path, contracts, column: str, value: str):
    """Extracts whose settled tenancies have ``value`` in ``column`` of the fourth row (file row 5)."""
    folder = write_extract_folder(tmp_path / "extracts", contracts, n=10)
    frame = valid_frame(contracts["settled_tenancies"], 10)
    frame.loc[3, column] = value
    write_csv(frame, folder / "settled_tenancies.csv")
    return folder


def test_quarantined_rows_are_counted_and_reported(tmp_path, contracts):
    folder = _folder_with_one_bad_tenancy(tmp_path, contracts, "end_date", "2000-01-01")
    report = ingest_folder(folder, tmp_path / "data", progress=False)
    assert report.rows_quarantined == 1 and report.rows_read == report.rows_accepted + 1
    qfile = report.report_dir / "settled_tenancies.quarantine.csv"
    assert qfile.exists() and "end_after_start" in qfile.read_text()
    text = (report.report_dir / "validation_report.md").read_text()
    assert "Row 5, column end_date" in text
    qlog = Store(tmp_path / "data").table("quarantine_log")
    # One row per problem: 2000 is also before the earliest plausible end date.
    assert sorted(zip(qlog.row_number, qlog.column, qlog.rule, strict=True)) == [
        (5, "end_date", "end_after_start"), (5, "end_date", "min")]
    assert list(qlog.file) == ["settled_tenancies.csv"] * 2


CANARY_FIRST, CANARY_LAST, CANARY_DOB, CANARY_NI = "Zebediahqx", "Quillfeatherby", "1931-07-29", "ZX987654A"
CANARY_CLIENT_REF = "OC-7319024"


def test_canary_identifiers_never_reach_store_logs_or_reports(tmp_path, contracts, caplog):
    folder = write_extract_folder(tmp_path / "extracts", contracts, n=15)
    for c in [c for c in contracts if c.identifier_fields]:
        frame = valid_frame(c, 15)
        first = "given_name" if "given_name" in c.field_names else "first_name"
        last = "family_name" if "family_name" in c.field_names else "last_name"
        frame[first], frame[last] = CANARY_FIRST, CANARY_LAST
        frame["date_of_birth"] = CANARY_DOB
        if "ni_number" in c.field_names:
            frame["ni_number"] = CANARY_NI
        if "client_ref" in c.field_names:
            frame["client_ref"] = CANARY_CLIENT_REF
            frame.loc[3, "client_ref"] = "OC-12"  # a bad reference (pattern), to exercise reports
        frame.loc[2, "date_of_birth"] = "1931-02-30"  # a bad identifier value, to exercise reports
        write_csv(frame, folder / f"{c.name}.csv")
    data = tmp_path / "data"
    with caplog.at_level(logging.DEBUG):
        out = runner.invoke(app, ["ingest", str(folder), "--data-dir", str(data), "--no-progress"])
    assert out.exit_code == 1, out.output  # stored, with rows quarantined
    canaries = [CANARY_FIRST, CANARY_LAST, CANARY_DOB, CANARY_NI, CANARY_CLIENT_REF, "OC-12", "1931-02-30",
                CANARY_FIRST.lower(), CANARY_LAST.upper(), "29/07/1931"]
    searched = 0
    for path in data.rglob("*"):
        if path.is_file() and not path.name.endswith(".key"):
            blob = path.read_bytes()
            searched += 1
            for c in canaries:
                assert c.encode() not in blob, f"{c} found in {path}"
    # The DuckDB file is compressed: also search every value of every table.
    store = Store(data)
    for table in store.tables():
        text = store.table(table).to_csv()
        for c in canaries:
            assert c not in text, f"{c} found in table {table}"
    for c in canaries:
        assert c not in out.output and c not in caplog.text
    assert searched >= 4  # store, report, issues, quarantine files were all searched


def test_people_are_linked_across_sources_and_ids_are_keyed(tmp_path, contracts):
    folder = write_extract_folder(tmp_path / "extracts", contracts, n=5)
    named = [c for c in contracts if c.identifier_fields]
    for c in named:
        frame = valid_frame(c, 5)
        first = "given_name" if "given_name" in c.field_names else "first_name"
        last = "family_name" if "family_name" in c.field_names else "last_name"
        frame.loc[0, [first, last, "date_of_birth"]] = ["Ada", "Lovelace", "1980-12-10"]
        write_csv(frame, folder / f"{c.name}.csv")
    ingest_folder(folder, tmp_path / "a", progress=False)
    store = Store(tmp_path / "a")
    ids = {c.name: store.query(f"select person_id from {c.name} where source_row = 2").person_id[0] for c in named}
    assert len(named) == 6 and len(set(ids.values())) == 1  # the same person in all six sources
    # A different key gives different pseudonyms for the same data.
    key_file = write_new_key(tmp_path.parent / f"{tmp_path.name}-other.key")
    os.environ["WORKBENCH_KEY_FILE"] = str(key_file)
    try:
        (folder / "extract.yaml").write_text(f"extract_date: {EXTRACT_DATE}\nsynthetic: false\n")
        ingest_folder(folder, tmp_path / "b", progress=False)
    finally:
        del os.environ["WORKBENCH_KEY_FILE"]
    other = Store(tmp_path / "b").query("select person_id from deaths where source_row = 2").person_id[0]
    assert other != ids["deaths"]


def test_real_extracts_need_a_real_key(tmp_path, contracts, monkeypatch):
    monkeypatch.delenv("WORKBENCH_PSEUDONYMISATION_KEY", raising=False)
    monkeypatch.delenv("WORKBENCH_KEY_FILE", raising=False)
    folder = write_extract_folder(tmp_path / "extracts", contracts, synthetic=False)
    with pytest.raises(PseudonymKeyError, match="No pseudonymisation key"):
        ingest_folder(folder, tmp_path / "data", progress=False)
    out = runner.invoke(app, ["ingest", str(folder), "--data-dir", str(tmp_path / "data")])
    assert out.exit_code == 2 and "Traceback" not in out.output and "key" in out.output
    # The synthetic demo key is refused for real data.
    demo = tmp_path / "DEMO.key"
    demo.write_text("# DEMO KEY - SYNTHETIC DATA ONLY\n" + "a" * 64)
    with pytest.raises(PseudonymKeyError, match="demo key"):
        load_key(demo)


def test_key_file_inside_a_repository_is_refused(tmp_path):
    repo_key = os.path.join(os.path.dirname(__file__), "leaked.key")
    with pytest.raises(PseudonymKeyError, match="inside a git repository"):
        write_new_key(repo_key)
    assert not os.path.exists(repo_key)


def test_manifest_naming_a_missing_file_is_a_clear_error(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "extract.yaml").write_text("extract_date: 2026-09-30\nsynthetic: true\nfiles:\n  - {path: deaths.csv, source: deaths}\n")
    with pytest.raises(IngestError, match="deaths.csv"):
        ingest_folder(folder, tmp_path / "data", progress=False)


def test_cli_lists_subcommands():
    out = runner.invoke(app, ["--help"])
    assert out.exit_code == 0
    for command in ["validate", "ingest", "generate", "demo", "dictionary", "make-key", "study", "dashboards", "linkage-quality", "linkage-review"]:
        assert command in out.output
    for command in ["validate", "ingest", "generate", "demo", "linkage-review"]:
        sub = runner.invoke(app, [command, "--help"])
        assert sub.exit_code == 0 and "Usage" in sub.output


def test_quarantine_and_issue_files_write_formulas_as_text(tmp_path, contracts):
    # Text typed into an extract must not run as a formula when the quarantine file is opened. A
    # formula with words in it is withheld as a value that may identify a person (nothing of it is
    # written); one without letters is shown, so it is the one that must be written as text.
    folder = _folder_with_one_bad_tenancy(tmp_path, contracts, "tenure", "=1+2")
    frame = pd.read_csv(folder / "settled_tenancies.csv", dtype=str)
    frame.loc[6, "tenure"] = '=HYPERLINK("http://example.invalid","open")'
    write_csv(frame, folder / "settled_tenancies.csv")
    report = ingest_folder(folder, tmp_path / "data", progress=False)
    assert report.rows_quarantined == 2
    for name in ("settled_tenancies.quarantine.csv", "issues.csv"):
        with (report.report_dir / name).open(newline="", encoding="utf-8") as fh:
            cells = [c for row in csv.reader(fh) for c in row]
        assert not [c for c in cells if c.startswith(("=", "+", "@"))], name
        assert "'=1+2" in cells and "[withheld]" in cells, name
        assert not [c for c in cells if "HYPERLINK" in c], name


def test_everything_ingest_writes_is_owner_only(tmp_path, contracts):
    # Whatever the umask, the store, reports and quarantine files are readable by their owner only.
    # One quarantined row, so a quarantine file is written.
    folder = _folder_with_one_bad_tenancy(tmp_path, contracts, "end_date", "2000-01-01")
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    previous = os.umask(0o022)
    try:
        report = ingest_folder(folder, data, progress=False)
        assert os.umask(0o022) == 0o022  # the caller's umask is back after the ingest
    finally:
        os.umask(previous)
    assert report.rows_quarantined == 1
    paths = [data, *data.rglob("*")]
    assert len(paths) > 3
    loose = {str(p.relative_to(tmp_path)): oct(p.stat().st_mode & 0o777) for p in paths if p.stat().st_mode & 0o077}
    assert not loose, f"readable by others: {loose}"


def test_environment_key_and_key_file_must_agree(tmp_path, contracts, monkeypatch):
    # Before, the environment key silently overrode --key-file: a quarter ingested with the wrong
    # one would give no person their earlier pseudonym.
    monkeypatch.delenv("WORKBENCH_KEY_FILE", raising=False)
    key_file = write_new_key(tmp_path / "keys" / "oxon.key")
    monkeypatch.setenv("WORKBENCH_PSEUDONYMISATION_KEY", "b" * 64)
    with pytest.raises(PseudonymKeyError, match="hold different keys"):
        load_key(key_file)
    folder = write_extract_folder(tmp_path / "extracts", contracts, synthetic=False)
    out = runner.invoke(app, ["ingest", str(folder), "--data-dir", str(tmp_path / "data"), "--key-file", str(key_file)])
    assert out.exit_code == 2 and "different keys" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "data" / "workbench.duckdb").exists()
    # The same key both ways is accepted.
    same = key_file.read_text().strip().splitlines()[-1]
    monkeypatch.setenv("WORKBENCH_PSEUDONYMISATION_KEY", same)
    assert load_key(key_file).secret == same.encode()


def test_many_pseudonyms_equal_one_at_a_time_and_depend_on_key_and_namespace():
    from workbench.ingest.pseudonymise import PseudonymKey

    key = PseudonymKey(b"k" * 40, is_demo=False, origin="test")
    values = ["outreach/1", "cases/2", None, float("nan"), 17]
    many = key.pseudonyms("person", values)
    assert many == [key.pseudonym("person", "outreach/1"), key.pseudonym("person", "cases/2"), None, None,
                    key.pseudonym("person", "17")]
    assert key.pseudonyms("record", values)[0] != many[0]
    assert PseudonymKey(b"j" * 40, is_demo=False, origin="test").pseudonyms("person", values)[0] != many[0]
    for secret in (b"s" * 64, b"long key " * 20):  # a key of the hash's block size, and a longer one (hashed)
        other = PseudonymKey(secret, is_demo=False, origin="test")
        assert other.pseudonyms("person", ["x", "y"]) == [other.pseudonym("person", "x"), other.pseudonym("person", "y")]
