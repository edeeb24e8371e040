"""A notebook widget for clerical review: one pair at a time, side by side, three buttons.

It shows both records' identifiers and how each comparison of the model came out, but not the
model's probability nor whether the pair was linked (so the reviewer is not anchored by the model
being judged). Decisions are appended to the review's decisions file (owner-only) as they are
made. Pairs not yet decided come first; then the pairs that need a second look (a first decision
that disagrees with the linkage, or "unsure"), which another reviewer should take.

It runs only in the secure setting: the sample holds identifiers.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from workbench.linkage.review_estimate import MATCH, NON_MATCH, UNSURE, second_looks
from workbench.linkage.review_files import (
    IDENTIFIER_COLUMNS,
    read_decisions,
    read_sample,
    record_decision,
)

FIELD_LABELS = {"source": "Source", "record_id": "Record id", "first_name": "First name", "last_name": "Last name",
                "date_of_birth": "Date of birth", "ni_number": "NI number", "client_ref": "Client reference",
                "approximate_age": "Approximate age", "gender": "Gender", "district": "District",
                "event_date": "Date of the record"}


def review_queue(sample: pd.DataFrame, decisions: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The pairs still to decide and what kind of pass it is ("first look" or "second look")."""
    undecided = sample[~sample["pair_key"].isin(decisions["pair_key"])]
    if len(undecided):
        return undecided, "first look"
    return second_looks(sample, decisions), "second look"


def pair_html(row: pd.Series) -> str:
    """Both records side by side, then the comparison levels, as an HTML table."""
    cells = ["<table style='border-collapse:collapse'><tr><th></th><th>Record 1</th><th>Record 2</th></tr>"]
    for col in IDENTIFIER_COLUMNS:
        if f"{col}_1" not in row.index:
            continue
        a, b = (html.escape(str(row[f"{col}_{s}"])) for s in ("1", "2"))
        style = "" if a == b else " style='background:#fff3cd'"
        cells.append(f"<tr{style}><td><b>{FIELD_LABELS.get(col, col)}</b></td><td>{a}</td><td>{b}</td></tr>")
    cells.append("<tr><th colspan='3' style='text-align:left'>How the model compared them</th></tr>")
    for col in (c for c in row.index if c.startswith("level_")):
        name = col.removeprefix("level_").replace("_", " ")
        cells.append(f"<tr><td>{html.escape(name)}</td><td colspan='2'>{html.escape(str(row[col]))}</td></tr>")
    cells.append("</table>")
    return "".join(cells)


class ReviewWidget:
    """``ReviewWidget(sample_file, decisions_file, reviewer).show()`` in a notebook."""

    def __init__(self, sample_file: str | Path, decisions_file: str | Path, reviewer: str):
        if not reviewer.strip():
            raise ValueError("Give the reviewer's name or initials: decisions record who made them.")
        self.sample = read_sample(sample_file)
        self.decisions_file = Path(decisions_file)
        self.reviewer = reviewer.strip()
        self._build()
        self.refresh()

    def _build(self) -> None:
        import ipywidgets as w

        self.status = w.HTML()
        self.pair = w.HTML()
        self.buttons = {
            MATCH: w.Button(description="Same person", button_style="success"),
            NON_MATCH: w.Button(description="Different people", button_style="danger"),
            UNSURE: w.Button(description="Cannot tell", button_style="warning"),
        }
        for decision, button in self.buttons.items():
            button.on_click(lambda _b, d=decision: self.decide(d))
        self.box = w.VBox([self.status, self.pair, w.HBox(list(self.buttons.values()))])

    def refresh(self) -> None:
        decisions = read_decisions(self.decisions_file)
        self.queue, self.stage = review_queue(self.sample, decisions)
        done = self.sample["pair_key"].isin(decisions["pair_key"]).sum()
        if self.queue.empty:
            self.current = None
            self.status.value = (f"<b>All {len(self.sample)} pairs decided</b>, second looks included. "
                                 "Run <code>workbench linkage-review --estimate</code>.")
            self.pair.value = ""
            return
        self.current = self.queue.iloc[0]
        note = ""
        if self.stage == "second look":
            first = decisions[decisions["pair_key"] == self.current["pair_key"]]["reviewer"].iloc[-1]
            note = (" <i>Second look: please decide afresh"
                    + (" (another reviewer should take these)" if first == self.reviewer else "") + ".</i>")
        self.status.value = (f"{done} of {len(self.sample)} pairs decided; {len(self.queue)} left in the "
                             f"{self.stage}.{note}")
        self.pair.value = pair_html(self.current)

    def decide(self, decision: str) -> None:
        """Record a decision on the pair shown, and show the next."""
        if self.current is None:
            return
        record_decision(self.decisions_file, self.current["pair_key"], decision, self.reviewer)
        self.refresh()

    def show(self):
        from IPython.display import display

        display(self.box)
        return self
