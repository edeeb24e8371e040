"""The broken-extract suite: each kind of bad input is reported with file, row, column and rule,
the counts reconcile, and no traceback reaches the user."""

from __future__ import annotations

import pandas as pd
import pytest
from factories import EXTRACT_DATE, valid_frame, write_csv
from typer.testing import CliRunner

from workbench.cli import app
from workbench.ingest.validate import validate_file

runner = CliRunner()


@pytest.fixture
def cases(contracts):
    return contracts["statutory_cases"]


@pytest.fixture
def outreach(contracts):
    return contracts["outreach_contacts"]


def _validate(frame, path, contract):
    write_csv(frame, path)
    result = validate_file(path, contract, EXTRACT_DATE)
    assert not result.refused, result.refusal_reason
    assert result.reconciles
    assert result.rows_read == len(frame)
    return result


def _only_issue(result, row, column, rule):
    hits = result.issues[(result.issues.row_number == row) & (result.issues.column == column)]
    assert list(hits.rule) == [rule], result.issues.to_string()
    assert result.issues.file.eq(result.file).all()
    return hits.iloc[0]


def test_valid_extract_is_accepted_whole(tmp_path, contracts):
    for c in contracts:
        result = _validate(valid_frame(c, 30), tmp_path / f"{c.name}.csv", c)
        assert result.rows_accepted == 30 and result.issues.empty, (c.name, result.issues.to_string())


def test_wrong_type(tmp_path, outreach):
    frame = valid_frame(outreach)
    frame.loc[3, "approximate_age"] = "30.5"
    frame.loc[6, "approximate_age"] = "thirty"  # words are not echoed: it could as well be a name
    result = _validate(frame, tmp_path / "outreach_contacts.csv", outreach)
    issue = _only_issue(result, 5, "approximate_age", "type")  # data row 3 is line 5 (header is line 1)
    assert '"30.5" is not a whole number' in issue.message
    issue = _only_issue(result, 8, "approximate_age", "type")
    assert issue.message == "The value (not shown, as it may identify a person) is not a whole number."
    assert result.rows_quarantined == 2 and list(result.quarantined.row_number) == [5, 8]


def test_impossible_dates(tmp_path, cases):
    frame = valid_frame(cases)
    frame.loc[0, "approach_date"] = "2021-02-30"  # no 30 February
    frame.loc[1, "approach_date"] = "2031-01-01"  # after the extract date
    frame.loc[1, ["prevention_duty_start", "prevention_duty_end", "relief_duty_start", "relief_duty_end"]] = "2031-02-01"
    result = _validate(frame, tmp_path / "statutory_cases_cherwell.csv", cases)
    _only_issue(result, 2, "approach_date", "type")
    assert _only_issue(result, 3, "approach_date", "not_after_extract_date").value == "2031-01-01"
    assert result.rows_quarantined == 2


def test_missing_required_value(tmp_path, cases):
    frame = valid_frame(cases)
    frame.loc[4, "district"] = "  "
    result = _validate(frame, tmp_path / "statutory_cases.csv", cases)
    assert "required" in _only_issue(result, 6, "district", "required").message


def test_unknown_category(tmp_path, cases):
    frame = valid_frame(cases)
    frame.loc[2, "prevention_duty_end_reason"] = "lost_contact"
    frame.loc[5, "support_needs"] = "mental_health;drugs"
    result = _validate(frame, tmp_path / "statutory_cases.csv", cases)
    assert "contact_lost" in _only_issue(result, 4, "prevention_duty_end_reason", "allowed_values").message
    _only_issue(result, 7, "support_needs", "allowed_values")


def test_duplicate_record_ids(tmp_path, cases):
    frame = valid_frame(cases)
    frame.loc[7, "case_id"] = frame.loc[2, "case_id"]
    result = _validate(frame, tmp_path / "statutory_cases.csv", cases)
    issue = _only_issue(result, 9, "case_id", "unique")
    assert "first used on row 4" in issue.message
    assert result.rows_quarantined == 1  # the first occurrence is kept


def test_end_before_start(tmp_path, cases):
    frame = valid_frame(cases)
    frame.loc[1, "prevention_duty_end"] = "2019-01-01"
    result = _validate(frame, tmp_path / "statutory_cases.csv", cases)
    issue = _only_issue(result, 3, "prevention_duty_end", "prevention_end_after_start")
    assert "cannot end before it started" in issue.message and "2019-01-01" in issue.message


def test_identifier_values_are_withheld_in_messages(tmp_path, cases):
    frame = valid_frame(cases)
    frame.loc[0, "date_of_birth"] = "1999-13-13"
    frame.loc[1, "ni_number"] = "QQ123456Z"
    result = _validate(frame, tmp_path / "statutory_cases.csv", cases)
    assert _only_issue(result, 2, "date_of_birth", "type").value == "[withheld]"
    assert _only_issue(result, 3, "ni_number", "pattern").value == "[withheld]"
    assert "1999-13-13" not in result.issues.to_csv() + result.quarantined.to_csv()
    assert "QQ123456Z" not in result.issues.to_csv() + result.quarantined.to_csv()


def test_missing_required_column_refuses_file(tmp_path, cases):
    path = write_csv(valid_frame(cases).drop(columns=["approach_date"]), tmp_path / "statutory_cases.csv")
    result = validate_file(path, cases, EXTRACT_DATE)
    assert result.refused and "approach_date" in result.refusal_reason and "missing" in result.refusal_reason


def test_missing_optional_and_extra_columns_are_named(tmp_path, cases):
    frame = valid_frame(cases).drop(columns=["ethnicity"]).assign(caseworker_notes="x")
    result = _validate(frame, tmp_path / "statutory_cases.csv", cases)
    notes = " ".join(result.notes)
    assert "ethnicity" in notes and "caseworker_notes" in notes and "not stored" in notes
    assert "caseworker_notes" not in result.accepted.columns
    assert result.rows_accepted == len(frame)


def test_excel_with_title_row(tmp_path, outreach):
    frame = valid_frame(outreach, 10)
    frame.loc[4, "gender"] = "unknown"
    path = tmp_path / "outreach_contacts.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame([["Outreach contacts, Q2 2026 - OFFICIAL SENSITIVE"]]).to_excel(xl, header=False, index=False)
        frame.to_excel(xl, startrow=2, index=False)
    result = validate_file(path, outreach, EXTRACT_DATE)
    assert not result.refused and result.reconciles
    assert any("row 3" in n for n in result.notes)  # the header sits on sheet row 3
    # Data row 4 sits on sheet row 8: title (1), blank (2), header (3), rows 4..
    _only_issue(result, 8, "gender", "allowed_values")
    assert result.rows_accepted == 9


def test_non_utf8_csv_is_refused_with_advice(tmp_path, outreach):
    frame = valid_frame(outreach, 5)
    frame.loc[2, "given_name"] = "Zoë"
    path = tmp_path / "outreach_contacts.csv"
    path.write_bytes(frame.to_csv(index=False).encode("cp1252"))
    result = validate_file(path, outreach, EXTRACT_DATE)
    assert result.refused and "UTF-8" in result.refusal_reason and "line 4" in result.refusal_reason
    # ...and the advice works: with the right encoding it reads.
    assert validate_file(path, outreach, EXTRACT_DATE, encoding="cp1252").rows_accepted == 5


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file_is_refused(tmp_path, outreach, content):
    path = tmp_path / "outreach_contacts.csv"
    path.write_bytes(content)
    result = validate_file(path, outreach, EXTRACT_DATE)
    assert result.refused and "empty" in result.refusal_reason


def test_unusable_header_is_refused(tmp_path, outreach):
    path = tmp_path / "outreach_contacts.csv"
    path.write_text("OR-1,2021-01-01,oxford_city\nOR-2,2021-01-02,cherwell\n")
    result = validate_file(path, outreach, EXTRACT_DATE)
    assert result.refused and "header" in result.refusal_reason


def test_ragged_rows_are_quarantined_not_fatal(tmp_path, outreach):
    frame = valid_frame(outreach, 6)
    lines = frame.to_csv(index=False).splitlines()
    lines[3] += ",surplus,values"
    path = tmp_path / "outreach_contacts.csv"
    path.write_text("\n".join(lines) + "\n")
    result = validate_file(path, outreach, EXTRACT_DATE)
    assert result.reconciles and result.rows_read == 6 and result.rows_quarantined == 1
    _only_issue(result, 4, "(whole row)", "row_shape")


def test_every_error_reported_in_one_pass(tmp_path, cases):
    frame = valid_frame(cases, 40)
    frame.loc[0, "approach_date"] = "yesterday"
    frame.loc[10, "gender"] = "M"
    frame.loc[20, "relief_duty_end"] = "2000-01-01"
    frame.loc[30, "case_id"] = "bad id"
    result = _validate(frame, tmp_path / "statutory_cases.csv", cases)
    assert set(result.issues.row_number) >= {2, 12, 22, 32}
    assert result.rows_quarantined >= 4 and result.rows_accepted + result.rows_quarantined == 40


def test_cli_reports_without_traceback(tmp_path, outreach):
    folder = tmp_path / "extracts"
    folder.mkdir()
    frame = valid_frame(outreach, 8)
    frame.loc[1, "contact_date"] = "31/02/2021"
    write_csv(frame, folder / "outreach_contacts.csv")
    (folder / "statutory_cases_cherwell.csv").write_bytes(b"")
    (folder / "notes.txt").write_text("hello")
    out = runner.invoke(app, ["validate", str(folder), "--extract-date", "2026-09-30"])
    assert out.exit_code == 3  # a file would be refused (the empty one)
    text = out.output
    assert "Traceback" not in text
    assert "outreach_contacts.csv: rows read 8 = accepted 7 + quarantined 1" in text
    assert "row 3, column contact_date" in text and "[rule: type]" in text
    assert "statutory_cases_cherwell.csv: REFUSED" in text and "empty" in text
    assert "notes.txt: not matched" in text


def test_cli_errors_are_one_sentence(tmp_path):
    out = runner.invoke(app, ["ingest", str(tmp_path / "nowhere")])
    assert out.exit_code == 2 and "Traceback" not in out.output and "not a folder" in out.output


def test_unknown_linkage_profile_is_refused_before_any_work(tmp_path, outreach):
    folder = tmp_path / "extracts"
    folder.mkdir()
    write_csv(valid_frame(outreach, 8), folder / "outreach_contacts.csv")
    (folder / "extract.yaml").write_text("extract_date: 2026-09-30\nsynthetic: true\n")
    out = runner.invoke(app, ["ingest", str(folder), "--data-dir", str(tmp_path / "data"), "--linkage-profile", "national"])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert "No linkage settings profile 'national'" in out.output and "large_population" in out.output
    assert not (tmp_path / "data" / "workbench.duckdb").exists()
