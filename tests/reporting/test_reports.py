"""Board-ready reports (issue 19 item 3): ``workbench report STUDY`` renders each study to HTML, Word
and PDF; the HTML is self-contained (Chromium with the network blocked sees no request leave the
file), holds the findings, every figure with alt text, the shareable tables and the provenance
block, in that order; no count from 1 to 4 and no canary identifier reaches any report; findings
pass a number-by-number check before they are shared."""

from __future__ import annotations

import html
import json
import re
import stat
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from canaries import CANARIES
from typer.testing import CliRunner

from workbench.cli import app
from workbench.definitions import content_hash
from workbench.reporting import export
from workbench.reporting.exports import SHAREABLE_FIGURES, SHAREABLE_LABEL
from workbench.reporting.findings import shareable_findings
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.report_content import REPORT_CHARTS

STUDIES = ("returns", "new_arrivals", "supported_housing", "system_performance")
PARAMETERS = {"supported_housing": ["-p", "n_bootstrap=50", "-p", "seed=11"]}
SECTIONS = ["Findings", "Figures", "Tables", "Definitions", "Caveats", "Disclosure control", "About this output"]
STUDY_NAMES = {"returns": "returns_to_homelessness", "new_arrivals": "new_arrivals",
               "supported_housing": "supported_housing_outcomes", "system_performance": "system_performance"}


class _Page(HTMLParser):
    """The parts of a report page the tests read."""

    def __init__(self) -> None:
        super().__init__()
        self.h2: list[str] = []
        self.images: list[dict[str, str]] = []
        self.findings: list[str] = []
        self.count_cells: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.external: list[str] = []
        self.provenance: dict[str, str] = {}
        self._text = ""
        self._in: dict[str, object] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href"):
            if a.get(key, "").startswith(("http:", "https:", "//")):
                self.external.append(a[key])
        if tag == "img":
            self.images.append({"src": a.get("src", "")[:30], "alt": a.get("alt", "")})
        if tag == "ul" and "wb-findings" in a.get("class", ""):
            self._in["findings"] = True
        if tag == "table" and a.get("data-table"):
            self._in["table"] = a["data-table"]
            self.tables[a["data-table"]] = []
        if tag == "table" and a.get("id") == "provenance":
            self._in["provenance"] = True
        if tag == "tr" and "table" in self._in:
            self.tables[self._in["table"]].append([])
        self._in["count"] = tag == "td" and "wb-count" in (a.get("class") or "")
        if tag in ("h2", "li", "td", "th", "ul", "table", "tr", "p"):
            self._text = ""  # inline tags (an anchor in a heading) keep the text gathered so far

    def handle_endtag(self, tag):
        text = self._text.strip()
        if tag == "h2":
            self.h2.append(text)
        elif tag == "li" and self._in.get("findings"):
            self.findings.append(text)
        elif tag == "ul":
            self._in.pop("findings", None)
        elif tag in ("td", "th") and "table" in self._in and tag == "td":
            self.tables[self._in["table"]][-1].append(text)
            if self._in.get("count"):
                self.count_cells.append(text)
        elif tag == "th" and self._in.get("provenance"):
            self._in["item"] = text
        elif tag == "td" and self._in.get("provenance"):
            self.provenance.setdefault(str(self._in.get("item")), text)
        elif tag == "table":
            self._in.pop("table", None)
            self._in.pop("provenance", None)
        if tag in ("h2", "li", "td", "th", "ul", "table", "tr", "p"):
            self._text = ""

    def handle_data(self, data):
        self._text += data


@pytest.fixture(scope="module")
def reports(canary_store, tmp_path_factory):
    """Each study rendered once through the command line: name -> (folder, parsed HTML page, HTML text)."""
    root = tmp_path_factory.mktemp("reports")
    out = {}
    for name in STUDIES:
        folder = root / name
        run = CliRunner().invoke(app, ["report", name, "--data-dir", str(canary_store.data_dir), "--out", str(folder),
                                       *PARAMETERS.get(name, [])])
        assert run.exit_code == 0, run.output
        text = (folder / f"{name}-report.html").read_text(encoding="utf-8")
        page = _Page()
        page.feed(text)
        out[name] = (folder, page, text)
    return out


@pytest.mark.parametrize("name", STUDIES)
def test_each_study_renders_to_html_word_and_pdf_owner_only(reports, name):
    folder, page, text = reports[name]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{name}-report.{x}" for x in ("docx", "html", "pdf"))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    pdf = (folder / f"{name}-report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF") and len(pdf) > 20_000
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 2 or b"/Count" in pdf
    with zipfile.ZipFile(folder / f"{name}-report.docx") as docx:
        xml = docx.read("word/document.xml").decode("utf-8")
    words = html.unescape(re.sub(r"<[^>]+>", "", xml))
    for heading in SECTIONS:
        assert heading in words, heading
    for finding in page.findings:
        assert html.unescape(finding)[:30] in words, finding
    assert page.provenance["Ingest id"] in words
    # every image in the Word document carries the figure's alt text as its description
    descriptions = re.findall(r'<wp:docPr [^>]*descr="([^"]*)"', xml)
    assert len(descriptions) == len(page.images) and all(d.strip() for d in descriptions)


@pytest.mark.parametrize("name", STUDIES)
def test_html_holds_findings_figures_tables_and_provenance_in_order(reports, canary_store, name):
    folder, page, text = reports[name]
    assert page.h2 == SECTIONS
    assert SHAREABLE_LABEL in text
    assert page.findings and not any(f.startswith("No finding") for f in page.findings)
    # every figure: those cleared for sharing and the charts drawn from the shareable tables, each embedded with alt text
    study = STUDY_NAMES[name]
    expected = len(SHAREABLE_FIGURES.get(study, ())) + len(REPORT_CHARTS.get(study, ()))
    assert len(page.images) == expected > 0
    for image in page.images:
        assert image["src"].startswith("data:image/png;base64,")
        assert len(image["alt"]) > 40 and "95% CI" in image["alt"] or "confidence intervals" in image["alt"]
    assert page.tables
    # the provenance block
    meta = canary_store.meta()
    assert page.provenance["Ingest id"] == meta["ingest_id"]
    assert page.provenance["Definitions hash (sha256)"] == content_hash()
    assert page.provenance["Kind of output"] == SHAREABLE_LABEL
    assert any(k == "Data file" for k in page.provenance) and "Workbench version" in page.provenance
    # the code is hidden: no input cells, no prompts, no printed output
    assert "build_report(" not in text and "display(HTML(" not in text
    for shown in ('class="jp-CodeMirrorEditor', 'class="jp-InputPrompt', 'class="jp-OutputPrompt', 'class="highlight'):
        assert shown not in text, shown


@pytest.mark.parametrize("name", STUDIES)
def test_no_count_from_1_to_4_in_any_report(reports, name):
    folder, page, text = reports[name]
    assert len(page.count_cells) > 10
    small = [c for c in page.count_cells if c.replace(",", "").isdigit() and 1 <= int(c.replace(",", "")) <= 4]
    assert not small
    hidden = sum(c == "[c]" for c in page.count_cells)
    assert hidden > 0 or name in ("returns", "supported_housing")


def test_report_tables_are_those_of_the_shareable_export(reports, canary_store, tmp_path):
    """Cell for cell: the report's tables are the shareable export's of the same study and parameters."""
    from workbench.studies import entry_point

    folder, page, _ = reports["returns"]
    shared = export(entry_point("returns")(canary_store), tmp_path / "returns")
    compared = 0
    for table, rows in page.tables.items():
        csv = pd.read_csv(shared / f"{table}.csv", dtype=str, keep_default_na=False)
        csv = csv.drop(columns=[c for c in ("period_start", "period_end") if c in csv and "period" in csv])
        assert len(rows) - 1 == len(csv), table  # the header row has no td cells
        for got, want in zip(rows[1:], csv.itertuples(index=False), strict=True):
            for g, w in zip(got, want, strict=True):
                compared += 1
                try:
                    assert float(g.replace(",", "")) == pytest.approx(float(w)), (table, g, w)
                except ValueError:
                    assert g == w, (table, g, w)
    assert compared > 300
    record = json.loads((shared / "run.json").read_text())
    for table in record["withheld"]:
        assert table not in page.tables


def test_canary_identifiers_reach_no_report(reports):
    searched = 0
    for folder, _, text in reports.values():
        for path in folder.iterdir():
            blobs = [path.read_bytes()]
            if path.suffix == ".docx":
                with zipfile.ZipFile(path) as z:
                    blobs += [z.read(n) for n in z.namelist()]
            for blob in blobs:
                searched += 1
                for c in CANARIES:
                    assert c.encode() not in blob, f"{c} in {path}"
        # the PDF is typeset from this HTML (its text is compressed glyphs, so the HTML is what is searched)
        assert not any(c in text for c in CANARIES)
    assert searched > 20


@pytest.mark.browser
def test_html_makes_no_external_request_in_chromium_offline(reports, browser):
    """Every report opened from disk in Chromium with every request but the file itself blocked: nothing
    is requested, nothing fails, every image is drawn, and the page holds no external address.
    (The worker's one browser: a second Playwright session in a worker that already ran the
    dashboards' browser tests fails; tests/browser.py.)"""
    for name, (folder, parts, _) in reports.items():
        requests, errors, drawn = _open_offline(browser, folder / f"{name}-report.html")
        assert requests == [], (name, requests)
        assert errors == [], (name, errors)
        assert len(drawn) == len(parts.images) > 0 and all(drawn), name
        assert parts.external == []


def _open_offline(browser, path: Path) -> tuple[list[str], list[str], list[bool]]:
    """Requests other than the file itself (each aborted), console errors, and whether each image was drawn."""
    context = browser.new_context(offline=True)
    requests: list[str] = []
    errors: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    drawn = page.eval_on_selector_all("img", "els => els.map(e => e.complete && e.naturalWidth > 0)")
    context.close()
    return requests, errors, drawn


def test_cli_refuses_an_unknown_study_and_a_missing_store(canary_store, tmp_path):
    run = CliRunner().invoke(app, ["report", "nosuch", "--data-dir", str(canary_store.data_dir), "--out", str(tmp_path / "x")])
    assert run.exit_code == 2 and "no study called 'nosuch'" in run.output
    run = CliRunner().invoke(app, ["report", "returns", "--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "y")])
    assert run.exit_code == 2 and "Traceback" not in run.output
    assert not (tmp_path / "y").exists()


# ----------------------------------------------------------------------- the check of the findings
POLICY = DisclosurePolicy(threshold=5, rounding_base=5)
TABLES = {
    "overall": pd.DataFrame({"group": ["all"], "people": [1980], "returned": [1190], "share": [0.601],
                             "lower": [0.58], "upper": [0.62]}),
    "model": pd.DataFrame({"term": ["hf", "age"], "exp(coef)": [0.472, 0.871], "lower .95": [0.364, 0.84],
                           "upper .95": [0.611, 0.902]}),
    "by_district": pd.DataFrame({"district": ["a", "b"], "people": [335, "[c]"]}),
}
COUNTS = {"overall": ("people", "returned"), "model": (), "by_district": ("people",)}


def _check(*findings: str):
    return shareable_findings(list(findings), TABLES, COUNTS, POLICY)


def test_counts_in_findings_are_rounded_as_the_tables_round_them():
    got = _check("Of 1,981 people seen from 2020-04-03, 1,189 (60.1%, 95% CI 57.9% to 62.2%) had presented "
                 "within 85 days, a median 40 days before (95% CI 37 to 44).")
    assert got.withheld == []
    assert got.shareable == ["Of about 1,980 people seen from 2020-04-03, about 1,190 (60%, 95% CI 57% to 63%) had "
                             "presented within 85 days, a median 40 days before (95% CI 37 to 44)."]
    assert got.changed == 1
    assert _check("Of 335 people, 60% presented.").shareable == ["Of 335 people, 60% presented."]


def test_findings_quoting_a_small_or_hidden_count_are_withheld():
    got = _check("3 people died.", "Of 1,981 people, 12 moved away.", "Of 335 people, 60% presented.")
    assert got.shareable == ["Of 335 people, 60% presented."]
    assert got.withheld == ["it quotes a count below 5", "it quotes a count that the shareable tables do not show"]
    # the reasons never repeat a finding's numbers
    assert not any(re.search(r"\d{2,}", w) for w in got.withheld)


def test_estimates_must_be_shown_with_their_interval_in_one_row():
    ok = "Housing First: hazard ratio 0.47, 95% CI 0.36 to 0.61."
    mixed = "Housing First: hazard ratio 0.47, 95% CI 0.84 to 0.90."  # limits of another row
    unknown = "Districts: odds ratio 1.34 (95% CI 1.18-1.52)."  # from a table that is not shared
    got = _check(ok, mixed, unknown)
    assert got.shareable == [ok]
    assert got.withheld == ["it quotes an estimate that the shareable tables do not show"] * 2


def test_settings_and_durations_are_not_counts():
    text = ("Over the first 730 days, 53 more days without returning (95% CI 31 to 74 days); testing 8 groups; "
            "outside the 99.8% limits; per 10 years.")
    assert _check(text).shareable == [text]
