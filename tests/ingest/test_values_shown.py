"""Values echoed about invalid cells are shown only where they cannot identify a person (issue 16,
item 8): a surname typed into gender, an NI number typed into ethnicity and a name typed into a date
field reach no message, console, report, quarantine file or table of the store; a mistyped code or
date is still shown so that it can be put right. The store's quarantine log holds where rows failed
(file, row, column, rule), never what they held."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from factories import EXTRACT_DATE, valid_frame, write_csv
from typer.testing import CliRunner

from workbench.cli import app
from workbench.ingest.quarantine_log import QUARANTINE_LOG_COLUMNS, without_values
from workbench.ingest.validate import WITHHELD, shown_value
from workbench.measures.data_quality import quarantine_rates
from workbench.store import Store

runner = CliRunner()
SECRETS = ("Smith", "AB123456C", "John Smith")
SHOWN = ("Femal", "31/13/2020")
FILE = "statutory_cases_cherwell.csv"


@pytest.fixture(scope="module")
def cases(contracts):
    return contracts["statutory_cases"]


@pytest.mark.parametrize(("column", "value", "shown"), [
    ("gender", "Smith", False),             # a surname in a code field
    ("ethnicity", "AB123456C", False),      # an NI number in a code field
    ("approach_date", "John Smith", False),  # a name in a date field
    ("approach_date", "9434765919", False),  # ten digits: an NHS number's shape
    ("approach_date", "07700 900123", False),  # a phone number
    ("nationality", "Whitehead", False),    # a word that is no code of any vocabulary
    ("gender", "Femal", True),              # one letter dropped from a code of its own vocabulary
    ("gender", "fmeale", True),             # two letters swapped
    ("gender", "Not Known", True),          # a code in other words (case, spaces, _ ignored)
    ("gender", "Female ", True),            # a label
    ("gender", "white", True),              # a code of another vocabulary: a word, not a person
    ("ethnicity", "whit", True),            # one letter short of its own code
    ("gender", "Whit", False),              # ...but far from every gender code
    ("approach_date", "31/13/2020", True),  # a mistyped date
    ("approach_date", "2021-02-30", True),
    ("approach_date", "-3", True),
    ("case_id", "OXC-0001234", True),       # a record id in its format: the store keeps it
    ("case_id", "Smith-1234", False),
    ("support_needs", "mental_health;drugs", False),
    ("support_needs", "mental_health;Mental health", True),
    ("first_name", "Femal", False),         # identifier fields: never
    ("date_of_birth", "31/13/2020", False),
    ("gender", "fe\x00male", False),        # a damaged value
])
def test_which_values_are_shown(cases, column, value, shown):
    out = shown_value(cases, cases.field(column), value)
    assert out == (value if shown else WITHHELD)


@pytest.fixture(scope="module")
def quarter(tmp_path_factory, cases):
    """A quarter whose one file has the three secrets and the two mistypes, each on its own row."""
    folder = tmp_path_factory.mktemp("q")
    frame = valid_frame(cases, 12)
    frame.loc[1, "gender"] = "Smith"            # line 3
    frame.loc[2, "ethnicity"] = "AB123456C"     # line 4
    frame.loc[3, "approach_date"] = "John Smith"  # line 5
    frame.loc[4, "gender"] = "Femal"            # line 6
    frame.loc[5, "approach_date"] = "31/13/2020"  # line 7
    write_csv(frame, folder / FILE)
    (folder / "extract.yaml").write_text(f"extract_date: {EXTRACT_DATE.isoformat()}\nsynthetic: true\n")
    return folder


@pytest.fixture(scope="module")
def runs(quarter, tmp_path_factory):
    """``workbench validate`` (with --report) and ``workbench ingest`` on the quarter."""
    out = tmp_path_factory.mktemp("out")
    checked = runner.invoke(app, ["validate", str(quarter), "--report", str(out / "report.md")])
    data = out / "data"
    ingested = runner.invoke(app, ["ingest", str(quarter), "--data-dir", str(data), "--linkage", "deterministic",
                                   "--no-progress"])
    assert checked.exit_code == 1, checked.output  # rows would be quarantined
    assert ingested.exit_code == 1, ingested.output  # stored, with rows quarantined
    return checked.output, ingested.output, out / "report.md", data


def _store_text(data) -> str:
    with duckdb.connect(str(data / "workbench.duckdb"), read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()]
        assert {"statutory_cases__history", "quarantine_log", "ingests"} <= set(tables)
        return "\n".join(con.execute(f'select * from "{t}"').df().to_csv() for t in tables)


def _written_files(data) -> dict[str, str]:
    files = {p.name: p.read_text(encoding="utf-8", errors="replace")
             for p in data.rglob("*") if p.is_file() and p.name != "workbench.duckdb"}
    assert {"issues.csv", "validation_report.md", "statutory_cases_cherwell.quarantine.csv"} <= set(files)
    return files


def test_secrets_reach_no_output(runs):
    validated, ingested, report, data = runs
    places = {"validate": validated, "ingest": ingested, "--report": report.read_text(), "store": _store_text(data),
              **_written_files(data)}
    for where, text in places.items():
        for secret in SECRETS:
            assert secret not in text, (secret, where)


def test_messages_still_say_what_failed(runs):
    validated, _, report, _ = runs
    withheld = "The value (not shown, as it may identify a person)"
    assert f"row 3, column gender: {withheld} is not an allowed code for gender" in validated
    assert f"row 4, column ethnicity: {withheld} is not an allowed code for ethnicity" in validated
    assert f"row 5, column approach_date: {withheld} is not a valid date" in validated
    assert f"Row 3, column gender: {withheld} is not an allowed code" in report.read_text()


def test_mistyped_codes_and_dates_are_shown(runs):
    validated, _, report, data = runs
    files = _written_files(data)
    assert 'row 6, column gender: "Femal" is not an allowed code for gender' in validated
    assert 'row 7, column approach_date: "31/13/2020" is not a valid date' in validated
    for text in (report.read_text(), files["validation_report.md"]):
        assert '"Femal" is not an allowed code' in text and '"31/13/2020" is not a valid date' in text
    reports = data / "reports" / Store(data).meta()["ingest_id"]
    issues = pd.read_csv(reports / "issues.csv", dtype=str).set_index("row_number")
    assert issues.loc["6", "value"] == "Femal" and issues.loc["7", "value"] == "31/13/2020"
    assert (issues.loc[["3", "4", "5"], "value"] == WITHHELD).all()
    quarantined = pd.read_csv(reports / "statutory_cases_cherwell.quarantine.csv", dtype=str).set_index("row_number")
    assert quarantined.loc["6", "gender"] == "Femal" and quarantined.loc["7", "approach_date"] == "31/13/2020"
    assert quarantined.loc["3", "gender"] == WITHHELD and quarantined.loc["4", "ethnicity"] == WITHHELD
    assert quarantined.loc["5", "approach_date"] == WITHHELD
    assert (quarantined["first_name"] == WITHHELD).all()  # identifiers, as before


def test_quarantine_log_holds_places_and_rules_only(runs):
    *_, data = runs
    log = Store(data).table("quarantine_log")
    assert list(log.columns) == QUARANTINE_LOG_COLUMNS
    got = sorted(zip(log["row_number"], log["column"], log["rule"], strict=True))
    assert got == [(3, "gender", "allowed_values"), (4, "ethnicity", "allowed_values"), (5, "approach_date", "type"),
                   (6, "gender", "allowed_values"), (7, "approach_date", "type")]
    assert set(log["file"]) == {FILE} and set(log["source"]) == {"statutory_cases"}
    # The data-quality scorecard reads the rules from the new layout.
    detail = quarantine_rates(Store(data)).set_index("district").loc["cherwell", "detail"]
    assert detail == "allowed_values (3), type (2)"


def test_an_earlier_stores_log_loses_its_values(runs, quarter, tmp_path):
    """A store built before kept messages with values: the next ingest carries only places and rules."""
    *_, built = runs
    data = tmp_path / "data"
    data.mkdir()
    (data / "DEMO-synthetic-only.key").write_bytes((built / "DEMO-synthetic-only.key").read_bytes())
    legacy = pd.DataFrame({
        "row_number": [3, 9], "ingest_id": "20240101T000000Z-abcdef", "file": FILE, "source": "statutory_cases",
        "reasons": ['gender: "Smith" is not an allowed code for gender. Allowed: female, male [allowed_values] | '
                    'ethnicity: "AB123456C" is not an allowed code for ethnicity. [allowed_values]',
                    'approach_date: "John Smith" is not a valid date (write dates as YYYY-MM-DD). [type]'],
    })
    # A store as the workbench built it before snapshots: plain tables, one ingest.
    earlier = Store(built)
    meta = {**earlier.meta(), "ingest_id": "20240101T000000Z-abcdef"}
    with duckdb.connect(str(data / "workbench.duckdb")) as con:
        for name, frame in {"statutory_cases": earlier.table("statutory_cases"), "persons": earlier.table("persons"),
                            "ingests": earlier.table("ingests").assign(ingest_id="20240101T000000Z-abcdef"),
                            "quarantine_log": legacy,
                            "store_meta": pd.DataFrame({"key": list(meta), "value": list(meta.values())})}.items():
            con.register("frame", frame)
            con.execute(f"create table {name} as select * from frame")
            con.unregister("frame")
    changed = tmp_path / "q2"
    changed.mkdir()
    (changed / FILE).write_text((quarter / FILE).read_text() + "\n")  # new bytes: a new ingest
    (changed / "extract.yaml").write_text((quarter / "extract.yaml").read_text())
    out = runner.invoke(app, ["ingest", str(changed), "--data-dir", str(data), "--linkage", "deterministic", "--no-progress"])
    assert out.exit_code == 1, out.output  # stored, rows quarantined
    for secret in SECRETS:
        assert secret not in _store_text(data)
    log = Store(data).table("quarantine_log")
    old = log[log["ingest_id"] == "20240101T000000Z-abcdef"]
    assert sorted(zip(old["row_number"], old["column"], old["rule"], strict=True)) == [
        (3, "ethnicity", "allowed_values"), (3, "gender", "allowed_values"), (9, "approach_date", "type")]
    assert len(log) == 3 + 5 and list(log.columns) == QUARANTINE_LOG_COLUMNS
    # the earlier store became the first snapshot, still readable as it was
    assert list(Store(data).snapshots()["ingest_id"])[0] == "20240101T000000Z-abcdef"
    pd.testing.assert_frame_equal(Store(data, as_of="20240101T000000Z-abcdef").table("statutory_cases"),
                                  earlier.table("statutory_cases"))


def test_legacy_reasons_that_cannot_be_read_keep_the_row():
    legacy = pd.DataFrame({"row_number": [4], "ingest_id": "x", "file": FILE, "source": "statutory_cases",
                           "reasons": ["something else entirely: Smith"]})
    out = without_values(legacy)
    assert out.to_dict("records") == [dict(ingest_id="x", file=FILE, source="statutory_cases", row_number=4,
                                           column="(unknown)", rule="(unknown)")]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_file_without_its_header_row_is_refused_without_its_first_record(tmp_path, cases, suffix):
    frame = valid_frame(cases, 6)
    frame.loc[0, ["first_name", "last_name", "ni_number"]] = ["Zebediah", "Quillfeather", "ZX987654A"]
    path = tmp_path / f"statutory_cases_cherwell{suffix}"
    if suffix == ".csv":
        path.write_text("\n".join(frame.to_csv(index=False).splitlines()[1:]) + "\n")
    else:
        frame.to_excel(path, index=False, header=False)
    out = runner.invoke(app, ["validate", str(path), "--extract-date", EXTRACT_DATE.isoformat()])
    assert out.exit_code == 3 and "REFUSED" in out.output and "not a usable header" in out.output, out.output
    for value in ("Zebediah", "Quillfeather", "ZX987654A", frame.loc[0, "date_of_birth"], frame.loc[0, "case_id"]):
        assert value not in out.output
