"""The store's quarantine log: where each quarantined row failed, never what it held.

One row per problem: the ingest, the file, the source, the row number as it stands in the file,
the column and the rule. Messages are not kept: they may quote a value, and the store is read by
more people, for longer, than the reports of one ingest. The reasons in words are in that
ingest's report and quarantine files.
"""

from __future__ import annotations

import re

import pandas as pd

from workbench.ingest.validate import ValidationResult

QUARANTINE_LOG_COLUMNS = ["ingest_id", "file", "source", "row_number", "column", "rule"]
#: One reason of a log written before this layout: "column: message [rule]", joined by " | ".
_LEGACY_REASON = re.compile(r"(?:^|(?<= \| ))(?P<column>[^:|]+?): .*?\[(?P<rule>[A-Za-z0-9_:]+)\](?= \| |$)")


def quarantine_log(results: list[ValidationResult], ingest_id: str) -> pd.DataFrame:
    """One row per problem found in the quarantined rows of ``results``, without values."""
    parts = [
        r.issues[["row_number", "column", "rule"]].assign(ingest_id=ingest_id, file=r.file, source=r.source)
        for r in results
        if r.rows_quarantined and len(r.issues)
    ]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row_number" else "object") for c in QUARANTINE_LOG_COLUMNS})
    out = pd.concat(parts, ignore_index=True)[QUARANTINE_LOG_COLUMNS]
    return out.astype({"row_number": "int64"})


def without_values(log: pd.DataFrame) -> pd.DataFrame:
    """A quarantine log carried from an earlier store, in this layout.

    Stores built before kept ``row_number, reasons`` (reasons being messages that could quote the
    value); each reason becomes a row with its column and rule, and the messages are dropped.
    """
    if not len(log) or "reasons" not in log.columns:
        return log
    rows = []
    for rec in log.itertuples(index=False):
        found = list(_LEGACY_REASON.finditer(str(rec.reasons)))
        for column, rule in ([(m["column"].strip(), m["rule"]) for m in found] or [("(unknown)", "(unknown)")]):
            rows.append(dict(ingest_id=rec.ingest_id, file=rec.file, source=rec.source,
                             row_number=int(rec.row_number), column=column, rule=rule))
    return pd.DataFrame(rows, columns=QUARANTINE_LOG_COLUMNS)
