"""A chart panel: its content for one set of filters (headline, chart, tables, definitions) as
HTML, and the live widgets that show it."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.dashboards.format import esc
from workbench.dashboards.palette import FOCUS
from workbench.dashboards.tables import DownloadAbout, TableSpec, downloads_html, table_html


@dataclass
class PanelContent:
    """Everything one chart panel shows for one set of filters."""

    key: str
    title: str
    headline: str
    chart: str = ""
    tables: list[TableSpec] = field(default_factory=list)
    definitions: str = ""
    notice: str = ""  # e.g. "not available yet"; shown prominently
    #: Other views of the same comparison beside the chart (label, chart), e.g. the crude one beside
    #: a case-mix-adjusted one; with them, a switch (labelled ``chart_label`` for ``chart``) chooses.
    other_charts: list[tuple[str, str]] = field(default_factory=list)
    chart_label: str = ""
    switch_legend: str = "View"


def view_switch(key: str, legend: str, views: list[tuple[str, str]]) -> str:
    """Charts with radio buttons choosing which one is shown (the first, at first).

    Native radio buttons: Tab reaches the group, the arrow keys move between views, screen readers
    read the legend and labels. The choice is made in the browser (CSS only), so it is instant and
    needs no kernel; a filter change redraws the panel and shows the first view again."""
    hide = ",".join(f'.wb-views:has(input[value="{i}"]:checked) .wb-view:not([data-view="{i}"])' for i in range(len(views)))
    style = (f"<style>{hide}{{display:none}}.wb-view-switch{{border:0;padding:0;margin:.2em 0 .5em}}"
             ".wb-view-switch legend{font-weight:600;padding:0}.wb-view-switch label{margin-right:20px;cursor:pointer}"
             f".wb-view-switch input:focus-visible{{outline:3px solid {FOCUS};outline-offset:2px}}</style>")
    checked = ' checked="checked"'
    buttons = "".join(f'<label><input type="radio" name="{esc(key)}-view" value="{i}"{checked if i == 0 else ""}/> '
                      f"{esc(name)}</label>" for i, (name, _chart) in enumerate(views))
    charts = "".join(f'<div class="wb-view" data-view="{i}">{chart}</div>' for i, (_name, chart) in enumerate(views))
    return (f'{style}<div class="wb-views" data-panel="{esc(key)}"><fieldset class="wb-view-switch">'
            f"<legend>{esc(legend)}</legend>{buttons}</fieldset>{charts}</div>")


def panel_html(p: PanelContent, filters: str) -> str:
    parts = [f'<section class="wb-panel-body" data-panel="{esc(p.key)}" data-filters="{esc(filters)}" aria-labelledby="{esc(p.key)}-h">',
             f'<h2 id="{esc(p.key)}-h">{esc(p.title)}</h2>']
    if p.notice:
        parts.append(f'<p class="wb-notice">{esc(p.notice)}</p>')
    parts.append(f'<p class="wb-headline" elementtiming="headline-{esc(p.key)}">{esc(p.headline)}</p>')
    if p.chart and p.other_charts:
        views = [(p.chart_label, p.chart), *p.other_charts]
        parts.append(f'<div class="wb-figure">{view_switch(p.key, p.switch_legend, views)}</div>')
    elif p.chart:
        parts.append(f'<div class="wb-figure">{p.chart}</div>')
    for i, spec in enumerate(p.tables):
        open_attr = "" if p.chart else ' open=""'
        parts.append(
            f'<details class="wb-table-wrap"{open_attr}><summary>Show the figures as a table'
            f'{": " + esc(spec.caption) if len(p.tables) > 1 else ""}</summary>'
            f"{table_html(spec, f'{p.key}-{i}', filters)}</details>"
        )
    if p.definitions:
        parts.append(f'<p class="wb-definitions"><strong>About these figures:</strong> {esc(p.definitions)}</p>')
    parts.append("</section>")
    return "".join(parts)


class PanelView:
    """The live widgets of one panel: the panel HTML, and its downloads (built after the charts
    so a filter change shows new charts first)."""

    def __init__(self, key: str) -> None:
        import ipywidgets as widgets

        self.key = key
        self.main = widgets.HTML()
        self.downloads = widgets.HTML()
        self.box = widgets.VBox([self.main, self.downloads], layout=widgets.Layout(width="100%"))
        self.box.add_class("wb-panel")
        self.content: PanelContent | None = None

    def show(self, content: PanelContent, filters: str) -> None:
        self.content = content
        self.main.value = panel_html(content, filters)

    def show_downloads(self, filters: str, about: DownloadAbout) -> None:
        if self.content is None or not self.content.tables:
            self.downloads.value = ""
            return
        self.downloads.value = downloads_html(self.content.tables, self.content.key, filters, about)
