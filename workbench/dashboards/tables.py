"""Protected tables as the dashboards show them (an accessible HTML table with hidden cells
marked) and offer them for download (CSV and Excel, audited before they are written)."""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.dashboards.format import esc, fmt_count, fmt_pct
from workbench.dashboards.protection import RATE_DECIMALS
from workbench.reporting.audit import assert_safe
from workbench.reporting.protected_table import ProtectedTable


@dataclass
class TableSpec:
    """A protected table as it is shown and downloaded."""

    table: ProtectedTable
    caption: str
    stem: str  # file name stem for downloads
    rate_columns: Sequence[str] = ()


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
                text = fmt_pct(v, RATE_DECIMALS) if kind == "wb-rate" else esc(v) if kind == "wb-text" else fmt_count(v)
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


def export_bytes(spec: TableSpec) -> tuple[bytes, bytes]:
    """The protected table as CSV and Excel files (written by the disclosure module's own
    exporters, which add the footnote), after an independent audit of the table."""
    assert_safe(spec.table)
    with tempfile.TemporaryDirectory(prefix="wb-export-") as tmp:
        csv_path = spec.table.to_csv(Path(tmp) / "table.csv")
        xlsx_path = spec.table.to_excel(Path(tmp) / "table.xlsx", sheet_name=spec.stem[:31] or "Table")
        return csv_path.read_bytes(), xlsx_path.read_bytes()


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def downloads_html(specs: Sequence[TableSpec], key: str, filters: str) -> str:
    links = []
    for spec in specs:
        try:
            csv_bytes, xlsx_bytes = export_bytes(spec)
        except Exception:  # an export that fails the audit is not offered; the page says so
            links.append(f"<span>{esc(spec.caption)}: download not available.</span>")
            continue
        c64 = base64.b64encode(csv_bytes).decode("ascii")
        x64 = base64.b64encode(xlsx_bytes).decode("ascii")
        links.append(
            f'<span class="wb-dl-group">{esc(spec.caption)}: '
            f'<a class="wb-download" data-format="csv" data-filters="{esc(filters)}" download="{esc(spec.stem)}.csv" '
            f'aria-label="Download {esc(spec.caption)} as CSV" href="data:text/csv;charset=utf-8;base64,{c64}">CSV</a> '
            f'<a class="wb-download" data-format="xlsx" data-filters="{esc(filters)}" download="{esc(spec.stem)}.xlsx" '
            f'aria-label="Download {esc(spec.caption)} as Excel" href="data:{XLSX_MIME};base64,{x64}">Excel</a></span>'
        )
    return f'<div class="wb-downloads" data-panel="{esc(key)}" data-filters="{esc(filters)}"><strong>Download the table:</strong> {" ".join(links)}</div>'
