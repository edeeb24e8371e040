"""Damaged or plausible-but-wrong extracts are refused clearly, through the command line.

Each case asserts the exit code of ``workbench validate`` and ``workbench ingest``, that the message
names the file and the line, column or key, and, where a whole file is refused, that the previous
store is unchanged (same bytes, no new ingest). Issue 16, items 4 to 6.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest
from factories import EXTRACT_DATE, valid_frame, write_csv
from typer.testing import CliRunner

from workbench.cli import ExitCode, app
from workbench.ingest.integrity import FIELD_LIMIT, scan_records
from workbench.ingest.readers import FileRefused, _refuse_miscount
from workbench.ingest.validate import validate_file
from workbench.store import Store

runner = CliRunner()
MANIFEST = f"extract_date: {EXTRACT_DATE.isoformat()}\nsynthetic: true\n"
VALIDATE_REFUSED = INGEST_REFUSED = ExitCode.REFUSED  # validate: a file would be refused; ingest: nothing stored
QUARANTINED = ExitCode.QUARANTINED


@pytest.fixture
def outreach(contracts):
    return contracts["outreach_contacts"]


@pytest.fixture(scope="module")
def first_store(tmp_path_factory, contracts):
    """A store holding one good quarter: the 'previous store' every refused ingest must leave alone."""
    folder = tmp_path_factory.mktemp("q1")
    write_csv(valid_frame(contracts["outreach_contacts"], 8), folder / "outreach_contacts.csv")
    (folder / "extract.yaml").write_text(MANIFEST)
    data = tmp_path_factory.mktemp("store")
    out = runner.invoke(app, ["ingest", str(folder), "--data-dir", str(data), "--linkage", "deterministic", "--no-progress"])
    assert out.exit_code == 0, out.output
    return data


@pytest.fixture
def store(first_store, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(first_store, data)
    return data


def _fingerprint(data: Path) -> tuple[str, list[str]]:
    return hashlib.sha256((data / "workbench.duckdb").read_bytes()).hexdigest(), sorted(
        p.name for p in (data / "reports").iterdir())


def _quarter(tmp_path: Path, manifest: str = MANIFEST) -> Path:
    folder = tmp_path / "q2"
    folder.mkdir()
    (folder / "extract.yaml").write_text(manifest)
    return folder


def _validate(folder: Path):
    return runner.invoke(app, ["validate", str(folder)])


def _ingest(folder: Path, data: Path, *extra: str):
    return runner.invoke(app, ["ingest", str(folder), "--data-dir", str(data), "--linkage", "deterministic", "--no-progress",
                               *extra])


def _assert_refused(folder: Path, store: Path, *fragments: str, validate_code: int = VALIDATE_REFUSED) -> str:
    """Both commands refuse with the fragments in their message; the previous store is untouched."""
    before = _fingerprint(store)
    checked, ingested = _validate(folder), _ingest(folder, store)
    for out, code in ((checked, validate_code), (ingested, INGEST_REFUSED)):
        assert out.exit_code == code, out.output
        assert "Traceback" not in out.output and "Unexpected error" not in out.output
        for fragment in fragments:
            assert fragment in out.output, (fragment, out.output)
    assert "Nothing was stored" in ingested.output or validate_code == INGEST_REFUSED
    assert _fingerprint(store) == before
    return checked.output + ingested.output


def _lines(frame: pd.DataFrame) -> list[str]:
    return frame.to_csv(index=False).splitlines()


# ------------------------------------------------------------------------- control characters


def test_nul_and_control_characters_refuse_the_row(tmp_path, store, outreach):
    frame = valid_frame(outreach, 8)
    frame.loc[2, "family_name"] = "Smi\0th"
    frame.loc[5, "location_type"] = frame.loc[5, "location_type"] + "\x1b"
    folder = _quarter(tmp_path)
    write_csv(frame, folder / "outreach_contacts.csv")
    checked = _validate(folder)
    assert checked.exit_code == 1, checked.output
    assert "outreach_contacts.csv: rows read 8 = accepted 6 + quarantined 2" in checked.output
    assert "row 4, column family_name" in checked.output and "row 7, column location_type" in checked.output
    assert checked.output.count("[rule: control_character]") == 2
    assert "Smi" not in checked.output
    ingested = _ingest(folder, store, "--allow-fewer", "outreach_contacts")  # 6 rows now, 8 before
    assert ingested.exit_code == QUARANTINED, ingested.output
    with Store(store).connect() as con:
        assert con.execute("select count(*) from outreach_contacts").fetchone()[0] == 6
        logged = con.execute("select row_number, \"column\", rule from quarantine_log where ingest_id = "
                             "(select ingest_id from ingests order by ingested_at desc limit 1) order by all").fetchall()
    # One row per problem: the damaged code is also not an allowed code.
    assert logged == [(4, "family_name", "control_character"), (7, "location_type", "allowed_values"),
                      (7, "location_type", "control_character")]


# ------------------------------------------------------------------------- header and layout


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_exact_duplicate_column_names_refuse_the_file(tmp_path, store, outreach, suffix):
    frame = valid_frame(outreach, 8)
    frame.insert(3, "district", "cherwell", allow_duplicates=True)
    folder = _quarter(tmp_path)
    name = f"outreach_contacts{suffix}"
    if suffix == ".csv":
        write_csv(frame, folder / name)
    else:
        frame.to_excel(folder / name, index=False)
    _assert_refused(folder, store, name, "header (line 1)", "more than once: district")


def test_semicolon_delimited_file_says_so(tmp_path, store, outreach):
    folder = _quarter(tmp_path)
    valid_frame(outreach, 8).to_csv(folder / "outreach_contacts.csv", sep=";", index=False)
    _assert_refused(folder, store, "outreach_contacts.csv", "line 1", "separated by semicolons")


def test_headerless_file_is_refused_without_echoing_its_first_record(tmp_path, store, outreach):
    frame = valid_frame(outreach, 8)
    folder = _quarter(tmp_path)
    (folder / "outreach_contacts.csv").write_text("\n".join(_lines(frame)[1:]) + "\n")
    text = _assert_refused(folder, store, "outreach_contacts.csv", "not a usable header")
    for column in ("contact_id", "given_name", "family_name", "date_of_birth"):
        assert frame.loc[0, column] not in text


def test_xlsx_with_data_on_another_sheet_names_the_sheets(tmp_path, store, outreach):
    folder = _quarter(tmp_path)
    with pd.ExcelWriter(folder / "outreach_contacts.xlsx") as xl:
        pd.DataFrame([["Read me: contacts are on the next sheet"]]).to_excel(xl, sheet_name="Notes", header=False, index=False)
        valid_frame(outreach, 8).to_excel(xl, sheet_name="Contacts Q2", index=False)
    _assert_refused(folder, store, "outreach_contacts.xlsx", "'Notes'", "sheet 'Contacts Q2'")


# ------------------------------------------------------------------------- physical records


def test_oversized_field_refuses_that_file_naming_its_line(tmp_path, store, outreach, contracts):
    frame = valid_frame(outreach, 8)
    frame.loc[4, "family_name"] = "x" * (FIELD_LIMIT + 1)
    folder = _quarter(tmp_path)
    write_csv(frame, folder / "outreach_contacts.csv")
    write_csv(valid_frame(contracts["deaths"], 5), folder / "deaths.csv")
    text = _assert_refused(folder, store, "outreach_contacts.csv", "line 6", "131,072")
    assert "deaths.csv: rows read 5 = accepted 5" in text  # the other file is still checked


def test_unclosed_quote_is_refused_at_the_line_where_it_opens(tmp_path, store, outreach):
    lines = _lines(valid_frame(outreach, 40))
    # 20 lines before the end: a quote opened in a name and never closed would swallow 19 records.
    fields = lines[-20].split(",")
    fields[outreach.field_names.index("given_name")] = '"' + fields[outreach.field_names.index("given_name")]
    lines[-20] = ",".join(fields)
    folder = _quarter(tmp_path)
    (folder / "outreach_contacts.csv").write_text("\n".join(lines) + "\n")
    _assert_refused(folder, store, "outreach_contacts.csv", f"line {len(lines) - 19}", "a quoted value opens there")


def test_quote_closed_lines_later_is_refused_not_swallowed(tmp_path, outreach):
    lines = _lines(valid_frame(outreach, 30))
    name = outreach.field_names.index("given_name")
    for at, mark in ((10, '"'), (14, '"')):  # opened on one record, "closed" by a stray quote 4 lines later
        fields = lines[at].split(",")
        fields[name] = mark + fields[name] if at == 10 else fields[name] + mark
        lines[at] = ",".join(fields)
    path = tmp_path / "outreach_contacts.csv"
    path.write_text("\n".join(lines) + "\n")
    result = validate_file(path, outreach, EXTRACT_DATE)
    assert result.refused and "line 11" in result.refusal_reason and "line 12" in result.refusal_reason


def test_bare_carriage_return_refuses_that_file_naming_its_line(tmp_path, store, outreach, contracts):
    lines = _lines(valid_frame(outreach, 8))
    lines[3] = lines[3].replace(",", ",\r", 1) + ",surplus"  # a stray carriage return, and a ragged line
    folder = _quarter(tmp_path)
    (folder / "outreach_contacts.csv").write_text("\n".join(lines) + "\n", newline="")
    write_csv(valid_frame(contracts["deaths"], 5), folder / "deaths.csv")
    # pandas ends a record at the carriage return; the line scan does not: the counts differ.
    text = _assert_refused(folder, store, "outreach_contacts.csv", "count finds 8 records but the parser read 9",
                           "the difference starts at line 4")
    assert "deaths.csv: rows read 5 = accepted 5" in text


def test_bare_carriage_return_in_a_column_name_refuses_that_file_naming_the_header(tmp_path, store, outreach, contracts):
    # Found by the random corruption test: the header was split with Python's csv module, which raised.
    lines = _lines(valid_frame(outreach, 8))
    lines[0] += ",\r0"
    lines[1:] = [line + ",x" for line in lines[1:]]
    folder = _quarter(tmp_path)
    (folder / "outreach_contacts.csv").write_text("\n".join(lines) + "\n", newline="")
    write_csv(valid_frame(contracts["deaths"], 5), folder / "deaths.csv")
    _assert_refused(folder, store, "outreach_contacts.csv", "the header (line 1): a line break inside a value")
    result = validate_file(folder / "outreach_contacts.csv", outreach, EXTRACT_DATE)
    assert result.refused and "the header (line 1)" in result.refusal_reason


def test_quoted_line_break_is_kept_and_later_rows_keep_their_lines(tmp_path, outreach):
    frame = valid_frame(outreach, 10)
    frame.loc[2, "family_name"] = "Smith\nJones"
    frame.loc[6, "gender"] = "unknown"
    path = write_csv(frame, tmp_path / "outreach_contacts.csv")
    result = validate_file(path, outreach, EXTRACT_DATE)
    assert not result.refused and result.rows_read == 10 and result.reconciles
    # Data row 6 starts on line 9: the header, six records before it, and one quoted line break.
    assert list(result.issues.row_number) == [9]


def test_line_scan_counts_records_independently(outreach):
    text = "a,b\n1,2\n\n\"x\ny\",3\n,\n4,5\n"
    assert scan_records(text).record_lines == [2, 4, 7] and scan_records(text).damage is None
    assert scan_records(text + '6,"7\n').damage.startswith("line 8: a quoted value opens there and is never closed")
    # A parser that merged the record on line 4 with the next one: the difference starts there.
    with pytest.raises(FileRefused, match="finds 3 records but the parser read 2; the difference starts at line 4"):
        _refuse_miscount(Path("outreach_contacts.csv"), scan_records(text), 2, ["1", "x\ny\n4"])


# ------------------------------------------------------------------------- dates


def _with_dates(outreach, fmt_of_row) -> pd.DataFrame:
    frame = valid_frame(outreach, 12)
    days = pd.to_datetime(frame["contact_date"])
    frame["contact_date"] = [d.strftime(fmt_of_row(i, d)) for i, d in enumerate(days)]
    return frame


def test_us_month_first_dates_are_refused(tmp_path, store, outreach):
    frame = _with_dates(outreach, lambda i, d: "%m/%d/%Y")
    first_telling = next(i for i, d in enumerate(pd.to_datetime(frame["contact_date"], format="%m/%d/%Y")) if d.day > 12)
    folder = _quarter(tmp_path)
    write_csv(frame, folder / "outreach_contacts.csv")
    _assert_refused(folder, store, "outreach_contacts.csv", "month first, US style",
                    f"line {first_telling + 2}, column contact_date")


def test_mixed_day_first_and_month_first_dates_are_refused(tmp_path, store, outreach):
    frame = valid_frame(outreach, 4)
    frame["contact_date"] = ["25/01/2021", "01/02/2021", "02/25/2021", "2021-03-01"]
    folder = _quarter(tmp_path)
    write_csv(frame, folder / "outreach_contacts.csv")
    _assert_refused(folder, store, "outreach_contacts.csv", "mixes day-first and month-first",
                    "line 4, column contact_date", "line 2, column contact_date")


def test_midnight_time_is_a_date_and_other_times_are_not(tmp_path, store, outreach):
    frame = valid_frame(outreach, 8)
    frame.loc[0, "contact_date"] = "2021-03-04 00:00:00"
    frame.loc[1, "contact_date"] = "2021-03-05 14:30:00"
    folder = _quarter(tmp_path)
    write_csv(frame, folder / "outreach_contacts.csv")
    checked = _validate(folder)
    assert checked.exit_code == 1 and "accepted 7 + quarantined 1" in checked.output
    assert "row 3, column contact_date" in checked.output and "[rule: type]" in checked.output
    assert _ingest(folder, store, "--allow-fewer", "outreach_contacts").exit_code == QUARANTINED
    with Store(store).connect() as con:
        stored = con.execute("select contact_date from outreach_contacts where source_row = 2").fetchone()[0]
    assert pd.Timestamp(stored) == pd.Timestamp("2021-03-04")


def test_excel_serial_date_is_refused_with_the_hint(tmp_path, outreach):
    frame = valid_frame(outreach, 8).astype(object)
    frame.loc[2, "contact_date"] = 44197  # what an unformatted Excel date cell holds: 2021-01-01
    frame.loc[3, "date_of_birth"] = 30000  # an identifier: the hint is given, the value and date are not
    folder = _quarter(tmp_path)
    frame.to_excel(folder / "outreach_contacts.xlsx", index=False)
    checked = _validate(folder)
    assert checked.exit_code == 1 and "accepted 6 + quarantined 2" in checked.output
    assert "row 4, column contact_date" in checked.output and "Excel date serial number" in checked.output
    assert "here 2021-01-01" in checked.output
    assert "row 5, column date_of_birth: The value is not a valid date" in checked.output
    assert "30000" not in checked.output and "1982-02-18" not in checked.output


def test_every_date_field_has_a_plausible_range(tmp_path, contracts):
    for contract in contracts:
        for spec in (f for f in contract.fields if f.type == "date"):
            assert spec.min is not None, f"{contract.name}.{spec.name} has no min in its contract"
            frame = valid_frame(contract, 5)
            frame.loc[1, spec.name] = "1900-01-01"
            result = validate_file(write_csv(frame, tmp_path / f"{contract.name}.csv"), contract, EXTRACT_DATE)
            hits = result.issues[(result.issues.row_number == 3) & (result.issues.column == spec.name)]
            assert "min" in set(hits.rule), (contract.name, spec.name, result.issues.to_string())


def test_1900_date_is_quarantined_through_the_cli(tmp_path, contracts):
    # admission_date had no lower bound before: 1900-01-01 was accepted.
    frame = valid_frame(contracts["institutional_discharges"], 8)
    frame.loc[3, "admission_date"] = "1900-01-01"
    folder = _quarter(tmp_path)
    write_csv(frame, folder / "institutional_discharges.csv")
    checked = _validate(folder)
    assert checked.exit_code == 1
    assert "row 5, column admission_date" in checked.output and "[rule: min]" in checked.output


# ------------------------------------------------------------------------- the manifest and the folder


@pytest.mark.parametrize(("manifest", "fragments"), [
    ("extract_date: 2026-13-01\n", ["extract.yaml", "extract_date", "'2026-13-01'"]),
    (MANIFEST + "files:\n  - source: outreach_contacts\n", ["extract.yaml", "files entry 1", "path None"]),
    (MANIFEST + "files:\n  - outreach_contacts.csv\n", ["extract.yaml", "files entry 1", "'outreach_contacts.csv'"]),
    ("extract_date: 2026-09-30\nsynthetic: perhaps\n", ["extract.yaml", "synthetic", "'perhaps'"]),
])
def test_manifest_mistakes_name_file_key_and_value(tmp_path, store, outreach, manifest, fragments):
    folder = _quarter(tmp_path, manifest)
    write_csv(valid_frame(outreach, 8), folder / "outreach_contacts.csv")
    text = _assert_refused(folder, store, *fragments, validate_code=INGEST_REFUSED)
    assert "KeyError" not in text


def _secret(tmp_path: Path, outreach) -> Path:
    secret = tmp_path / "elsewhere" / "outreach_contacts.csv"
    secret.parent.mkdir()
    frame = valid_frame(outreach, 3)
    frame["given_name"] = "Secretname"
    write_csv(frame, secret)
    return secret


def test_symlinked_extract_is_refused_unread(tmp_path, store, outreach):
    folder = _quarter(tmp_path)
    (folder / "outreach_contacts.csv").symlink_to(_secret(tmp_path, outreach))
    text = _assert_refused(folder, store, "outreach_contacts.csv", "symbolic link", validate_code=INGEST_REFUSED)
    assert "Secretname" not in text


def test_symlink_that_is_not_an_extract_is_listed_not_refused(tmp_path, outreach):
    folder = _quarter(tmp_path)
    write_csv(valid_frame(outreach, 8), folder / "outreach_contacts.csv")
    (folder / "notes.txt").symlink_to(_secret(tmp_path, outreach))  # matches no contract: never read
    out = _validate(folder)
    assert out.exit_code == 0 and "notes.txt: not matched" in out.output and "Secretname" not in out.output


def test_symlinked_file_given_by_name_is_refused_unread(tmp_path, outreach):
    link = tmp_path / "contacts.csv"
    link.symlink_to(_secret(tmp_path, outreach))
    out = runner.invoke(app, ["validate", str(link), "--source", "outreach_contacts"])
    assert out.exit_code == VALIDATE_REFUSED and "contacts.csv: REFUSED" in out.output and "symbolic link" in out.output
    assert "Secretname" not in out.output


@pytest.mark.parametrize("path", ["../elsewhere/outreach_contacts.csv", "ABSOLUTE"])
def test_manifest_path_outside_the_folder_is_refused_unread(tmp_path, store, outreach, path):
    secret = _secret(tmp_path, outreach)
    path = str(secret) if path == "ABSOLUTE" else path
    folder = _quarter(tmp_path, MANIFEST + f"files:\n  - path: {path}\n    source: outreach_contacts\n")
    text = _assert_refused(folder, store, "extract.yaml", "files entry 1", "outside the quarter's folder",
                           validate_code=INGEST_REFUSED)
    assert "Secretname" not in text


# ------------------------------------------------------------------------- several files of one source


def _ids(frame: pd.DataFrame, column: str, prefix: str, first: int) -> pd.DataFrame:
    return frame.assign(**{column: [f"{prefix}{i:06d}" for i in range(first, first + len(frame))]})


def _two_outreach_files(folder: Path, outreach, second_first_id: int) -> None:
    """outreach_contacts.csv with ids 1-8 (lines 2-9), outreach_contacts_2.csv with 8 ids from ``second_first_id``."""
    write_csv(valid_frame(outreach, 8), folder / "outreach_contacts.csv")
    write_csv(_ids(valid_frame(outreach, 8, seed=1), "contact_id", "OR-", second_first_id), folder / "outreach_contacts_2.csv")


DECLARED = MANIFEST + ("files:\n  - path: outreach_contacts.csv\n    source: outreach_contacts\n"
                       "  - path: outreach_contacts_2.csv\n    source: outreach_contacts\n")


def test_two_undeclared_files_for_one_source_are_refused(tmp_path, store, outreach):
    folder = _quarter(tmp_path)
    _two_outreach_files(folder, outreach, 101)  # no id in common: still two files nobody declared
    text = _assert_refused(folder, store, "outreach_contacts.csv, outreach_contacts_2.csv are both street outreach contacts",
                           "a source is sent as one file", "extract.yaml under 'files:'")
    assert "outreach_contacts_2.csv: REFUSED" in text


def test_declared_files_whose_record_ids_repeat_are_refused(tmp_path, store, outreach):
    folder = _quarter(tmp_path, DECLARED)
    _two_outreach_files(folder, outreach, 6)  # ids 6, 7 and 8 are in both files
    text = _assert_refused(
        folder, store, "outreach_contacts.csv: 3 record id(s) in column contact_id also appear in outreach_contacts_2.csv "
        "(row 7 here and row 2 there, row 8 here and row 3 there, row 9 here and row 4 there)",
        "outreach_contacts_2.csv: 3 record id(s) in column contact_id also appear in outreach_contacts.csv "
        "(row 2 here and row 7 there", "unique across all files of one source (outreach_contacts)")
    assert "OR-000006" not in text  # rows, not ids


def test_declared_files_with_distinct_record_ids_are_stored_together(tmp_path, store, outreach):
    folder = _quarter(tmp_path, DECLARED)
    _two_outreach_files(folder, outreach, 101)
    checked = _validate(folder)
    assert checked.exit_code == 0, checked.output
    ingested = _ingest(folder, store)
    assert ingested.exit_code == 0, ingested.output
    with Store(store).connect() as con:
        n, ids = con.execute("select count(*), count(distinct contact_id) from outreach_contacts").fetchone()
    assert n == ids == 16


def _district_files(folder: Path, cases, second_first_id: int) -> None:
    write_csv(_ids(valid_frame(cases, 10), "case_id", "CHE-", 1), folder / "statutory_cases_cherwell.csv")
    write_csv(_ids(valid_frame(cases, 10, seed=2), "case_id", "CHE-", second_first_id),
              folder / "statutory_cases_oxford_city.csv")


def test_district_files_are_expected_and_their_record_ids_unique_across_them(tmp_path, store, contracts):
    cases = contracts["statutory_cases"]
    folder = _quarter(tmp_path)  # no files list: one file per district is what is expected
    _district_files(folder, cases, 9)  # CHE-000009 and CHE-000010 are in both
    _assert_refused(folder, store, "statutory_cases_cherwell.csv: 2 record id(s) in column case_id also appear in "
                    "statutory_cases_oxford_city.csv (row 10 here and row 2 there, row 11 here and row 3 there)",
                    "statutory_cases_oxford_city.csv: 2 record id(s)")
    shutil.rmtree(folder)
    folder = _quarter(tmp_path)
    _district_files(folder, cases, 11)
    checked = _validate(folder)
    assert checked.exit_code == 0 and "statutory_cases_oxford_city.csv: rows read 10 = accepted 10" in checked.output


def test_two_files_for_one_district_are_not_one_per_district(tmp_path, store, contracts):
    cases = contracts["statutory_cases"]
    folder = _quarter(tmp_path)
    write_csv(_ids(valid_frame(cases, 6), "case_id", "CHE-", 1), folder / "statutory_cases_cherwell.csv")
    _ids(valid_frame(cases, 6), "case_id", "CHE-", 101).to_excel(folder / "statutory_cases_cherwell.xlsx", index=False)
    _assert_refused(folder, store, "statutory_cases_cherwell.csv, statutory_cases_cherwell.xlsx are both",
                    "statutory_cases_<district>")


def test_files_named_to_validate_are_checked_together(tmp_path, outreach):
    _two_outreach_files(tmp_path, outreach, 8)
    files = [str(tmp_path / "outreach_contacts.csv"), str(tmp_path / "outreach_contacts_2.csv")]
    out = runner.invoke(app, ["validate", *files, "--extract-date", EXTRACT_DATE.isoformat()])
    assert out.exit_code == VALIDATE_REFUSED
    assert "1 record id(s) in column contact_id also appear in outreach_contacts_2.csv" in out.output
    assert runner.invoke(app, ["validate", files[0], "--extract-date", EXTRACT_DATE.isoformat()]).exit_code == 0
