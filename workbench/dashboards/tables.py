"""Protected tables as the dashboards show them (an accessible HTML table with hidden cells
marked) and offer them for download (CSV and Excel, audited before they are written).

A download travels on its own (attached to an email, pasted into a board paper), so it says
inside itself what it covers and where it came from (:class:`DownloadAbout`: page and table, period,
district, extract date, definitions version, the store's ingest id, and what disclosure control hid
and rounded), and its file name changes with the filters
(``returns_within_12_months_tenure_cherwell_2025-04_to_2026-03_extract-2026-09-30.csv``).

* **Excel**: the table's sheet as it was (the table from A1, its footnote below, then a line
  pointing to the next sheet) and an "About this output" sheet, as the study exports have.
* **CSV**: the table first, then a blank line, the footnote and an "About this table" block of
  item,value rows. Not a sidecar ``.about.txt`` as the study exports use, because a browser
  download is one file; not a zip, which the reader must unpack, after which the CSV travels
  alone again; not leading comment lines, which push the column names off the first line, where
  Excel and most CSV readers look for them. Below the table the block is read by a person who
  opens the file, and a program reads the table up to the first blank line (the footnote has
  always been there).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from workbench.dashboards.aggregates import Period
from workbench.dashboards.format import esc, fmt_count, fmt_pct, period_label
from workbench.dashboards.protection import RATE_DECIMALS
from workbench.reporting.audit import assert_safe
from workbench.reporting.protected_table import ProtectedTable
from workbench.spreadsheets import neutralise_cell, write_excel

#: The Excel sheet that says what a download is (the study exports' sheet has the same name).
ABOUT_SHEET = "About this output"


@dataclass
class TableSpec:
    """A protected table as it is shown and downloaded."""

    table: ProtectedTable
    caption: str
    stem: str  # file name stem for downloads
    rate_columns: Sequence[str] = ()
    #: Of the rate columns, those that are not percentages (ratios, days): shown as given.
    plain_columns: Sequence[str] = ()


def table_html(spec: TableSpec, key: str, filters: str) -> str:
    pt = spec.table
    index_name = pt.values.index.name or ""
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in pt.values.columns)
    rows = []
    for idx, row in pt.values.iterrows():
        tds = []
        for col, v in row.items():
            hidden = bool(pt.mask.loc[idx, col])
            if col in spec.rate_columns:
                kind = "wb-rate"
            elif isinstance(v, str) and not hidden:
                kind = "wb-text"  # words or preformatted public figures (e.g. populations)
            else:
                kind = "wb-count"
            if hidden:
                text = esc(pt.policy.suppressed_marker)
            else:
                text = (esc(v) if col in spec.plain_columns else fmt_pct(v, RATE_DECIMALS)) if kind == "wb-rate" \
                    else esc(v) if kind == "wb-text" else fmt_count(v)
            cls = f"{kind} wb-hidden" if hidden else kind
            tds.append(f'<td class="{cls}">{text}</td>')
        tr_cls = ' class="wb-total"' if str(idx) == "Total" else ""
        rows.append(f'<tr{tr_cls}><th scope="row">{esc(idx)}</th>{"".join(tds)}</tr>')
    return (
        f'<table class="wb-table" data-table="{esc(key)}" data-filters="{esc(filters)}">'
        f"<caption>{esc(spec.caption)}</caption><thead><tr><th scope=\"col\">{esc(index_name)}</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<p class="wb-footnote">{esc(pt.footnote)}</p>'
    )


@dataclass(frozen=True)
class DownloadAbout:
    """What the tables of one page, as filtered, cover and where they came from."""

    page_title: str
    area: str  # a district code, or the county
    area_label: str
    period: Period
    extract_date: dt.date
    definitions_version: str
    definitions_sha256: str
    ingest_id: str
    synthetic: bool = False
    carried_forward: tuple[str, ...] = ()
    #: the page's third filter, if it has one: its label, chosen value (code) and that value's label
    group_label: str = ""
    group: str = ""
    group_text: str = ""

    def file_name(self, spec: TableSpec, extension: str) -> str:
        """e.g. ``returns_within_12_months_tenure_cherwell_2025-04_to_2026-03_extract-2026-09-30.csv``:
        the table, the third filter (unless the table's name has it), the area, the period and the
        extract date."""
        parts = [spec.stem]
        if self.group and _slug(self.group) not in _slug(spec.stem):
            parts.append(_slug(self.group))
        parts += [_slug(self.area), f"{self.period.start:%Y-%m}_to_{self.period.end:%Y-%m}",
                  f"extract-{self.extract_date.isoformat()}"]
        return f"{'_'.join(parts)}.{extension}"

    def rows(self, spec: TableSpec) -> list[tuple[str, str]]:
        """(item, value) rows saying what the table covers and where it came from."""
        rows = [("Table", spec.caption), ("Dashboard", self.page_title), ("District", self.area_label),
                ("Period", period_label(self.period))]
        if self.group_label:
            rows.append((self.group_label, self.group_text))
        rows += [
            ("Extract date", f"{self.extract_date.isoformat()} (figures use records up to this date)"),
            ("Definitions version", f"{self.definitions_version} (sha256 {self.definitions_sha256})"),
            ("Store ingest id", self.ingest_id),
        ]
        if self.synthetic:
            rows.append(("Data", "SYNTHETIC: made-up people generated for demonstration and testing, not real."))
        if self.carried_forward:
            rows.append(("Not updated this quarter", ", ".join(self.carried_forward)
                         + " (the previous quarter's records are used)"))
        rows += [("Disclosure control", spec.table.policy.footnote_text(perturbed=spec.table._audit.perturbed)),
                 ("Produced by", "Oxfordshire homelessness research workbench: commissioner dashboards")]
        return rows


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def export_bytes(spec: TableSpec, about: DownloadAbout) -> tuple[bytes, bytes]:
    """The protected table as CSV and Excel files (the table written by the disclosure module's
    own exporters, which add the footnote, then what the download covers), after an independent
    audit of the table."""
    assert_safe(spec.table)
    rows = about.rows(spec)
    with tempfile.TemporaryDirectory(prefix="wb-export-") as tmp:
        csv_path = spec.table.to_csv(Path(tmp) / "table.csv")
        with csv_path.open("a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([])
            writer.writerow(["About this table"])
            writer.writerows([neutralise_cell(k), neutralise_cell(v)] for k, v in rows)
        sheet = spec.stem[:31] or "Table"
        xlsx_path = spec.table.to_excel(Path(tmp) / "table.xlsx", sheet_name=sheet)
        pointer_row = len(spec.table.values) + spec.table.values.columns.nlevels + 4  # below the footnote
        with pd.ExcelWriter(xlsx_path, engine="openpyxl", mode="a", if_sheet_exists="overlay") as xl:
            pointer = f"About this table (district, period, extract date, definitions, ingest): sheet '{ABOUT_SHEET}'."
            pd.DataFrame({"About": [pointer]}).to_excel(xl, sheet_name=sheet, startrow=pointer_row, index=False,
                                                        header=False)
            write_excel(pd.DataFrame(rows, columns=["Item", "Value"]), xl, sheet_name=ABOUT_SHEET, index=False)
        return csv_path.read_bytes(), xlsx_path.read_bytes()


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def downloads_html(specs: Sequence[TableSpec], key: str, filters: str, about: DownloadAbout) -> str:
    links = []
    for spec in specs:
        try:
            csv_bytes, xlsx_bytes = export_bytes(spec, about)
        except Exception:  # an export that fails the audit is not offered; the page says so
            links.append(f"<span>{esc(spec.caption)}: download not available.</span>")
            continue
        csv_name, xlsx_name = about.file_name(spec, "csv"), about.file_name(spec, "xlsx")
        c64 = base64.b64encode(csv_bytes).decode("ascii")
        x64 = base64.b64encode(xlsx_bytes).decode("ascii")
        links.append(
            f'<span class="wb-dl-group">{esc(spec.caption)}: '
            f'<a class="wb-download" data-format="csv" data-filters="{esc(filters)}" download="{esc(csv_name)}" '
            f'aria-label="Download {esc(spec.caption)} as CSV" href="data:text/csv;charset=utf-8;base64,{c64}">CSV</a> '
            f'<a class="wb-download" data-format="xlsx" data-filters="{esc(filters)}" download="{esc(xlsx_name)}" '
            f'aria-label="Download {esc(spec.caption)} as Excel" href="data:{XLSX_MIME};base64,{x64}">Excel</a></span>'
        )
    return f'<div class="wb-downloads" data-panel="{esc(key)}" data-filters="{esc(filters)}"><strong>Download the table:</strong> {" ".join(links)}</div>'
