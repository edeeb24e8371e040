"""Every CSV and Excel file the workbench writes shows formula-like text as text (CSV injection)."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import pytest

from workbench.reporting import export
from workbench.spreadsheets import neutralise_cell, neutralise_formulas
from workbench.studies.base import StudyResult

ATTACKS = ["=HYPERLINK(\"http://x\",\"click\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1"]


@pytest.mark.parametrize("value", ATTACKS)
def test_formula_like_text_gets_an_apostrophe(value):
    assert neutralise_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Cherwell", "-5", "+3.5", "-0.25", "1e-3", "", "a=b", 7, -3.0, None])
def test_other_values_are_unchanged(value):
    assert neutralise_cell(value) == value


def test_frames_keep_numbers_and_shape():
    frame = pd.DataFrame({"name": ATTACKS, "n": range(len(ATTACKS))}, index=[f"r{i}" for i in range(len(ATTACKS))])
    safe = neutralise_formulas(frame)
    assert safe["n"].tolist() == frame["n"].tolist()
    assert all(v.startswith("'") for v in safe["name"])
    assert frame["name"].tolist() == ATTACKS  # the caller's frame is not changed


def test_study_exports_write_formulas_as_text(tmp_path):
    attacks = ATTACKS[:5]  # a bare carriage return inside a CSV value is a line-end question, not this one
    table = pd.DataFrame({"label": attacks, "count": [10] * len(attacks)})
    export(StudyResult(study="probe", parameters={}, tables={"t": table}), tmp_path, kind="research")
    with (tmp_path / "t.research-only.csv").open(newline="", encoding="utf-8") as fh:
        labels = [row["label"] for row in csv.DictReader(fh)]
    assert labels == ["'" + a for a in attacks]
    sheet = openpyxl.load_workbook(tmp_path / "probe_tables.research-only.xlsx")["t"]
    cells = [sheet.cell(row=r, column=1).value for r in range(2, 2 + len(attacks))]
    assert cells == ["'" + a for a in attacks]
    assert [sheet.cell(row=r, column=2).value for r in range(2, 2 + len(attacks))] == [10] * len(attacks)
