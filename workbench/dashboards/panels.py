"""A chart panel: its content for one set of filters (headline, chart, tables, definitions) as
HTML, and the live widgets that show it."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.dashboards.format import esc
from workbench.dashboards.tables import TableSpec, downloads_html, table_html


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


def panel_html(p: PanelContent, filters: str) -> str:
    parts = [f'<section class="wb-panel-body" data-panel="{esc(p.key)}" data-filters="{esc(filters)}" aria-labelledby="{esc(p.key)}-h">',
             f'<h2 id="{esc(p.key)}-h">{esc(p.title)}</h2>']
    if p.notice:
        parts.append(f'<p class="wb-notice">{esc(p.notice)}</p>')
    parts.append(f'<p class="wb-headline" elementtiming="headline-{esc(p.key)}">{esc(p.headline)}</p>')
    if p.chart:
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

    def show_downloads(self, filters: str) -> None:
        if self.content is None or not self.content.tables:
            self.downloads.value = ""
            return
        self.downloads.value = downloads_html(self.content.tables, self.content.key, filters)
