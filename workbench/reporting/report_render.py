"""Board-ready reports of a study: one self-contained HTML file, a Word document and a PDF.

``render_report(study, out)`` executes the report notebook (``notebooks/study_report.ipynb``,
package data, parameterised: study, data directory, parameters, snapshot) with **papermill**, keeps
only what the notebook displays (no printed output, warnings or errors), and renders it with the
code hidden:

- **HTML** with **nbconvert** (``exclude_input``) and the ``workbench_report`` template: the lab
  template without the scripts it loads from CDNs (require.js, MathJax, Mermaid, widgets), a
  Content-Security-Policy that allows nothing but embedded images and inline styles, figures as
  embedded PNG with alt text, and a print stylesheet for A4;
- **Word** (.docx) with **pandoc** from that HTML: headings, lists, tables and the images with their
  alt text (the image description Word reads aloud);
- **PDF** with pandoc to **Typst** and the Typst compiler (A4), so no LaTeX is needed.

Why not Quarto: its package on the index (``quarto-cli``) is a source package whose install step
downloads the Quarto binary from GitHub, which fails where only the package index is reachable
(this project's machines and CI, and most secure environments) and cannot be pinned by hash in the
lock. Quarto's own route to Word and PDF is pandoc and Typst; both are on the index as wheels
carrying their binaries (``pypandoc-binary``, ``typst``), so the workbench uses them directly, with
papermill and nbconvert, which it already has. Chromium's print-to-PDF was not chosen: it would
need a browser on every machine that writes reports.

The report folder and every file in it are owner-only (the files are about people, even protected).
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from workbench.store import owner_only

FORMATS = ("html", "docx", "pdf")
#: Output kinds the notebook may display: everything else (printed text, warnings, errors) is dropped.
_KEPT = ("text/html", "text/markdown", "image/png")


class ReportError(RuntimeError):
    """A report could not be written (a missing tool, or the notebook failed): the message says why."""


def notebook_path() -> Path:
    return Path(str(resources.files("workbench.reporting") / "notebooks" / "study_report.ipynb"))


def _templates() -> Path:
    return Path(str(resources.files("workbench.reporting") / "templates"))


def _tools() -> tuple[Any, Any]:
    try:
        import pypandoc
        import typst
    except ImportError as err:
        raise ReportError(f"writing Word and PDF reports needs the packages pypandoc-binary and typst "
                          f"({err.name} is not installed); install the workbench's locked environment "
                          "(scripts/test or pip install -r requirements/lock.txt).") from None
    return pypandoc, typst


def _execute(study: str, data_dir: Path | None, parameters: dict[str, Any], as_of: str | None, work: Path):
    import nbformat
    import papermill

    executed = work / "executed.ipynb"
    try:
        papermill.execute_notebook(
            str(notebook_path()), str(executed), kernel_name="python3", progress_bar=False, log_output=False,
            cwd=str(work), parameters={"study": study, "data_dir": str(data_dir) if data_dir else None,
                                       "parameters": json.dumps(parameters, default=str), "as_of": as_of})
    except papermill.PapermillExecutionError as err:
        raise ReportError(f"the report notebook failed ({err.ename}: {err.evalue})") from None
    nb = nbformat.read(executed, as_version=4)
    executed.unlink()  # holds nothing but the report, but is not a report: not kept
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") in ("display_data", "execute_result"):
                output["data"] = {k: v for k, v in output["data"].items() if k in _KEPT}
                if output["data"]:
                    kept.append(output)
        cell["outputs"] = kept
    return nb


def _html(nb: Any, title: str) -> str:
    from nbconvert import HTMLExporter

    nb.metadata["title"] = title
    nb.metadata["description"] = f"{title}: a report of the Oxfordshire homelessness research workbench"
    exporter = HTMLExporter(template_name="workbench_report", extra_template_basedirs=[str(_templates())],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            embed_images=True, anchor_link_text="")
    body, _ = exporter.from_notebook_node(nb)
    return _unique_ids(body)


def _unique_ids(text: str) -> str:
    """Headings get ids from their text, and an assumptions log may repeat a section's heading: ids
    must be unique (Word and PDF turn them into bookmarks and labels)."""
    seen: dict[str, int] = {}

    def one(m: re.Match) -> str:
        ident = m.group(2)
        seen[ident] = seen.get(ident, 0) + 1
        return m.group(0) if seen[ident] == 1 else f'{m.group(1)}{ident}-{seen[ident]}"'

    return re.sub(r'(\sid=")([^"]+)"', one, text)


def render_report(study: str, out: str | Path, *, data_dir: str | Path | None = None,
                  parameters: dict[str, Any] | None = None, as_of: str | None = None) -> dict[str, Path]:
    """Write ``<study>-report.html``, ``.docx`` and ``.pdf`` into ``out`` (owner-only); returns the paths."""
    from workbench.reporting.report_content import STUDY_TITLES
    from workbench.store import Store

    if study not in STUDY_TITLES:
        raise ReportError(f"no study called {study!r}; there are: {', '.join(STUDY_TITLES)}")
    pypandoc, typst = _tools()
    Store(data_dir, as_of=as_of)  # a clear error now if there is no store or no such snapshot
    out = Path(out)
    with owner_only():
        out.mkdir(parents=True, exist_ok=True)
        out.chmod(stat.S_IRWXU)
        work = Path(tempfile.mkdtemp(prefix="workbench-report-"))
        try:
            nb = _execute(study, Path(data_dir) if data_dir else None, dict(parameters or {}), as_of, work)
            paths = {fmt: out / f"{study}-report.{fmt}" for fmt in FORMATS}
            paths["html"].write_text(_html(nb, STUDY_TITLES[study]), encoding="utf-8")
            pypandoc.convert_file(str(paths["html"]), "docx", format="html", outputfile=str(paths["docx"]),
                                  extra_args=["-M", "title="])
            typ = work / "report.typ"
            pypandoc.convert_file(str(paths["html"]), "typst", format="html", outputfile=str(typ),
                                  cworkdir=str(work),  # media paths relative to the Typst root
                                  extra_args=["--standalone", "--extract-media=media",
                                              "-V", "papersize=a4", "-V", "fontsize=10pt",
                                              "-M", "title=",  # the report's own heading is its title
                                              f"--include-in-header={_templates() / 'report-header.typ'}"])
            typst.compile(str(typ), output=str(paths["pdf"]), root=str(work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    for path in paths.values():
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return paths
