"""A study's files, of one of two kinds named for what they are.

``export(result, folder)`` writes the **shareable** export: every table through disclosure control
(the dashboards' policy: :func:`~workbench.reporting.policy.shareable_policy`; rules per table in
:mod:`~workbench.reporting.study_rules`), audited across all its tables, labelled as protected;
tables and figures not cleared are left out and listed. ``export(result, folder, kind="research")``
writes the **research** export: every table and figure unsuppressed, every file labelled "not for
sharing outside the secure environment" (also in its file name) and written owner-only.

Every file says where it came from (the run's provenance, :mod:`workbench.studies.provenance`):
``run.json``; an "About this output" sheet first in the Excel workbook; a sidecar
``<table>.about.txt`` beside every CSV (a comment header would break the many tools that read a
CSV's first line as its column names, and a trailing note breaks them too, so the CSV holds the
table only); and a footer on every figure (PNG and SVG).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from workbench.reporting.policy import DisclosurePolicy, shareable_policy
from workbench.reporting.study_rules import RULES
from workbench.reporting.study_tables import ShareableTables, protect_study
from workbench.spreadsheets import write_csv, write_excel
from workbench.store import owner_only
from workbench.studies.base import StudyResult

Kind = Literal["shareable", "research"]
RESEARCH_LABEL = "RESEARCH OUTPUT - NOT FOR SHARING OUTSIDE THE SECURE ENVIRONMENT"
SHAREABLE_LABEL = "PROTECTED - passed disclosure control; may be shared"
#: in every research file's name, so the label travels with a file sent on its own
RESEARCH_SUFFIX = ".research-only"
#: figures cleared for sharing: drawn only from figures that pass the same rules as their tables (model
#: estimates that passed output checking). Curves, histograms and charts of counts are drawn from exact
#: data, so they stay in the research export.
SHAREABLE_FIGURES: dict[str, tuple[str, ...]] = {
    "returns_to_homelessness": ("forest_cox",),
    "supported_housing_outcomes": ("subgroup_forest",),
}


class ExportRefused(ValueError):
    """The export would mix kinds in one folder, or an unknown kind was asked for."""


# ------------------------------------------------------------------------------------ provenance text
def provenance_lines(prov: Mapping[str, Any], *, kind: Kind) -> list[tuple[str, str]]:
    """(item, value) pairs describing a run, for the About sheet and the sidecars. A shareable
    export leaves out row counts of the extracts (counts of records, some of which may be small)."""
    rows: list[tuple[str, str]] = [
        ("Kind of output", RESEARCH_LABEL if kind == "research" else SHAREABLE_LABEL),
        ("Study", str(prov.get("study", ""))),
        ("Run at (UTC)", str(prov.get("run_at", ""))),
    ]
    data = prov.get("data", {})
    if "ingest_id" in data:
        rows += [("Ingest id", str(data["ingest_id"])), ("Extract date", str(data.get("extract_date"))),
                 ("Synthetic data", "yes" if data.get("synthetic") else "no")]
        for f in data.get("files", []):
            text = f"{f['file']} ({f['source']}, contract {f['contract_version']}, extract {f['extract_date']}) sha256 {f['sha256']}"
            if kind == "research":
                text += f"; rows read {f['rows_read']}, accepted {f['rows_accepted']}, quarantined {f['rows_quarantined']}"
            rows.append(("Data file", text))
    else:
        rows.append(("Data", str(data.get("note", "unknown"))))
    rows += [("Definitions version", str(prov.get("definitions_version"))),
             ("Definitions hash (sha256)", str(prov.get("definitions_sha256")))]
    rows += [("Contract version", f"{k} {v}") for k, v in prov.get("contract_versions", {}).items()]
    code = prov.get("code", {})
    rows += [("Workbench version", str(code.get("version"))),
             ("Code commit", f"{code.get('commit') or '-'} ({code.get('note')})")]
    link = prov.get("linkage", {})
    quality = link.get("quality") or {}
    rows.append(("Linkage", f"{link.get('method')}" + (f", profile {link['profile']}" if link.get("profile") else "")
                 + f"; {link.get('note', '')}"))
    rows += [(f"Linkage {k.replace('_', ' ')}", str(v)) for k, v in quality.items()]
    rows += [(f"Parameter {k}", json.dumps(v)) for k, v in (prov.get("parameters") or {}).items()]
    rows += [(f"Random seed {k}", str(v)) for k, v in (prov.get("random_seeds") or {}).items()]
    if not prov.get("random_seeds"):
        rows.append(("Random seeds", "none: the study uses no random numbers"))
    rows.append(("Rerun", "workbench study --rerun run.json" if prov.get("call") else
                 "not repeatable from the record (ran on data given directly)"))
    return rows


def footer_text(prov: Mapping[str, Any], *, kind: Kind) -> str:
    """One or two lines for the foot of a figure."""
    data, code = prov.get("data", {}), prov.get("code", {})
    commit = (code.get("commit") or "no git commit")[:10] + ("" if code.get("clean") in (True, None) else " +changes")
    first = (f"{prov.get('study')} | extract {data.get('extract_date', '?')} | ingest {data.get('ingest_id', '?')} | "
             f"definitions v{prov.get('definitions_version')} ({str(prov.get('definitions_sha256'))[:12]}) | "
             f"workbench {code.get('version')} ({commit}) | run {prov.get('run_at')}")
    return f"{first}\n{RESEARCH_LABEL if kind == 'research' else SHAREABLE_LABEL}"


# ---------------------------------------------------------------------------------------- writing
def _name(stem: str, suffix: str, kind: Kind) -> str:
    return f"{stem}{RESEARCH_SUFFIX if kind == 'research' else ''}{suffix}"


def _check_folder(folder: Path, kind: Kind) -> None:
    run = folder / "run.json"
    if run.exists():
        try:
            before = json.loads(run.read_text(encoding="utf-8")).get("kind", "research")
        except (ValueError, OSError):
            before = "unknown"
        if before != kind:
            raise ExportRefused(f"{folder} already holds a {before} export; write the {kind} export to another "
                                "folder so the two kinds are never mixed.")


def _about_sidecar(path: Path, table: str, prov: Mapping[str, Any], kind: Kind, note: str) -> None:
    lines = [f"About {path.name}: table '{table}' of the {prov.get('study')} study", ""]
    lines += [f"{k}: {v}" for k, v in provenance_lines(prov, kind=kind)]
    lines += ["", note]
    path.with_name(path.name.removesuffix(".csv") + ".about.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _save_figure(fig: Any, folder: Path, stem: str, prov: Mapping[str, Any], kind: Kind) -> list[Path]:
    text = fig.text(0.01, 0.0, footer_text(prov, kind=kind), fontsize=6, color="#333333", ha="left", va="top",
                    transform=fig.transFigure)
    try:
        paths = [folder / _name(stem, ".png", kind), folder / _name(stem, ".svg", kind)]
        # also as metadata: SVG text is drawn as paths, so the footer alone cannot be searched
        about = footer_text(prov, kind=kind).replace("\n", " | ")
        fig.savefig(paths[0], dpi=150, bbox_inches="tight", metadata={"Description": about})
        fig.savefig(paths[1], bbox_inches="tight", metadata={"Description": about})
    finally:
        text.remove()  # the figure object is the study's: leave it as it was
    return paths


def _write_tables(tables: Mapping[str, pd.DataFrame], folder: Path, study: str, prov: Mapping[str, Any], kind: Kind,
                  note: str, excel: bool, extra_about: list[tuple[str, str]]) -> None:
    for name, table in tables.items():
        path = folder / _name(name, ".csv", kind)
        write_csv(table, path, index=False)
        _about_sidecar(path, name, prov, kind, note)
    if excel:
        about = pd.DataFrame(provenance_lines(prov, kind=kind) + [("Disclosure", note)] + extra_about,
                             columns=["Item", "Value"])
        with pd.ExcelWriter(folder / _name(f"{study}_tables", ".xlsx", kind)) as xl:
            write_excel(about, xl, sheet_name="About this output", index=False)
            for name, table in tables.items():
                write_excel(table, xl, sheet_name=name[:31], index=False)


def _summary(result: StudyResult, kind: Kind, shared: ShareableTables | None) -> str:
    prov = result.provenance
    lines = [f"# {result.study}", "", f"**{RESEARCH_LABEL if kind == 'research' else SHAREABLE_LABEL}**", ""]
    lines += ["Parameters: " + ", ".join(f"{k}={v}" for k, v in result.parameters.items()), ""]
    if kind == "research":
        lines += ["## Findings", ""] + [f"- {f}" for f in result.findings]
    else:
        lines += ["## Findings", "", "The findings are written with exact numbers, so they are in the research "
                  "export only; the protected tables of this export hold the shareable figures.", ""]
    lines += ["", "## Definitions", ""] + [f"- {d}" for d in result.definitions]
    if shared is not None:
        lines += ["", "## Disclosure control", "", shared.policy.footnote_text()]
        if shared.withheld:
            lines += ["", "Left out of this export:", ""] + [f"- {k}: {v}" for k, v in shared.withheld.items()]
    lines += ["", "## About this output", ""] + [f"- {k}: {v}" for k, v in provenance_lines(prov, kind=kind)]
    return "\n".join(lines) + "\n"


def _run_json(result: StudyResult, prov: dict[str, Any], kind: Kind, shared: ShareableTables | None,
              files: list[str]) -> str:
    record: dict[str, Any] = {"kind": kind, "label": RESEARCH_LABEL if kind == "research" else SHAREABLE_LABEL,
                              "study": result.study, "parameters": result.parameters, "run_at": result.run_at,
                              "provenance": prov, "files": sorted(files)}
    if kind == "research":
        record["estimates"] = result.estimates
    else:
        # exact counts and estimates are not protected: they stay in the research export
        for f in record["provenance"].get("data", {}).get("files", []):
            for k in ("rows_read", "rows_accepted", "rows_quarantined"):
                f.pop(k, None)
        record["disclosure_policy"] = shared.policy.to_dict()
        record["withheld"] = shared.withheld
        record["count_columns"] = {k: list(v) for k, v in shared.count_columns.items()}
    return json.dumps(record, indent=2, default=str) + "\n"


def export(result: StudyResult, folder: str | Path, *, kind: Kind = "shareable", excel: bool = True,
           policy: DisclosurePolicy | None = None) -> Path:
    """Write ``result`` to ``folder``: the shareable export (default) or the research export."""
    if kind not in ("shareable", "research"):
        raise ExportRefused(f"unknown kind of export {kind!r}: 'shareable' or 'research'")
    folder = Path(folder)
    _check_folder(folder, kind)
    prov = json.loads(json.dumps(result.provenance or {"study": result.study}, default=str))
    if kind == "research":
        with owner_only():  # about people, unprotected: readable by its owner only, whatever the umask
            folder.mkdir(parents=True, exist_ok=True)
            _write_research(result, folder, prov, excel)
        for path in [folder, *folder.iterdir()]:
            path.chmod(stat.S_IRWXU if path.is_dir() else stat.S_IRUSR | stat.S_IWUSR)
        return folder
    policy = policy or shareable_policy()
    shared = protect_study(result, RULES.get(result.study, {}), policy)
    folder.mkdir(parents=True, exist_ok=True)
    note = ("Protected: " + policy.footnote_text() +
            " Counts of 1 to " + f"{policy.threshold - 1} never appear; every table was audited with the others "
            "of this export so no hidden figure can be worked out from them.")
    cleared = SHAREABLE_FIGURES.get(result.study, ())
    for name in result.figures:
        if name not in cleared:
            shared.withheld[f"figure {name}"] = "drawn from exact figures (curves or counts): research export only"
    withheld_about = [("Left out (not cleared for sharing)", f"{k}: {v}") for k, v in shared.withheld.items()]
    _write_tables(shared.tables, folder, result.study, prov, "shareable", note, excel, withheld_about)
    for name, fig in result.figures.items():
        if name in cleared:
            _save_figure(fig, folder, name, prov, "shareable")
    (folder / "summary.md").write_text(_summary(result, "shareable", shared), encoding="utf-8")
    files = [p.name for p in folder.iterdir()] + ["run.json"]
    (folder / "run.json").write_text(_run_json(result, prov, "shareable", shared, files), encoding="utf-8")
    return folder


def _write_research(result: StudyResult, folder: Path, prov: dict[str, Any], excel: bool) -> None:
    note = (f"{RESEARCH_LABEL}. Unsuppressed: small counts are shown. Use workbench.reporting.export(result, "
            "folder) (the default, shareable kind) for anything leaving the secure environment.")
    _write_tables(result.tables, folder, result.study, prov, "research", note, excel and bool(result.tables), [])
    for name, fig in result.figures.items():
        _save_figure(fig, folder, name, prov, "research")
    (folder / _name("summary", ".md", "research")).write_text(_summary(result, "research", None), encoding="utf-8")
    files = [p.name for p in folder.iterdir()] + ["run.json"]
    (folder / "run.json").write_text(_run_json(result, prov, "research", None, files), encoding="utf-8")
    os.chmod(folder / "run.json", stat.S_IRUSR | stat.S_IWUSR)
