"""How the store file is laid out: one place for the names both the reader and the writer use.

Each source's records live in one *history* table, ``<source>__history``: every version of every
record ever ingested, with the snapshot it first appeared in (``_from_seq``), the snapshot that
replaced or removed it (``_to_seq``, null while current) and its position in the snapshot that
wrote it (``_pos``). A snapshot's table is the versions open at that snapshot, in the order
``_from_seq, _pos``: the order the ingest that wrote them read them, so a snapshot read back later
gives the same rows in the same order as when it was the latest.

Other tables: ``snapshots`` (one row per ingest: sequence number, id, extract date, linkage, key
fingerprint, sources carried forward), ``snapshot_meta`` (key/value facts recorded about a
snapshot after it was written, such as measured linkage error), ``ingests`` (one row per file of
every ingest: name, size, SHA-256, contract version, row counts) and ``quarantine_log`` (row
numbers, columns and rules of quarantined rows; never values).
"""

from __future__ import annotations

HISTORY_SUFFIX = "__history"
FROM, TO, POS = "_from_seq", "_to_seq", "_pos"
VERSION_COLUMNS = (FROM, TO, POS)
SNAPSHOTS = "snapshots"
SNAPSHOT_META = "snapshot_meta"
INGESTS = "ingests"
QUARANTINE_LOG = "quarantine_log"
#: Columns that say where a record was read from, not what it holds: a record that moved to
#: another row of the file is the same version (its location stays that of the version's first ingest).
LOCATION_COLUMNS = ("source_file", "source_row")
#: The facts ``snapshots`` holds for each ingest, as ``store_meta`` keys.
SNAPSHOT_COLUMNS = ("seq", "ingest_id", "ingested_at", "extract_date", "synthetic", "linkage", "linkage_profile",
                    "key_fingerprint", "key_origin", "carried_forward", "allowed_fewer")


#: Each record's person id under the alternative linkages (neighbouring thresholds, deterministic
#: rules), versioned like a source and keyed by "source/record id/alternative": read by
#: ``Store(linkage=...)`` for every study's linkage sensitivity. Not a source.
ALTERNATIVES = "linkage_alternatives"
ALTERNATIVE_KEY = "record_key"


def history_table(source: str) -> str:
    return f"{source}{HISTORY_SUFFIX}"


def source_of(table: str) -> str | None:
    return table[: -len(HISTORY_SUFFIX)] if table.endswith(HISTORY_SUFFIX) else None


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
