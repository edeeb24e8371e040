"""What a board-ready report of a study holds, every part of it safe to share.

:func:`build_report` runs the study on the store and gathers, in the order a reader needs them:

1. **findings** in plain English, each passed through :func:`~workbench.reporting.findings.shareable_findings`
   (counts rounded as the tables round them; a finding quoting a count below the threshold, or a
   figure the shareable tables do not show, is withheld and counted);
2. **figures**, each with alt text: those the shareable export carries
   (:data:`~workbench.reporting.exports.SHAREABLE_FIGURES`) and charts drawn here from the shareable
   tables only (:data:`REPORT_CHARTS`), so a chart can show nothing the tables do not;
3. the **shareable tables**: exactly those of the shareable export (the same disclosure control,
   audited across all of them); a table longer than :data:`MAX_TABLE_ROWS` rows is named with its
   file in the shareable export instead of being printed;
4. the **definitions** used; 5. the **caveats**: the store's (a source carried forward, an earlier
   snapshot) and the study's assumptions log (``docs/assumptions/<study>.md``); 6. what was left out
   and the disclosure rule; 7. the **provenance** block.

The parts are HTML fragments, displayed by the report notebook
(``workbench/reporting/notebooks/study_report.ipynb``) and rendered by
:mod:`workbench.reporting.report_render`.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

import workbench
from workbench.reporting.exports import SHAREABLE_FIGURES, SHAREABLE_LABEL, provenance_lines
from workbench.reporting.findings import CheckedFindings, shareable_findings
from workbench.reporting.policy import DisclosurePolicy, shareable_policy
from workbench.reporting.study_rules import RULES
from workbench.reporting.study_tables import ShareableTables, protect_study
from workbench.studies.base import StudyResult

#: Longer shareable tables are listed with their file in the shareable export, not printed.
MAX_TABLE_ROWS = 40
#: Report title and assumptions log of each study (by the name ``workbench report`` takes).
STUDY_TITLES: dict[str, str] = {
    "returns": "Returns to homelessness",
    "new_arrivals": "New arrivals on the streets: had they asked for help before?",
    "supported_housing": "Supported housing outcomes: who benefits from congregate supported housing?",
    "system_performance": "System performance measures",
}
ASSUMPTIONS_LOG: dict[str, str] = {
    "returns": "returns.md", "new_arrivals": "new_arrivals.md", "supported_housing": "supported_housing.md",
    "system_performance": "system_performance.md",
}
_DOCS = Path(workbench.__file__).resolve().parent.parent / "docs" / "assumptions"


@dataclass(frozen=True)
class Chart:
    """A point-and-interval chart of one shareable table's rows (hidden figures are not drawn)."""

    table: str
    title: str
    label: tuple[str, ...]
    value: str
    lower: str
    upper: str
    where: Mapping[str, Any] = field(default_factory=dict)
    percent: bool = True  # shares: shown as percentages
    reference: float | None = None  # a line at no difference


#: Charts drawn from the shareable tables, by the study's name as its result records it.
REPORT_CHARTS: dict[str, tuple[Chart, ...]] = {
    "returns_to_homelessness": (
        Chart("windowed_rates", "Share of people who returned to homelessness, by time since moving in",
              ("window",), "rate", "lower", "upper", where={"group": "all"}),),
    "new_arrivals": (
        Chart("presented_share", "Share of new arrivals on the streets who had asked for help before",
              ("meaning",), "share", "lower", "upper"),),
    "supported_housing_outcomes": (
        Chart("congregate_effect", "Difference in keeping a settled home for 12 months: congregate hostels "
              "against other models (percentage points)", ("method",), "risk_difference", "rd_lower", "rd_upper",
              reference=0.0),),
    "system_performance": (
        Chart("district_indicators", "Prevention duties ended with accommodation secured, by district",
              ("district",), "rate", "rate_lower", "rate_upper", where={"indicator": "prevention_success"}),
        Chart("district_indicators", "Relief duties ended with accommodation secured, by district",
              ("district",), "rate", "rate_lower", "rate_upper", where={"indicator": "relief_success"}),
        Chart("duty_without_outcome", "Duties closed without an outcome, by duty and district",
              ("duty", "district"), "share", "share_lower", "share_upper")),
}
#: Alt text of the study figures cleared for sharing: the table holding the same estimates.
FIGURE_TABLES: dict[str, tuple[str, str, str, str, str]] = {
    "forest_cox": ("cox_cause_specific", "label", "exp(coef)", "lower .95", "upper .95"),
    "subgroup_forest": ("subgroup_effects", "label", "risk_difference", "lower", "upper"),
}


@dataclass
class ReportFigure:
    name: str
    title: str
    alt: str
    png: bytes


@dataclass
class Report:
    """Everything a report shows, already safe to share."""

    study: str  # the name given to ``workbench report``
    title: str
    result: StudyResult
    shared: ShareableTables
    findings: CheckedFindings
    figures: list[ReportFigure]
    caveats: list[str]
    assumptions: str | None  # the study's assumptions log (Markdown), if the docs are at hand
    policy: DisclosurePolicy

    # ---------------------------------------------------------------------------- HTML parts
    def header_html(self) -> str:
        data = self.result.provenance.get("data", {})
        return (f"<h1>{_e(self.title)}</h1>\n<p class='wb-label'><strong>{_e(SHAREABLE_LABEL)}</strong></p>\n"
                f"<p class='wb-meta'>Extracts dated {_e(data.get('extract_date', '?'))}; store snapshot "
                f"(ingest) {_e(data.get('ingest_id', '?'))}; definitions version "
                f"{_e(self.result.provenance.get('definitions_version', '?'))}; report written "
                f"{_e(self.result.run_at)} (UTC).</p>")

    def findings_html(self) -> str:
        items = "".join(f"<li>{_e(f)}</li>" for f in self.findings.shareable) or "<li>No finding could be shared.</li>"
        note = "<p class='wb-note'>" + (f"Counts in the findings are rounded to the nearest {self.policy.rounding_base}, "
                                         "as in the tables." if self.policy.rounding_base else
                                         "Counts in the findings are counts the tables show.")
        if self.findings.withheld:
            note += (f" {len(self.findings.withheld)} finding(s) of the study are not in this report: "
                     + "; ".join(sorted(set(self.findings.withheld))) + " (they are in the research output).")
        return f"<ul class='wb-findings'>{items}</ul>\n{note}</p>"

    def figures_html(self) -> str:
        if not self.figures:
            return "<p>No figure of this study is cleared for sharing.</p>"
        parts = []
        for f in self.figures:
            data = base64.b64encode(f.png).decode("ascii")
            parts.append(f"<figure id='figure-{_e(f.name)}'><img src='data:image/png;base64,{data}' alt='{_e(f.alt)}' "
                         f"style='max-width:100%'>\n<figcaption>{_e(f.title)}</figcaption></figure>")
        return "\n".join(parts)

    def tables_html(self) -> str:
        parts, listed = [], []
        for name, table in self.shared.tables.items():
            if len(table) > MAX_TABLE_ROWS:
                listed.append(f"<li>{_e(_humane(name))}: {len(table):,} rows, file <code>{_e(name)}.csv</code></li>")
                continue
            parts.append(table_html(name, table, self.shared.count_columns.get(name, ()), self.policy))
        if listed:
            parts.append("<p>Longer shareable tables, in the shareable export of the same run "
                         f"(<code>workbench study {_e(self.study)}</code>):</p><ul>" + "".join(listed) + "</ul>")
        parts.append(f"<p class='wb-note'>{_e(self.policy.footnote_text())}</p>")
        return "\n".join(parts)

    def definitions_html(self) -> str:
        return "<ul>" + "".join(f"<li>{_e(d)}</li>" for d in self.result.definitions) + "</ul>"

    def caveats_html(self) -> str:
        items = self.caveats or ["None: every source was updated in this snapshot, and it is the latest."]
        return "<p>About the data in this snapshot:</p><ul>" + "".join(f"<li>{_e(c)}</li>" for c in items) + "</ul>"

    def assumptions_markdown(self) -> str:
        if self.assumptions is None:
            return (f"The assumptions log of this study is `docs/assumptions/{ASSUMPTIONS_LOG[self.study]}` in the "
                    "workbench's repository (not installed with the package).")
        # its own title would be a second top-level heading in the report
        return re.sub(r"^#\s.*\n", "", self.assumptions, count=1).replace("\n## ", "\n### ")

    def withheld_html(self) -> str:
        rows = "".join(f"<li>{_e(_humane(k))}: {_e(v)}</li>" for k, v in self.shared.withheld.items())
        return ("<p>Left out of this report, as of the shareable export, because they are not cleared for "
                "sharing:</p><ul>" + rows + "</ul>") if rows else "<p>Nothing was left out.</p>"

    def provenance_html(self) -> str:
        rows = "".join(f"<tr><th scope='row'>{_e(k)}</th><td>{_e(v)}</td></tr>"
                       for k, v in provenance_lines(self.result.provenance, kind="shareable"))
        return f"<table class='wb-provenance' id='provenance'><caption>About this output</caption><tbody>{rows}</tbody></table>"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _humane(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _cell(value: Any, is_count: bool, marker: str) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp | dt.date):
        return str(value)[:10]
    if is_count:
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def table_html(name: str, table: pd.DataFrame, counts: tuple[str, ...] | Any, policy: DisclosurePolicy) -> str:
    """One shareable table as HTML: its display values as they are in the shareable export."""
    shown = table.drop(columns=[c for c in ("period_start", "period_end") if c in table and "period" in table])
    head = "".join(f"<th scope='col'>{_e(c.replace('_', ' '))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for col, v in zip(shown.columns, row, strict=True):
            text = _cell(v, col in counts, policy.suppressed_marker)
            cls = " class='wb-count'" if col in counts else ""
            cells.append(f"<td{cls}>{_e(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table class='wb-table' data-table='{_e(name)}'><caption>{_e(_humane(name))}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


# ------------------------------------------------------------------------------------ figures
def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _number(value: Any, marker: str) -> float | None:
    if isinstance(value, str) and value in (marker, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _fmt(x: float, chart: Chart) -> str:
    return f"{100 * x:.0f}%" if chart.percent and chart.reference is None else (
        f"{100 * x:+.1f}" if chart.percent else f"{x:.2f}")


def draw_chart(chart: Chart, table: pd.DataFrame, marker: str) -> ReportFigure | None:
    """A chart of the shown figures of one shareable table, with alt text listing them."""
    rows = table
    for col, value in chart.where.items():
        rows = rows[rows[col] == value]
    points = []
    for _, r in rows.iterrows():
        label = ", ".join(str(r[c]).replace("_", " ") for c in chart.label)
        v, lo, hi = (_number(r[c], marker) for c in (chart.value, chart.lower, chart.upper))
        points.append((label, v, lo, hi))
    if not points:
        return None
    scale = 100.0 if chart.percent else 1.0
    fig = Figure(figsize=(7.5, 0.45 * len(points) + 1.4))
    ax = fig.add_subplot()
    for i, (_, v, lo, hi) in enumerate(points):
        y = len(points) - 1 - i
        if v is None:
            ax.text(0.01, y, "hidden (disclosure control)", va="center", transform=ax.get_yaxis_transform(), fontsize=8)
            continue
        if lo is not None and hi is not None:
            ax.plot([lo * scale, hi * scale], [y, y], color="#1f4e79", lw=2)
        ax.plot([v * scale], [y], "o", color="#1f4e79")
    if chart.reference is not None:
        ax.axvline(chart.reference, color="#666666", lw=1, ls="--")
    ax.set_yticks(range(len(points)), [p[0] for p in reversed(points)])
    ax.set_xlabel("percentage points" if chart.percent and chart.reference is not None else
                  "per cent (95% confidence interval)" if chart.percent else "")
    ax.set_title(chart.title, fontsize=10, loc="left")
    ax.grid(axis="x", color="#dddddd")
    described = "; ".join(
        f"{label}: hidden" if v is None else
        f"{label}: {_fmt(v, chart)}" + (f" (95% CI {_fmt(lo, chart)} to {_fmt(hi, chart)})" if lo is not None and hi is not None else "")
        for label, v, lo, hi in points)
    alt = f"Chart of {chart.title[:1].lower() + chart.title[1:]}. {described}. The same figures are in the table '{_humane(chart.table)}'."
    name = f"{chart.table}-" + "-".join(f"{v}" for v in chart.where.values()) if chart.where else chart.table
    return ReportFigure(name=name, title=chart.title, alt=alt, png=_png(fig))


def _study_figure(name: str, fig: Any, shared: ShareableTables) -> ReportFigure:
    title = next((ax.get_title() for ax in fig.axes if ax.get_title()), None) or _humane(name)
    alt = f"{title}."
    spec = FIGURE_TABLES.get(name)
    if spec and spec[0] in shared.tables:
        table, label, value, lower, upper = spec
        marker = shared.policy.suppressed_marker
        listed = "; ".join(f"{r[label]}: {r[value]} (95% CI {r[lower]} to {r[upper]})"
                           for _, r in shared.tables[table].iterrows() if r[value] != marker)
        alt += f" Estimates with 95% confidence intervals: {listed}. The same figures are in the table '{_humane(table)}'."
    elif spec:
        alt += " Estimates with 95% confidence intervals for each group; their table is not cleared for sharing."
    return ReportFigure(name=name, title=title, alt=alt, png=_png(fig))


# ------------------------------------------------------------------------------------ building
def study_parameters(text: str | None) -> dict[str, Any]:
    """Parameters given as JSON (dates as YYYY-MM-DD text) for the study's ``run``."""
    values = json.loads(text) if text else {}
    out = {}
    for k, v in values.items():
        out[k] = dt.date.fromisoformat(v) if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) else v
    return out


def build_report(study: str, data_dir: str | Path | None, parameters: Mapping[str, Any] | None = None,
                 as_of: str | None = None, policy: DisclosurePolicy | None = None) -> Report:
    """Run ``study`` on the store and gather the report's parts, every one of them shareable."""
    from workbench.store import Store
    from workbench.studies import entry_point

    if study not in STUDY_TITLES:
        raise KeyError(f"No study called {study!r}; there are: {', '.join(STUDY_TITLES)}.")
    policy = policy or shareable_policy()
    store = Store(data_dir, as_of=as_of)
    caveats = store.caveats()
    result = entry_point(study)(store, **dict(parameters or {}))
    findings = result.findings[len(caveats):]  # the caveats come first; the report has a section for them
    shared = protect_study(result, RULES.get(result.study, {}), policy)
    cleared = SHAREABLE_FIGURES.get(result.study, ())
    figures = [_study_figure(n, f, shared) for n, f in result.figures.items() if n in cleared]
    for name in result.figures:
        if name not in cleared:
            shared.withheld[f"figure {name}"] = "drawn from exact figures (curves or counts): research output only"
    for chart in REPORT_CHARTS.get(result.study, ()):
        if chart.table in shared.tables:
            drawn = draw_chart(chart, shared.tables[chart.table], policy.suppressed_marker)
            if drawn is not None:
                figures.append(drawn)
    log = _DOCS / ASSUMPTIONS_LOG[study]
    return Report(study=study, title=STUDY_TITLES[study], result=result, shared=shared,
                  findings=shareable_findings(findings, shared.tables, shared.count_columns, policy),
                  figures=figures, caveats=caveats, assumptions=log.read_text(encoding="utf-8") if log.exists() else None,
                  policy=policy)
