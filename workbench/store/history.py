"""Writing a new snapshot into the store, keeping every earlier one.

Each ingest is a snapshot of the partnership's extracts. Rather than a full copy per quarter, a
source's records are kept once per *version* (``layout``): a record whose values did not change
since the last snapshot keeps its version; a changed record (same record id, different values, say
a duty end recorded late) gets a new version and the old one is closed at this snapshot; a record
that is no longer sent is closed. So the store grows by what changed, and every earlier snapshot is
reconstructed exactly by ``Store(as_of=...)``. Why not a file per quarter: extracts are cumulative
and mostly unchanged quarter to quarter (the county's 75,000 rows change by a few thousand), so
copies would grow the store by its whole size every quarter, and a file per quarter is one more
place a person's records live.

The new store is written to a temporary file beside the old one and renamed over it, so an ingest
interrupted part-way, or refused, leaves the previous store exactly as it was.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from workbench.store.layout import (
    FROM,
    INGESTS,
    LOCATION_COLUMNS,
    POS,
    QUARANTINE_LOG,
    SNAPSHOT_COLUMNS,
    SNAPSHOT_META,
    SNAPSHOTS,
    TO,
    VERSION_COLUMNS,
    history_table,
    quoted,
    source_of,
)

TEMP_PREFIX = ".workbench.duckdb."
#: DuckDB's memory while it writes a new store (and for the ingest's staging database): beyond it,
#: DuckDB works from the files (and a temporary folder beside them, in the data directory). Its
#: default, 80 % of the machine, let it cache the whole incoming snapshot: at 100 MB of extract the
#: write held some 380 MB above what the ingest held before it.
BUILD_MEMORY_LIMIT = "192MB"
#: The ingest's staging database (``ingest.staging``): ``TEMP_PREFIX`` + an id + this.
STAGING_SUFFIX = ".staging"


@dataclass
class SourceChange:
    """How one source's records changed from the previous snapshot to this one."""

    source: str
    added: int = 0
    revised: int = 0
    relinked: int = 0  # only the person id changed (a different linkage of the same record)
    vanished: int = 0
    unchanged: int = 0
    carried_forward: bool = False


class StoreWriteError(Exception):
    """The new snapshot could not be written; the previous store is unchanged."""


def _columns(con: duckdb.DuckDBPyConnection, table: str, catalog: str = "main") -> dict[str, str]:
    """Columns and types of ``table`` in the database being written (``main``) or an attached one."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = "
        "(case when ? = 'main' then current_database() else ? end) and table_schema = 'main' and table_name = ? "
        "order by ordinal_position", [catalog, catalog, table]).fetchall()
    return dict(rows)


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    return {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_catalog = "
        "(case when ? = 'main' then current_database() else ? end) and table_schema = 'main'",
        [catalog, catalog]).fetchall()}


def previous_seq(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute(f"select coalesce(max(seq), 0) from {SNAPSHOTS}").fetchall()[0][0])


def _copy_previous(con: duckdb.DuckDBPyConnection) -> None:
    """Copy the previous store's tables into the new one."""
    for table in sorted(_tables(con, "old")):
        con.execute(f"create table {quoted(table)} as select * from old.{quoted(table)}")


def needs_conversion(store_path: Path) -> bool:
    """Whether ``store_path`` holds a store from before snapshots (one ingest, no history)."""
    if not store_path.exists():
        return False
    with duckdb.connect(str(store_path), read_only=True) as con:
        return SNAPSHOTS not in _tables(con, "main")


def convert_unversioned(store_path: Path,
                        rewrite_quarantine_log: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> None:
    """Turn a store from before snapshots into snapshot 1 of a store with history (its tables
    become the first versions of its records), swapped in atomically. ``rewrite_quarantine_log``
    brings its quarantine log to the current layout."""
    tmp = store_path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}.tmp")
    try:
        with duckdb.connect(str(tmp)) as con:
            escaped = str(store_path).replace("'", "''")
            con.execute(f"attach '{escaped}' as old (read_only)")
            _convert_unversioned(con, _tables(con, "old"))
            con.execute("detach old")
            if rewrite_quarantine_log is not None:
                log = rewrite_quarantine_log(con.execute(f"select * from {QUARANTINE_LOG}").df())
                con.register("rewritten", log)
                con.execute(f"create or replace table {QUARANTINE_LOG} as select * from rewritten")
                con.unregister("rewritten")
            con.execute("checkpoint")
        os.replace(tmp, store_path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)


def _convert_unversioned(con: duckdb.DuckDBPyConnection, old: set[str]) -> None:
    meta = dict(con.execute("select key, value from old.store_meta").fetchall())
    own = {"persons", INGESTS, QUARANTINE_LOG, "store_meta"}
    for table in sorted(old - own):
        con.execute(f"create table {quoted(history_table(table))} as select *, 1 as {FROM}, null::integer as {TO}, "
                    f"(row_number() over () - 1)::bigint as {POS} from old.{quoted(table)}")
    con.execute(f"create table {INGESTS} as select * from old.{INGESTS}")
    con.execute(f"create table {QUARANTINE_LOG} as select * from old.{QUARANTINE_LOG}")
    ingested_at = con.execute(f"select max(ingested_at) from old.{INGESTS}").fetchall()[0][0]
    _create_snapshot_tables(con)
    con.execute(f"insert into {SNAPSHOTS} values (1, ?, ?, ?, ?, ?, ?, ?, ?, '', '')", [
        meta.get("ingest_id", "before-snapshots"), ingested_at, meta.get("extract_date"),
        meta.get("synthetic", "false") == "true", meta.get("linkage", ""), meta.get("linkage_profile", ""),
        meta.get("key_fingerprint", ""), meta.get("key_origin", "")])
    facts = set(SNAPSHOT_COLUMNS)
    for key, value in meta.items():
        if key not in facts:
            con.execute(f"insert into {SNAPSHOT_META} values (?, ?, ?)", [meta.get("ingest_id"), key, value])


def _create_snapshot_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""create table if not exists {SNAPSHOTS} (seq integer primary key, ingest_id varchar unique,
        ingested_at timestamp, extract_date date, synthetic boolean, linkage varchar, linkage_profile varchar,
        key_fingerprint varchar, key_origin varchar, carried_forward varchar, allowed_fewer varchar)""")
    con.execute(f"create table if not exists {SNAPSHOT_META} (ingest_id varchar, key varchar, value varchar)")


def _incoming(con: duckdb.DuckDBPyConnection, source: str, frame: pd.DataFrame | str, record_id: str) -> tuple[list[str], int]:
    """Make this snapshot's records of ``source`` the relation ``incoming_frame`` (with ``_pos``, the
    reading order): a pandas frame, or the name of a table in the attached ``staging`` database
    that has ``_pos`` already (the ingest stages its records there). Returns its columns and length."""
    if isinstance(frame, str):
        con.execute(f"create or replace temp view incoming_frame as select * from staging.{quoted(frame)}")
        columns = [c for c in _columns(con, frame, "staging") if c != POS]
        dup = con.execute(f"""select {quoted(record_id)} from (select {quoted(record_id)}, {POS}, row_number() over
            (partition by {quoted(record_id)} order by {POS}) as n from incoming_frame) where n = 2 order by {POS} limit 1""").fetchall()
        rows = int(con.execute("select count(*) from incoming_frame").fetchall()[0][0])
    else:
        duplicated = frame[record_id].duplicated()
        dup = [(frame.loc[duplicated, record_id].iloc[0],)] if duplicated.any() else []
        con.register("incoming_frame", frame.assign(**{POS: range(len(frame))}))
        columns, rows = list(frame.columns), len(frame)
    if dup:
        raise StoreWriteError(f"{source}: record id {record_id} {dup[0][0]!r} appears more than once; the store keys "
                              "records by their id.")
    return columns, rows


def _drop_incoming(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame | str) -> None:
    if isinstance(frame, str):
        con.execute("drop view incoming_frame")
    else:
        con.unregister("incoming_frame")


def _apply_source(con: duckdb.DuckDBPyConnection, source: str, frame: pd.DataFrame | str, record_id: str, seq: int,
                  keep_absent: bool) -> SourceChange:
    """Bring ``source``'s history up to this snapshot's records (``frame``, in reading order; a
    frame, or a table of the attached ``staging`` database: ``_incoming``)."""
    change = SourceChange(source)
    table = quoted(history_table(source))
    rid = quoted(record_id)
    incoming, rows = _incoming(con, source, frame, record_id)
    existing = _columns(con, history_table(source))
    if not existing:
        con.execute(f"create table {table} as select * exclude ({POS}), {seq} as {FROM}, null::integer as {TO}, "
                    f"{POS}::bigint as {POS} from incoming_frame order by {POS}")
        _drop_incoming(con, frame)
        for column, kind in _columns(con, history_table(source)).items():
            if kind == '"NULL"':  # an all-empty column (or frame) has no type yet: text until known
                con.execute(f"alter table {table} alter column {quoted(column)} set data type varchar")
        change.added = rows
        return change
    for c in incoming:  # a column new in this contract version: earlier versions hold nulls
        if c not in existing:
            con.execute(f"alter table {table} add column {quoted(c)} "
                        f"{con.execute(f'select typeof({quoted(c)}) from incoming_frame limit 1').fetchall()[0][0]}")
    existing = _columns(con, history_table(source))
    select = ", ".join(f"cast(incoming_frame.{quoted(c)} as {existing[c]}) as {quoted(c)}" for c in incoming)
    con.execute(f"create temp table incoming as select {select}, {POS} from incoming_frame")
    _drop_incoming(con, frame)
    content = [c for c in existing if c not in VERSION_COLUMNS and c not in LOCATION_COLUMNS]

    def differs(cols: list[str]) -> str:  # a column no longer sent counts as null now
        parts = [f"h.{quoted(c)} is distinct from i.{quoted(c)}" for c in cols if c in incoming]
        parts += [f"h.{quoted(c)} is not null" for c in cols if c not in incoming]
        return " or ".join(parts) or "false"

    con.execute(f"""create temp table compared as
        select i.{rid} as rid, h.{rid} is not null as existed,
               coalesce({differs(content)}, false) as changed,
               coalesce({differs([c for c in content if c != 'person_id'])}, false) as values_changed
        from incoming i left join {table} h on h.{rid} = i.{rid} and h.{TO} is null""")
    counts = con.execute("""select count(*) filter (where not existed), count(*) filter (where existed and values_changed),
        count(*) filter (where existed and changed and not values_changed), count(*) filter (where existed and not changed)
        from compared""").fetchone()
    change.added, change.revised, change.relinked, change.unchanged = (int(x) for x in counts)
    absent = "" if keep_absent else f" or {rid} not in (select rid from compared)"
    change.vanished = 0 if keep_absent else int(con.execute(
        f"select count(*) from {table} where {TO} is null and {rid} not in (select rid from compared)").fetchall()[0][0])
    con.execute(f"update {table} set {TO} = {seq} where {TO} is null and "
                f"({rid} in (select rid from compared where changed){absent})")
    cols = ", ".join(quoted(c) for c in incoming)
    con.execute(f"insert into {table} ({cols}, {FROM}, {TO}, {POS}) select {cols}, {seq}, null, {POS} from incoming "
                f"where {rid} in (select rid from compared where changed or not existed) order by {POS}")
    con.execute("drop table incoming")
    con.execute("drop table compared")
    return change


def write_snapshot(
    store_path: Path,
    incoming: dict[str, pd.DataFrame | str],
    record_ids: dict[str, str],
    snapshot: dict[str, object],
    files: pd.DataFrame,
    quarantine: pd.DataFrame,
    *,
    carry_forward: set[str] = frozenset(),
    keep_absent: set[str] = frozenset(),
    staging: Path | None = None,
) -> dict[str, SourceChange]:
    """Write the store with a new snapshot (``snapshot``: the facts of ``layout.SNAPSHOT_COLUMNS``
    except ``seq``) and swap it in atomically.

    ``incoming`` holds each source's records as this ingest read them. A source in
    ``carry_forward`` keeps its previous records unchanged; a source in ``keep_absent`` (records
    entered between ingests) keeps records the extract no longer holds. A source's records are a
    pandas frame, or the name of a table in the DuckDB file ``staging`` (attached read-only) with the
    same columns and ``_pos``, each record's place in the reading order.
    """
    store_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = store_path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}.tmp")
    changes: dict[str, SourceChange] = {}
    try:
        con = duckdb.connect(str(tmp), config={"memory_limit": BUILD_MEMORY_LIMIT})
        try:
            if store_path.exists():
                escaped = str(store_path).replace("'", "''")
                con.execute(f"attach '{escaped}' as old (read_only)")
                _copy_previous(con)
                con.execute("detach old")
            _create_snapshot_tables(con)
            if staging is not None:
                con.execute(f"attach '{str(staging).replace(chr(39), chr(39) * 2)}' as staging (read_only)")
            seq = previous_seq(con) + 1
            sources = set(incoming) | {source_of(t) for t in _tables(con, "main") if source_of(t)}
            for source in sorted(sources):
                if source in carry_forward or source not in incoming:
                    # not sent this quarter (the ingest refused that unless told to carry it forward)
                    changes[source] = SourceChange(source, carried_forward=True)
                    continue
                changes[source] = _apply_source(con, source, incoming[source], record_ids[source], seq,
                                                keep_absent=source in keep_absent)
            if staging is not None:
                con.execute("detach staging")
            row = {c: snapshot.get(c) for c in SNAPSHOT_COLUMNS if c != "seq"}
            con.execute(f"insert into {SNAPSHOTS} values (?, {', '.join('?' for _ in row)})", [seq, *row.values()])
            for name, frame in ((INGESTS, files), (QUARANTINE_LOG, quarantine)):
                con.register("rows", frame)
                if name in _tables(con, "main"):
                    have = _columns(con, name)
                    for c in frame.columns:  # a column added since (earlier rows hold nulls)
                        if have.get(c) == '"NULL"' and len(frame):  # made from an empty first frame
                            kind = con.execute(f"select typeof({quoted(c)}) from rows limit 1").fetchall()[0][0]
                            con.execute(f"alter table {name} alter column {quoted(c)} set data type {kind}")
                        if c not in have:
                            kind = (con.execute(f"select typeof({quoted(c)}) from rows limit 1").fetchall() or [None])[0]
                            con.execute(f"alter table {name} add column {quoted(c)} {kind[0] if kind else 'varchar'}")
                    if len(frame):
                        con.execute(f"insert into {name} by name select * from rows")
                else:
                    con.execute(f"create table {name} as select * from rows")
                con.unregister("rows")
            con.execute("checkpoint")
        finally:
            con.close()
        os.replace(tmp, store_path)  # atomic on POSIX: readers see the old store or the new, never half
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return changes


def remove_leftovers(data_dir: Path) -> list[Path]:
    """Delete temporary store files left by an ingest that was killed (call while holding the lock)."""
    removed = []
    for pattern in (f"{TEMP_PREFIX}*.tmp*", f"{TEMP_PREFIX}*{STAGING_SUFFIX}*"):
        for path in data_dir.glob(pattern):
            if path.is_dir() and not path.is_symlink():  # DuckDB's temporary folder of a database it wrote
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    for path in data_dir.glob(".aggregates-*.tmp*"):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def append_records(store_path: Path, source: str, frame: pd.DataFrame) -> None:
    """Add records entered between ingests (the framework form) to the latest snapshot.

    They belong to the latest snapshot from now on (so ``as_of`` that snapshot includes them);
    the next ingest keeps them unless an extract sends the same record id with other values."""
    with duckdb.connect(str(store_path)) as con:
        seq = previous_seq(con)
        table = history_table(source)
        con.register("entry", frame)
        if _columns(con, table):
            start = con.execute(f"select coalesce(max({POS}) + 1, 0) from {quoted(table)} where {FROM} = {seq}").fetchall()[0][0]
            cols = ", ".join(quoted(c) for c in frame.columns)
            con.execute(f"insert into {quoted(table)} ({cols}, {FROM}, {TO}, {POS}) select {cols}, {seq}, null, "
                        f"{start} + row_number() over () - 1 from entry")
        else:
            con.execute(f"create table {quoted(table)} as select *, {seq} as {FROM}, null::integer as {TO}, "
                        f"(row_number() over () - 1)::bigint as {POS} from entry")
        con.unregister("entry")
