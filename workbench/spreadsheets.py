"""Tables written for people to open in Excel: values that a spreadsheet would run as a formula are
written as text.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel
and LibreOffice as a formula (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``: "CSV injection"). Extracts
hold free text typed by front-line staff, and quarantine files, validation reports and study
exports carry it on, so every CSV and Excel file the workbench writes goes through
:func:`neutralise_formulas`: such a cell gets a leading apostrophe, which spreadsheets show as text
(OWASP's advice). Numbers, including negative numbers held as text (``"-0.5"``), are left alone.

The lowest layer of the package: ingest, linkage, studies, reporting and dashboards all write
tables through it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading apostrophe if a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and text column names) cannot run as formulas."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(neutralise_cell)
    if not isinstance(out.columns, pd.MultiIndex):
        out.columns = [neutralise_cell(c) for c in out.columns]
    if not isinstance(out.index, pd.MultiIndex) and out.index.dtype == object:
        out.index = out.index.map(neutralise_cell)
    return out


def write_csv(frame: pd.DataFrame, target: str | Path | Any, **kwargs: Any) -> None:
    """``frame.to_csv(target, ...)`` with formulas neutralised (``target`` a path or open file)."""
    neutralise_formulas(frame).to_csv(target, **kwargs)


def write_excel(frame: pd.DataFrame, writer: pd.ExcelWriter, **kwargs: Any) -> None:
    """``frame.to_excel(writer, ...)`` with formulas neutralised."""
    neutralise_formulas(frame).to_excel(writer, **kwargs)
