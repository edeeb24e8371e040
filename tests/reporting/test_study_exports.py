"""Study exports (issue 19, items 1 and 2): every study to a shareable export whose every cell is
scanned, the disclosure audit re-run on the files as written, the research export labelled and
owner-only, canary identifiers in no export, provenance in every file, and a rerun from run.json
alone giving identical numbers.

The studies run on the synthetic county with canary identifiers planted in a few rows of every
extract that holds identifiers (values of existing fields only), linked with the true people."""

from __future__ import annotations

import csv
import io
import json
import math
import stat
import subprocess
import zipfile

import openpyxl
import pandas as pd
import pytest
from canaries import CANARIES
from PIL import Image
from typer.testing import CliRunner

from workbench.cli import app
from workbench.dashboards.aggregates import build_aggregates
from workbench.dashboards.frame import PAGES, build_page
from workbench.dashboards.tables import export_bytes
from workbench.definitions import content_hash, version
from workbench.reporting import export
from workbench.reporting.exports import RESEARCH_LABEL, SHAREABLE_LABEL, ExportRefused
from workbench.reporting.policy import DisclosurePolicy, shareable_policy
from workbench.reporting.study_rules import RULES
from workbench.reporting.study_tables import MIN_RESIDUAL_DF, audit_export, model_checks
from workbench.studies import entry_point
from workbench.studies.provenance import call_from_run_json, git_state

STUDIES = ("returns", "new_arrivals", "supported_housing", "system_performance")
PARAMETERS = {"supported_housing": {"n_bootstrap": 50, "seed": 11}}

#: Columns where a whole number from 1 to 4 is not a count of people, each with why. Any other
#: column showing one fails the scan, so a new column must be looked at before it can pass.
NOT_COUNTS = {
    "df": "degrees of freedom of the proportional-hazards test (1 per term)",
    "p": "a p-value of 1", "p_value": "a p-value of 1", "p_holm": "Holm-adjusted p-values are capped at 1",
    "interaction_p_holm": "Holm-adjusted p-values are capped at 1", "variable_p_value": "a p-value of 1",
    "effect_p": "a p-value of 1", "effect_p_holm": "Holm-adjusted p-values are capped at 1",
    "e_value_ci": "an E-value of 1: the interval includes no effect",
    "risk_ratio": "the reference group's risk ratio is 1 by definition",
    "exp(coef)": "a hazard ratio", "upper .95": "an upper confidence limit of a ratio",
    "upper": "an upper confidence limit of 1 (100%)", "rate_upper": "an upper confidence limit of 1 (100%)",
    "simultaneous_upper": "an upper confidence limit of 1", "presented_upper": "an upper confidence limit of 1",
    "not_presented_upper": "an upper confidence limit of 1", "share_upper": "an upper confidence limit of 1",
    "within_7_days_upper": "an upper confidence limit of 1", "within_28_days_upper": "an upper confidence limit of 1",
    "rate": "a rate of 1 (100%)", "share": "a share of 1 (100%)", "sustained": "a share of 1 (100%)",
    "share_within_brief": "a share of 1 (100%)",
    # supported housing's outcomes by model: shares of the model's leavers (their base is protected)
    "planned_move_on": "a share of 1 (100%)", "moved_on_to_settled": "a share of 1 (100%)",
    "evicted_or_abandoned": "a share of 1 (100%)", "kept_settled_6_months": "a share of 1 (100%)",
    "kept_settled_12_months": "a share of 1 (100%)",
    # supported housing's bias analysis: ratios (1 = no effect, or a factor as common in both groups)
    "adjusted_risk_ratio": "a risk ratio of 1", "adjusted_lower": "a lower limit of a risk ratio",
    "adjusted_upper": "an upper limit of a risk ratio", "bias_factor": "a bias factor of 1",
    # the returns study's time-varying hazard ratios
    "hazard_ratio": "a hazard ratio of 1",
    "lower": "a lower confidence limit of a quantile in days",
    "median_observed": "a median in days", "km_median": "a median in days", "km_median_lower": "days",
    "km_median_upper": "days", "median_days": "a median in days", "median_lower": "days", "median_upper": "days",
    "q1_days": "a quartile in days", "q3_days": "a quartile in days", "estimate": "a quantile in days",
    "mean_days": "a mean in days",
    "per_1000": "a rate per 1,000 households (from the rounded count)", "per_1000_lower": "a rate per 1,000",
    "per_1000_upper": "a rate per 1,000",
}
#: Items of the "About this output" sheet whose values are settings, not counts (e.g. a linkage precision of 1.0).
SETTINGS = ("Parameter ", "Random seed", "Linkage ")


@pytest.fixture(scope="module")
def exports(canary_store, tmp_path_factory):
    """Each study run once, written as both kinds of export: name -> (result, shareable, research)."""
    out = {}
    root = tmp_path_factory.mktemp("exports")
    for name in STUDIES:
        result = entry_point(name)(canary_store, **PARAMETERS.get(name, {}))
        out[name] = (result, export(result, root / f"{name}-shareable"),
                     export(result, root / f"{name}-research", kind="research"))
    return out


def _number(text: str) -> float | None:
    try:
        x = float(str(text).replace(",", ""))
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _cells(folder):
    """(file, column, value) for every cell of every CSV and every Excel sheet in ``folder``."""
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        for row in rows[1:]:
            for col, value in zip(rows[0], row, strict=True):
                yield path.name, col, value
    for path in sorted(folder.glob("*.xlsx")):
        book = openpyxl.load_workbook(path, read_only=True)
        for sheet in book.worksheets:
            rows = list(sheet.iter_rows(values_only=True))
            for row in rows[1:]:
                if sheet.title == "About this output":  # Item, Value: the item names the value
                    yield f"{path.name}[{sheet.title}]", f"About: {row[0]}", row[1]
                    continue
                for col, value in zip(rows[0], row, strict=True):
                    yield f"{path.name}[{sheet.title}]", col, value


@pytest.mark.parametrize("name", STUDIES)
def test_shareable_export_shows_no_count_from_1_to_4(exports, name):
    result, folder, _ = exports[name]
    record = json.loads((folder / "run.json").read_text())
    assert record["kind"] == "shareable" and record["label"] == SHAREABLE_LABEL and "estimates" not in record
    count_columns = {c for cols in record["count_columns"].values() for c in cols}
    scanned, small = 0, []
    for where, col, value in _cells(folder):
        scanned += 1
        x = _number(value) if value is not None else None
        if x is None or not (1 <= x <= 4) or x != int(x):
            continue
        if str(col).startswith(tuple(f"About: {s}" for s in SETTINGS)):
            continue
        if col in count_columns or col not in NOT_COUNTS:
            small.append((where, col, value))
    assert scanned > 500, scanned  # every cell was read
    assert not small, small[:10]


@pytest.mark.parametrize("name", ["new_arrivals", "system_performance"])
def test_the_scan_finds_small_counts_in_the_research_export(exports, name):
    """The same scan on the research export of the same run finds counts from 1 to 4 (monthly and
    district tables have small groups): the scan above can fail."""
    _, shareable, research = exports[name]
    count_columns = {c for cols in json.loads((shareable / "run.json").read_text())["count_columns"].values()
                     for c in cols}
    found = [(w, c) for w, c, v in _cells(research)
             if c in count_columns and (x := _number(v)) is not None and 1 <= x <= 4 and x == int(x)]
    assert len(found) > 50


@pytest.mark.parametrize("name", STUDIES)
def test_audit_of_the_written_files_finds_no_recoverable_cell(exports, name):
    """The audit re-run on the CSV files as written, reading each shown count as its rounding
    interval, across all the tables of the export."""
    result, folder, _ = exports[name]
    rules = RULES[result.study]
    written = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in folder.glob("*.csv")}
    assert written and set(written) <= set(rules)
    policy = shareable_policy()
    assert policy.rounding_base == 5  # the dashboards' policy
    risks = audit_export(written, rules, result, policy)
    assert risks.empty, risks.head(10).to_string()
    hidden = sum(int((t == policy.suppressed_marker).to_numpy().sum()) for t in written.values())
    assert hidden > 0 or name in ("returns", "supported_housing")  # these have large groups only
    # what was left out is said, in run.json and on the About sheet
    record = json.loads((folder / "run.json").read_text())
    about = pd.read_excel(next(folder.glob("*.xlsx")), sheet_name="About this output")
    for table, why in record["withheld"].items():
        assert why and not (folder / f"{table}.csv").exists()
        if not table.startswith("figure"):
            assert about["Value"].str.startswith(f"{table}:").any()


def test_audit_catches_a_hidden_count_recoverable_across_tables(exports):
    """The audit is not blind: reveal one hidden district count in a copy of a shareable table and
    the county total of the other table gives away another one."""
    result, folder, _ = exports["returns"]
    policy = DisclosurePolicy(threshold=5)  # no rounding: shown figures are exact
    written = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in folder.glob("*.csv")}
    table = "windowed_rates_by_route_in"
    true = result.tables[table].reset_index(drop=True)
    shown = true.astype(object).copy()
    shown.loc[0, "returned"] = policy.suppressed_marker  # one hidden cell, every other cell exact
    written[table] = shown
    written["windowed_rates"] = result.tables["windowed_rates"].astype(object)
    risks = audit_export({table: shown, "windowed_rates": written["windowed_rates"]}, RULES[result.study], result,
                         policy)
    assert (risks["kind"] == "exact_recovery").any()


def test_research_export_is_labelled_and_owner_only(exports):
    for name in STUDIES:
        result, _, folder = exports[name]
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        files = list(folder.iterdir())
        assert len(files) > 5
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            if path.name not in ("run.json",):
                assert ".research-only" in path.name, path.name
        for path in folder.glob("*.about.txt"):
            assert RESEARCH_LABEL in path.read_text()
        about = pd.read_excel(next(folder.glob("*.xlsx")), sheet_name=0)
        assert RESEARCH_LABEL in set(about["Value"])
        png = next(folder.glob("*.png"))
        assert RESEARCH_LABEL in Image.open(png).info["Description"]
        assert RESEARCH_LABEL in next(folder.glob("*.svg")).read_text()
        assert json.loads((folder / "run.json").read_text())["estimates"]


def test_kinds_are_never_mixed_in_one_folder(exports):
    result, shareable, research = exports["returns"]
    with pytest.raises(ExportRefused, match="research export"):
        export(result, research)
    with pytest.raises(ExportRefused, match="shareable export"):
        export(result, shareable, kind="research")


def test_canary_identifiers_reach_no_export(exports):
    searched = 0
    for _, shareable, research in exports.values():
        for folder in (shareable, research):
            for path in folder.iterdir():
                blob = path.read_bytes()
                searched += 1
                for c in CANARIES:
                    assert c.encode() not in blob, f"{c} found in {path}"
    assert searched > 100


def test_provenance_in_every_file(exports, canary_store):
    meta = canary_store.meta()
    ingests = canary_store.table("ingests")
    for name in STUDIES:
        result, shareable, research = exports[name]
        prov = result.provenance
        assert prov["data"]["ingest_id"] == meta["ingest_id"]
        assert {f["sha256"] for f in prov["data"]["files"]} == set(ingests["sha256"])
        assert prov["definitions_version"] == version() and prov["definitions_sha256"] == content_hash()
        assert prov["contract_versions"]["statutory_cases"] and prov["code"]["version"]
        assert prov["linkage"]["method"] == "truth"
        for folder in (shareable, research):
            record = json.loads((folder / "run.json").read_text())
            assert record["provenance"]["data"]["ingest_id"] == meta["ingest_id"]
            csvs = list(folder.glob("*.csv"))
            assert csvs and all(p.with_name(p.name.removesuffix(".csv") + ".about.txt").exists() for p in csvs)
            for p in folder.glob("*.about.txt"):
                text = p.read_text()
                assert meta["ingest_id"] in text and content_hash() in text
            about = pd.read_excel(next(folder.glob("*.xlsx")), sheet_name=0)
            assert list(about.columns) == ["Item", "Value"]
            assert meta["ingest_id"] in set(about["Value"])
            for png in folder.glob("*.png"):
                assert meta["ingest_id"] in Image.open(png).info["Description"]
        # row counts of the extracts are in the research record only
        shared = json.loads((shareable / "run.json").read_text())["provenance"]["data"]["files"][0]
        assert "rows_quarantined" not in shared and "sha256" in shared
    assert exports["supported_housing"][0].provenance["random_seeds"] == {"propensity_weighting_bootstrap": 11}


def test_rerun_from_run_json_alone_gives_identical_numbers(exports, canary_store, tmp_path):
    for name in ("supported_housing", "returns"):
        result, shareable, research = exports[name]
        study, parameters = call_from_run_json(shareable / "run.json")
        assert study == name
        again = entry_point(study)(canary_store, **parameters)
        assert again.estimates == result.estimates
        for table in result.tables:
            pd.testing.assert_frame_equal(again.tables[table], result.tables[table])
    # the seed matters, so the record of it does: another seed gives another bootstrap interval
    other = entry_point("supported_housing")(canary_store, n_bootstrap=50, seed=12)
    assert other.estimates["ipw"] != exports["supported_housing"][0].estimates["ipw"]
    # and through the command line: the same shareable files
    out = CliRunner().invoke(app, ["study", "--rerun", str(exports["supported_housing"][1] / "run.json"),
                                   "--data-dir", str(canary_store.data_dir), "--out", str(tmp_path / "again")])
    assert out.exit_code == 0, out.output
    for p in exports["supported_housing"][1].glob("*.csv"):
        assert (tmp_path / "again" / p.name).read_bytes() == p.read_bytes(), p.name


def test_model_output_checking_rules():
    policy = DisclosurePolicy(threshold=5)
    assert model_checks({"n": 100, "events": 40, "parameters": 5, "min_cell": 12}, policy) is None
    assert "residual degrees of freedom" in model_checks({"n": 14, "events": 6, "parameters": 5, "min_cell": 6}, policy)
    assert MIN_RESIDUAL_DF == 10
    assert "min cell" in model_checks({"n": 500, "events": 60, "parameters": 3, "min_cell": 2}, policy)
    assert "events" in model_checks({"n": 500, "events": 3, "parameters": 3, "min_cell": 3}, policy)
    assert "not recorded" in model_checks(None, policy)


def test_git_state_outside_a_checkout_says_so(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "clean": None, "note": "not a git checkout"}
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    (tmp_path / "repo" / "__init__.py").write_text("")
    assert git_state(tmp_path / "repo")["note"] == "not a git checkout"  # untracked: not this package's checkout


# --- dashboard downloads: canaries planted in the raw extracts reach none (issue 19) -----------------

def _excel_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as book:  # an xlsx is a zip of XML parts
        return "\n".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())


def test_no_canary_in_any_dashboard_download_or_page(canary_store):
    build_aggregates(canary_store.data_dir)
    files = 0
    for key, _ in PAGES:
        page = build_page(key, canary_store.data_dir)
        about = page.about()
        html = page.snapshot_html()
        texts = [html]
        for content in page.compute():
            for spec in content.tables:
                csv_bytes, xlsx_bytes = export_bytes(spec, about)
                texts += [csv_bytes.decode("utf-8-sig"), _excel_text(xlsx_bytes)]
                files += 2
        blob = "\n".join(texts)
        for canary in CANARIES:
            assert canary not in blob, (key, canary)
    assert files > 20  # every page's tables were downloaded
