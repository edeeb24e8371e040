"""The pathways page: a map of people's moves between the street, council help, supported
accommodation and settled homes (and back) over a chosen period, as HUD's Stella P draws for US
communities, under the same disclosure control as every table."""

from __future__ import annotations

from collections.abc import Iterator

from workbench.dashboards.aggregates import Aggregates
from workbench.dashboards.filters import FilterState
from workbench.dashboards.flow_charts import sankey_chart
from workbench.dashboards.format import during, fmt_count, period_label, plural
from workbench.dashboards.pages.common import area_rows, not_available, place_name
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import cell, crosstab, protect
from workbench.dashboards.tables import TableSpec
from workbench.measures import pathways as pw
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import ProtectedTable

STATE_LABELS: dict[str, str] = {
    pw.FIRST: "First record with services",
    pw.STREET: "Sleeping rough",
    pw.COUNCIL: "Council relief or main duty",
    pw.SUPPORTED: "Supported accommodation",
    pw.SETTLED: "Settled home",
}
FROM_LABELS = [STATE_LABELS[s] for s in pw.FROM_STATES]
TO_LABELS = [STATE_LABELS[s] for s in pw.TO_STATES]
RETURNS = {(STATE_LABELS[pw.SETTLED], STATE_LABELS[s]) for s in pw.HOMELESS_STATES}
DEFINITIONS = (
    "Each move is a change in where a person was, in the order of their records: seen sleeping rough by an "
    "outreach worker; owed the relief duty or accepted for the main duty by a council (the household is then "
    "in temporary accommodation, whose stays are not in the extracts); starting a stay in supported "
    "accommodation; or moving into a settled home (social or private rented, or Housing First). A move from a "
    "settled home is a return to homelessness; as in the returns study, records starting within 14 days of a "
    "move-in are part of the move, not a return. A person's first record is a move from 'First record with "
    "services'. Moves are counted in the month and district of the new record; one person can make several "
    "moves. Records of the same kind in a row (a second street contact) are not moves. The data begin in "
    "January 2018, so early 'first records' include people already homeless then.")


def pathways_table(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> ProtectedTable:
    """From x to (moves in the chosen area and period) with both margins, protected as one table:
    every flow is a cell, so a hidden flow cannot be worked out from the node totals."""
    df = area_rows(agg, "pathway_moves", state)
    t = crosstab(df, "from_state", "to_state", row_order=list(pw.FROM_STATES), col_order=list(pw.TO_STATES))
    t.index = [STATE_LABELS[s] for s in t.index]
    t.columns = [STATE_LABELS[s] for s in t.columns]
    return protect(t, policy, row_total=True, col_total=True, index_name="From")


def _map_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> PanelContent:
    key, title, where = "pathways-map", "Moves between the street, council help, supported accommodation and settled homes", place_name(state)
    if not agg.available("pathway_moves"):
        return not_available(key, title, "Figures on pathways")
    pt = pathways_table(agg, state, policy)
    settled = STATE_LABELS[pw.SETTLED]
    total = cell(pt, "Total", "Total")
    housed, returned = cell(pt, "Total", settled), cell(pt, settled, "Total")
    if total is None or total == 0:
        head = f"Too few moves {during(state.period)} in {where} can be shown."
    else:
        head = f"{fmt_count(total)} {plural(total, 'move was', 'moves were')} recorded {during(state.period)} in {where}"
        head += (f": {fmt_count(housed)} into a settled home" if housed is not None else
                 ": how many were into a settled home is hidden to protect privacy")
        head += (f", and {fmt_count(returned)} {plural(returned, 'return', 'returns')} from a settled home to homelessness."
                 if returned is not None else ", and the number of returns from a settled home is hidden to protect privacy.")
    flows = {(f, t): cell(pt, f, t) for f in FROM_LABELS for t in TO_LABELS}
    chart = sankey_chart(key, state.key, FROM_LABELS, TO_LABELS, flows,
                         {f: cell(pt, f, "Total") for f in FROM_LABELS}, {t: cell(pt, "Total", t) for t in TO_LABELS},
                         title=f"Moves between services, {where}, {period_label(state.period)}", desc=head,
                         highlight=RETURNS)
    return PanelContent(
        key=key, title=title, headline=head, chart=chart,
        tables=[TableSpec(pt, f"Moves by where people were (rows) and went (columns), {period_label(state.period)}, {where}",
                          "pathways_moves")],
        definitions=(f"{DEFINITIONS} The diagram draws each move from where the person was (left) to where they went "
                     "(right), as wide as the rounded count; hidden flows are not drawn, and the table gives every "
                     "figure. Hidden flows are protected with the row and column totals, so they cannot be worked out "
                     "from them."))


def pathways_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> Iterator[PanelContent]:
    yield _map_panel(agg, state, policy)
