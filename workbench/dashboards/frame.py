"""The page frame: navigation, header, filters, panels and footer of one dashboard page,
recomputed on every filter change, and :func:`show`, the one line each dashboard notebook runs.

A static snapshot of the first view is emitted before the live widgets, so the first chart
appears as soon as the HTML arrives; the live widgets replace it when they connect."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from string import Template

from workbench.dashboards import palette
from workbench.dashboards.aggregates import Aggregates, load_aggregates, store_exists
from workbench.dashboards.filters import FilterBar, FilterState
from workbench.dashboards.format import area_label, esc, period_label
from workbench.dashboards.pages import PAGE_SPECS
from workbench.dashboards.panels import PanelContent, PanelView, panel_html
from workbench.dashboards.protection import disclosure_policy
from workbench.dashboards.tables import DownloadAbout
from workbench.reporting.policy import DisclosurePolicy

#: The pages in the order of the navigation bar: notebook name and title.
PAGES: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("returns", "Returns to homelessness"),
    ("new_arrivals", "New arrivals on the streets"),
    ("supported_housing", "Supported housing outcomes"),
    ("district_benchmarking", "District benchmarking"),
    ("by_name_list", "By Name List"),
    ("housing_first", "Housing First"),
    ("pathways", "Pathways"),
    ("joins", "Handovers between services"),
    ("duties", "Duties closed without an outcome"),
    ("equality", "Equality of outcomes"),
    ("data_quality", "Data quality scorecard"),
)

CSS = Template("""
<style>
.wb-page{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:$TEXT;max-width:1180px;font-size:15px;line-height:1.45}
.wb-page h1{font-size:1.6em;margin:.2em 0 .1em}
.wb-page h2{font-size:1.2em;margin:.2em 0 .3em}
.wb-nav{display:flex;flex-wrap:wrap;gap:4px 18px;margin:.3em 0 .6em;padding:0;list-style:none}
.wb-nav a{color:$LINK;text-decoration:underline}
.wb-nav a[aria-current=page]{font-weight:700;text-decoration:none;color:$TEXT}
.wb-page a:focus,.wb-page summary:focus,.wb-page select:focus,.wb-page input:focus{outline:3px solid $FOCUS !important;outline-offset:2px}
.wb-synthetic{background:$BANNER_BACKGROUND;border:2px solid $BANNER_BORDER;padding:6px 10px;margin:.4em 0;font-weight:600}
.wb-meta{color:$TEXT_MUTED;margin:.2em 0}
.wb-panel{border:1px solid $BORDER;border-radius:6px;padding:10px 16px;margin:12px 0;background:$PAGE;box-sizing:border-box}
.wb-headline{font-size:1.08em;font-weight:600;margin:.2em 0 .5em}
.wb-notice{background:$NOTICE_BACKGROUND;border-left:4px solid $NOTICE;padding:6px 10px}
.wb-definitions,.wb-footnote{color:$TEXT_MUTED;font-size:.9em}
.wb-chart{display:block;margin:4px 0;font-family:inherit}
.wb-chart .wb-grid{stroke:$GRID;stroke-width:1}
.wb-chart .wb-axis{font-size:12px;fill:$TEXT_MUTED}
.wb-chart .wb-label{font-size:13px;fill:$TEXT}
.wb-chart .wb-value{font-size:13px;fill:$TEXT;font-weight:600}
.wb-chart .wb-hidden-label{font-size:13px;fill:$TEXT_HIDDEN;font-style:italic}
.wb-table{border-collapse:collapse;margin:6px 0;font-size:.92em}
.wb-table caption{text-align:left;font-weight:600;padding:4px 0}
.wb-table th,.wb-table td{border:1px solid $BORDER;padding:3px 8px}
.wb-table td{text-align:right;font-variant-numeric:tabular-nums}
.wb-table th[scope=row]{text-align:left;font-weight:400}
.wb-table tr.wb-total th,.wb-table tr.wb-total td{font-weight:700}
.wb-table td.wb-hidden{color:$TEXT_HIDDEN;font-style:italic}
.wb-downloads{font-size:.92em;margin:0 0 4px}
.wb-dl-group{margin-right:14px}
.wb-filters,.wb-filters-snapshot{margin:6px 0;padding:8px 0;border-bottom:1px solid $BORDER;gap:8px 20px}
.wb-filters-snapshot label{margin-right:24px}
.wb-filters-snapshot span{color:$TEXT_HIDDEN;font-style:italic}
body:has(.wb-live) .wb-snapshot{display:none !important}
body:has(.wb-snapshot:not(.wb-early)) .wb-early{display:none !important}
.jp-OutputArea-output:has(.wb-page){padding:0}
.wb-provenance{color:$TEXT_MUTED;font-size:.9em;margin:.2em 0}
.wb-print-only{display:none}
</style>
""").substitute(vars(palette))


def header_html(page_key: str, title: str, intro: str, agg: Aggregates, policy: DisclosurePolicy) -> str:
    nav = "".join(
        f'<li><a href="{key}.ipynb"{" aria-current=page" if key == page_key else ""}>{esc(name)}</a></li>'
        for key, name in PAGES
    )
    synthetic = (
        '<p class="wb-synthetic" role="note">Synthetic data: these figures describe made-up people '
        "generated for demonstration and testing. They are not real.</p>"
        if agg.synthetic else ""
    )
    extract = agg.extract_date
    carried = [c.replace("_", " ") for c in agg.meta.get("carried_forward", "").split(",") if c]
    if carried:  # a source whose extract was missing this quarter: its figures stop earlier
        synthetic += (f'<p class="wb-synthetic" role="note">Not updated this quarter: {esc(", ".join(carried))} '
                      "(the previous quarter's records are used).</p>")
    if policy.perturbs:
        privacy = (f"To protect privacy, every count is changed a little ({policy.perturbation_words()}), the "
                   f"same way wherever it appears, and no count from 1 to {policy.threshold - 1} is shown: a 0 may "
                   "stand for a few people, and figures may not add up exactly. Percentages are worked out from "
                   "the counts shown.")
    else:
        rounding = (f" Counts are rounded to the nearest {policy.rounding_base}, so figures may not add up exactly."
                    if policy.rounding_base else "")
        privacy = (f"To protect privacy, counts from 1 to {policy.threshold - 1} are hidden and shown as "
                   f"{esc(policy.suppressed_marker)}, with some other figures hidden so they cannot be worked out."
                   f"{rounding}")
    return (
        f'<nav aria-label="Dashboards"><ul class="wb-nav">{nav}</ul></nav>'
        f"<h1>{esc(title)}</h1>{synthetic}"
        f'<p class="wb-meta">{esc(intro)} Figures use records up to {extract.day} {extract:%B %Y}. '
        f"{privacy}</p>"
    )


def provenance_html(agg: Aggregates) -> str:
    """The page's footer line: which data and definitions its figures come from."""
    extract = agg.extract_date
    return (f'<p class="wb-provenance" data-ingest-id="{esc(agg.ingest_id)}">Extract date: {extract.day} '
            f"{extract:%B %Y} ({extract.date().isoformat()}). Definitions version: "
            f"{esc(agg.definitions_version)}. Store ingest id: {esc(agg.ingest_id)}.</p>")


def scope_html(about: DownloadAbout) -> str:
    """What the filters are set to, in words: printed under the header (the filters themselves
    are not printed)."""
    parts = [f"District: {about.area_label}", f"Period: {period_label(about.period)}"]
    if about.group_label:
        parts.append(f"{about.group_label}: {about.group_text}")
    return f'<p class="wb-meta wb-print-only wb-scope">{esc(". ".join(parts))}.</p>'


def download_about(agg: Aggregates, state: FilterState, title: str, *, group_label: str = "",
                   group_options: Sequence[tuple[str, str]] = ()) -> DownloadAbout:
    """What a page's tables cover, as filtered, and where they came from (for their downloads)."""
    carried = tuple(c.replace("_", " ") for c in agg.meta.get("carried_forward", "").split(",") if c)
    group, text = state.group or "", ""
    if group_options:
        text = next((name for name, value in group_options if value == group), group)
    return DownloadAbout(
        page_title=title, area=state.area, area_label=area_label(state.area), period=state.period,
        extract_date=agg.extract_date.date(), definitions_version=agg.definitions_version,
        definitions_sha256=agg.definitions_sha256, ingest_id=agg.ingest_id, synthetic=agg.synthetic,
        carried_forward=carried, group_label=group_label if group_options else "", group=group if group_options else "",
        group_text=text)


SNAPSHOT_ID_PREFIX = "wb-snap-"
_ID = re.compile(r'(?<=\s)(id|name)="([^"]+)"')  # not data-id="..."
_IDREFS = re.compile(r'(?<=\s)(aria-labelledby|aria-describedby|aria-controls)="([^"]+)"')
_URL_REF = re.compile(r"url\(#([^)]+)\)")


def namespace_ids(html: str, prefix: str) -> str:
    """``html`` with every element id (and radio group name) prefixed, and the references to
    them (``aria-labelledby``, ``aria-describedby``, ``aria-controls``, ``url(#...)``) too."""
    html = _ID.sub(lambda m: f'{m[1]}="{prefix}{m[2]}"', html)
    html = _IDREFS.sub(lambda m: f'{m[1]}="{" ".join(prefix + t for t in m[2].split())}"', html)
    return _URL_REF.sub(lambda m: f"url(#{prefix}{m[1]})", html)


def _after_cell(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the running notebook cell has finished (on the kernel's event
    loop), or at once outside a kernel."""
    try:
        from ipykernel.kernelbase import Kernel
        from tornado.ioloop import IOLoop

        if not Kernel.initialized():
            raise RuntimeError("not in a kernel")
        loop = IOLoop.current(instance=False)
        if loop is None:
            raise RuntimeError("no event loop")
    except Exception:
        callback()
        return
    loop.add_callback(callback)


PanelBuilder = Callable[[Aggregates, FilterState, DisclosurePolicy], Iterable[PanelContent]]


class Page:
    """One dashboard page: header, filters and panels, recomputed on every filter change."""

    def __init__(
        self,
        key: str,
        title: str,
        intro: str,
        agg: Aggregates,
        build: PanelBuilder,
        *,
        policy: DisclosurePolicy | None = None,
        district: bool = True,
        group_options: Sequence[tuple[str, str]] | None = None,
        group_label: str = "Group",
        default_group: str | None = None,
    ) -> None:
        import ipywidgets as widgets

        self.key, self.title, self.intro = key, title, intro
        self.agg, self.build = agg, build
        self.group_label, self.group_options = group_label, tuple(group_options or ())
        self.policy = policy or disclosure_policy()
        self.filters = FilterBar(agg, district=district, group_options=group_options,
                                 group_label=group_label, default_group=default_group)
        self.header = widgets.HTML(CSS + header_html(key, title, intro, agg, self.policy))
        self.scope = widgets.HTML()
        self.views: list[PanelView] = []
        self.panel_box = widgets.VBox(layout=widgets.Layout(width="100%"))
        self.status = widgets.HTML()
        self.footer = widgets.HTML(
            '<p class="wb-definitions">A page left without use for 30 minutes stops responding to its filters: '
            "reload it to continue. Definitions: docs/dashboards.md and docs/assumptions/dashboards.md "
            f"in the workbench.</p>{provenance_html(agg)}")
        self.widget = widgets.VBox([self.header, self.scope, self.filters.box, self.status, self.panel_box, self.footer],
                                   layout=widgets.Layout(width="100%", max_width="1180px"))
        self.widget.add_class("wb-page")
        self.widget.add_class("wb-live")
        self.contents: list[PanelContent] = []
        # the first view without downloads, which are added once the notebook cell has finished:
        # a viewer without a pre-heated kernel then gets the page a little sooner
        self.refresh(downloads=False)
        _after_cell(self.show_downloads)
        self.filters.observe(self.refresh)

    def about(self, state: FilterState | None = None) -> DownloadAbout:
        """What the page's tables cover, as filtered, and where they came from."""
        return download_about(self.agg, state or self.filters.state(), self.title, group_label=self.group_label,
                              group_options=self.group_options)

    def show_downloads(self) -> None:
        state = self.filters.state()
        about = self.about(state)
        for view in self.views[: len(self.contents)]:
            view.show_downloads(state.key, about)

    def compute(self, state: FilterState | None = None) -> list[PanelContent]:
        return list(self.build(self.agg, state or self.filters.state(), self.policy))

    def refresh(self, downloads: bool = True) -> None:
        state = self.filters.state()
        self.scope.value = scope_html(self.about(state))
        contents: list[PanelContent] = []
        try:
            # each panel is sent to the browser as soon as it is computed: the first chart
            # updates after one panel's work, not the whole page's
            for i, content in enumerate(self.build(self.agg, state, self.policy)):
                if i == len(self.views):
                    self.views.append(PanelView(f"{self.key}-{i}"))
                self.views[i].show(content, state.key)
                contents.append(content)
                if len(self.panel_box.children) <= i:
                    self.panel_box.children = tuple(v.box for v in self.views[: i + 1])
        except Exception as exc:  # never a traceback for a commissioner; say what happened
            self.status.value = (f'<p class="wb-notice" role="alert">These figures could not be worked out '
                                 f"for this choice of filters ({esc(type(exc).__name__)}). Please choose "
                                 "another period or district, or tell the data team.</p>")
            return
        self.status.value = ""
        if len(self.panel_box.children) != len(contents):
            self.panel_box.children = tuple(v.box for v in self.views[: len(contents)])
        self.contents = contents
        # downloads last: building the CSV and Excel files is the slowest part
        if downloads:
            self.show_downloads()

    def snapshot_html(self) -> str:
        """The first view as static HTML (no downloads), shown until the live widgets load.

        Its element ids are prefixed: the snapshot stays in the page (hidden) beside the live
        widgets, and with the same ids a live chart's ``aria-labelledby`` would find the
        snapshot's title and description first, so screen readers would keep announcing the
        first view's figures after a filter change."""
        state = self.filters.state()
        body = "".join(f'<div class="wb-panel">{panel_html(c, state.key)}</div>' for c in self.contents)
        return namespace_ids(
            f'<div class="wb-snapshot wb-page" data-ingest-id="{esc(self.agg.ingest_id)}">{CSS}'
            f"{header_html(self.key, self.title, self.intro, self.agg, self.policy)}{scope_html(self.about(state))}"
            f"{self.filters.snapshot_html()}{body}{provenance_html(self.agg)}</div>", SNAPSHOT_ID_PREFIX)


def build_page(key: str, data_dir: str | Path | None = None) -> Page:
    """Build one page (its widgets and first view) on the aggregates of ``data_dir``."""
    spec = dict(PAGE_SPECS[key])
    agg = load_aggregates(data_dir)
    return Page(key, spec.pop("title"), spec.pop("intro"), agg, spec.pop("build"), **spec)


def show(key: str, data_dir: str | Path | None = None) -> Page | None:
    """Display a page in a notebook: a static snapshot of the first view, then the live page."""
    from IPython.display import HTML, display

    if not store_exists(data_dir):
        # data-ingest-id="": the server replaces this pre-heated page once a store exists
        display(HTML('<p class="wb-notice" data-ingest-id="">No data have been loaded yet. Ask the data team to run '
                     "<code>workbench ingest</code> (or <code>workbench demo</code> for the synthetic county).</p>"))
        _log_render(key, "")
        return None
    page = build_page(key, data_dir)
    _log_render(key, page.agg.ingest_id)
    # the snapshot is rendered as plain HTML by the workbench Voila template and hidden by CSS as
    # soon as the live page (class wb-live) is on screen
    snapshot = page.snapshot_html()
    display(HTML(snapshot), metadata={"workbench_snapshot": True})
    _save_first_view(key, snapshot, page.agg)
    display(page.widget)
    return page


def _save_first_view(key: str, snapshot: str, agg: Aggregates) -> None:
    """Save the page's default view for the server to send before a viewer's kernel is ready
    (:mod:`workbench.dashboards.first_view`). Beside the aggregates it was computed from."""
    from workbench.dashboards import first_view

    if agg.path is None:
        return
    try:
        first_view.save(agg.path.parent, key, snapshot)
    except OSError:
        pass  # a read-only data folder: viewers then wait for their kernel, as before


def _log_render(key: str, ingest_id: str) -> None:
    """Under Voila, one line in the server's log saying which ingest a page was rendered from
    (the server replaces a pre-heated page rendered from an earlier ingest: see
    :mod:`workbench.dashboards.freshness`). Written to the kernel's original standard error: the
    server's log, not the viewer's page. ipykernel captures file descriptor 2 into the page's output
    and keeps the original as ``sys.stderr.fileno()``; where it does not capture it (under pytest,
    say) there is no such copy, and descriptor 2 is the original."""
    if "VOILA_BASE_URL" not in os.environ:  # set by Voila for its kernels only
        return
    try:
        fd = sys.stderr.fileno()
    except (OSError, ValueError, AttributeError):
        fd = 2
    try:
        os.write(fd, f"[workbench] page {key} rendered from ingest {ingest_id or '(no store)'}\n".encode())
    except OSError:
        pass  # no log to write to: nothing else depends on it
