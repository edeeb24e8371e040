"""Read access to the store, at its latest snapshot or any earlier one (``as_of``).

``Store(data_dir).query("select * from statutory_cases")`` reads the latest snapshot;
``Store(data_dir, as_of="2026-03-31")`` (an extract date) or ``as_of="<ingest id>"`` reads an
earlier one. Every table a study reads (each source, ``persons``, ``store_meta``, ``ingests``,
``quarantine_log``, ``snapshots``) is a view over the store file filtered to that snapshot, in an
in-memory DuckDB connection that attaches the store file read-only: queries written for one
snapshot work for all.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from workbench.store.layout import (
    ALTERNATIVES,
    FROM,
    HISTORY_SUFFIX,
    INGESTS,
    POS,
    QUARANTINE_LOG,
    SNAPSHOT_COLUMNS,
    SNAPSHOT_META,
    SNAPSHOTS,
    TO,
    VERSION_COLUMNS,
    quoted,
    source_of,
)

DATA_DIR_ENV = "WORKBENCH_DATA_DIR"
#: Read an earlier snapshot by default (the dashboards server sets it for its pages).
AS_OF_ENV = "WORKBENCH_AS_OF"
STORE_FILE = "workbench.duckdb"


def default_data_dir() -> Path:
    """``$WORKBENCH_DATA_DIR``, else the user's data folder (never inside the repository)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "oxfordshire-workbench"


@contextmanager
def owner_only() -> Iterator[None]:
    """Files and folders created inside are readable by their owner only (umask 077), whatever the
    caller's umask: the store, reports and quarantine files are about people. Usable as a decorator."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


class StoreNotFound(Exception):
    """No store has been built yet in this data directory."""


class SnapshotNotFound(Exception):
    """``as_of`` names no snapshot of this store."""


@dataclass(frozen=True)
class Snapshot:
    """One ingest's snapshot: its position in the store's history, id and extract date."""

    seq: int
    ingest_id: str
    extract_date: dt.date
    latest: bool


def snapshots_of(con: duckdb.DuckDBPyConnection, catalog: str) -> pd.DataFrame:
    return con.execute(f"select * from {catalog}.{SNAPSHOTS} order by seq").df()


def choose_snapshot(snapshots: pd.DataFrame, as_of: str | dt.date | None, where: Path) -> Snapshot:
    """The snapshot ``as_of`` names: an ingest id, or a date (the latest ingest of extracts dated on
    or before it); None: the latest."""
    if snapshots.empty:
        raise StoreNotFound(f"The store in {where} holds no snapshot yet.")
    last = int(snapshots["seq"].max())
    if as_of is None or as_of == "latest":
        row = snapshots[snapshots["seq"] == last].iloc[0]
    elif str(as_of) in set(snapshots["ingest_id"]):
        row = snapshots[snapshots["ingest_id"] == str(as_of)].iloc[0]
    else:
        try:
            when = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))
        except ValueError:
            when = None
        dates = pd.to_datetime(snapshots["extract_date"]).dt.date
        on_or_before = snapshots[dates <= when] if when is not None else snapshots.iloc[:0]
        if on_or_before.empty:
            listing = "; ".join(f"{r.ingest_id} (extracts dated {pd.Timestamp(r.extract_date).date()})"
                                for r in snapshots.itertuples())
            raise SnapshotNotFound(
                f"--as-of {as_of}: the store in {where} has no snapshot with that ingest id or with extracts "
                f"dated on or before that date. Its snapshots are: {listing}.")
        row = on_or_before.sort_values("seq").iloc[-1]
    return Snapshot(int(row["seq"]), str(row["ingest_id"]), pd.Timestamp(row["extract_date"]).date(),
                    int(row["seq"]) == last)


def _record_ids() -> dict[str, str]:
    from workbench.contracts import load_contracts

    return {c.name: c.record_id for c in load_contracts().contracts.values()}


class Store:
    """Read access to a built store: ``Store(data_dir, as_of=None).query("select ...")``."""

    def __init__(self, data_dir: str | Path | None = None, as_of: str | dt.date | None = None,
                 linkage: str | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.path = self.data_dir / STORE_FILE
        if not self.path.exists():
            raise StoreNotFound(
                f"No store in {self.data_dir}. Build one with 'workbench ingest FOLDER' "
                "(or 'workbench demo' for the synthetic county)."
            )
        if as_of is None:
            as_of = os.environ.get(AS_OF_ENV) or None
        with duckdb.connect(str(self.path), read_only=True) as con:
            names = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
            if SNAPSHOTS not in names:
                raise StoreNotFound(
                    f"The store in {self.data_dir} was built by an earlier version of the workbench, before "
                    "stores kept every quarter. Ingest the latest extracts into it again: the ingest keeps its data "
                    "as the first snapshot.")
            self.snapshot = choose_snapshot(snapshots_of(con, "main"), as_of, self.data_dir)
            self._history = sorted(n for n in names if source_of(n))
            self.linkage = linkage
            if linkage is not None and linkage not in self.alternatives():
                raise SnapshotNotFound(
                    f"The store's snapshot {self.snapshot.ingest_id} has no alternative linkage {linkage!r}; it has: "
                    f"{', '.join(self.alternatives()) or 'none'}.")
            self._columns = {
                n: [r[0] for r in con.execute(
                    "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
                    [n]).fetchall() if r[0] not in VERSION_COLUMNS]
                for n in self._history
            }

    def alternatives(self) -> list[str]:
        """The alternative linkages this snapshot holds (``Store(linkage=name)`` reads the store as if
        people had been linked that way): neighbouring thresholds and the deterministic rules."""
        if f"{ALTERNATIVES}__history" not in self._history:
            return []
        k = self.snapshot.seq
        with duckdb.connect(str(self.path), read_only=True) as con:
            rows = con.execute(f"select distinct alternative from {ALTERNATIVES}__history where {FROM} <= {k} "
                               f"and ({TO} is null or {TO} > {k}) order by 1").fetchall()
        return [r[0] for r in rows]

    @property
    def ingest_id(self) -> str:
        return self.snapshot.ingest_id

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory connection whose tables are this snapshot's views of the store file."""
        con = duckdb.connect()
        path = str(self.path).replace("'", "''")
        con.execute(f"attach '{path}' as h (read_only)")
        k = self.snapshot.seq
        open_at = f"{FROM} <= {k} and ({TO} is null or {TO} > {k})"
        sources = []
        for table in self._history:
            source = source_of(table)
            cols = ", ".join(quoted(c) for c in self._columns[table])
            body = f"select {cols} from h.{quoted(table)} where {open_at} order by {FROM}, {POS}"
            if self.linkage is not None and "person_id" in self._columns[table] and source != ALTERNATIVES:
                # the same records, with each person id as the alternative linkage gave it
                rid = quoted(_record_ids()[source])
                picked = ", ".join("a.person_id as person_id" if c == "person_id" else f"t.{quoted(c)}"
                                   for c in self._columns[table])
                body = (f"select {picked} from h.{quoted(table)} t left join (select record_id, person_id from "
                        f"h.{ALTERNATIVES}__history where {open_at} and source = '{source}' and alternative = "
                        f"'{self.linkage.replace(chr(39), chr(39) * 2)}') a on a.record_id = cast(t.{rid} as varchar) "
                        f"where t.{FROM} <= {k} and (t.{TO} is null or t.{TO} > {k}) order by t.{FROM}, t.{POS}")
            con.execute(f"create view {quoted(source)} as {body}")
            if "person_id" in self._columns[table] and source != ALTERNATIVES:
                sources.append(f"select person_id from {quoted(source)} where person_id is not null")
        persons = " union all ".join(sources) or "select null::varchar as person_id where false"
        con.execute(f"create view persons as select person_id, count(*)::bigint as n_records from ({persons}) "
                    "group by person_id order by person_id")
        con.execute(f"create view {SNAPSHOTS} as select * from h.{SNAPSHOTS} where seq <= {k} order by seq")
        con.execute(f"create view {INGESTS} as select i.* from h.{INGESTS} i semi join h.{SNAPSHOTS} s "
                    f"on i.ingest_id = s.ingest_id and s.seq <= {k}")
        con.execute(f"create view {QUARANTINE_LOG} as select q.* from h.{QUARANTINE_LOG} q semi join h.{SNAPSHOTS} s "
                    f"on q.ingest_id = s.ingest_id and s.seq <= {k}")
        facts = " union all ".join(
            f"select '{c}' as key, cast({c} as varchar) as value from h.{SNAPSHOTS} where seq = {k}"
            for c in SNAPSHOT_COLUMNS if c != "seq")
        con.execute(f"create view store_meta as {facts} union all select key, value from h.{SNAPSHOT_META} "
                    f"where ingest_id = '{self.snapshot.ingest_id}'")
        return con

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    def table(self, name: str) -> pd.DataFrame:
        if name not in self.tables():
            raise KeyError(f"The store has no table {name!r}; it has: {', '.join(self.tables())}.")
        return self.query(f"select * from {quoted(name)}")

    def tables(self) -> list[str]:
        """The tables of this snapshot: sources that have records in it, and the store's own tables."""
        with self.connect() as con:
            views = [r[0] for r in con.execute(
                "select view_name from duckdb_views() where database_name = 'memory' and not internal "
                "order by 1").fetchall()]
            return [v for v in views if v not in self.sources() or con.execute(
                f"select exists (select 1 from {quoted(v)})").fetchone()[0]]

    def sources(self) -> list[str]:
        """The data sources this store holds (not its own tables, such as the alternative linkages)."""
        return [source_of(t) for t in self._history if source_of(t) != ALTERNATIVES]

    def meta(self) -> dict[str, str]:
        """Facts about this snapshot: extract date, ingest id, linkage, key fingerprint, sources carried
        forward, and what was recorded about it after the ingest (such as measured linkage error)."""
        values = dict(self.query("select key, value from store_meta").itertuples(index=False, name=None))
        if values.get("extract_date"):
            values["extract_date"] = values["extract_date"][:10]
        return {k: ("" if v is None else v) for k, v in values.items()}

    def caveats(self) -> list[str]:
        """Plain sentences every output built from this snapshot must carry: sources carried
        forward from an earlier quarter, and reading a snapshot that is not the latest."""
        meta = self.meta()
        out = []
        carried = [s for s in meta.get("carried_forward", "").split(",") if s]
        if carried:
            out.append("Not updated this quarter: the records of " + ", ".join(s.replace("_", " ") for s in carried)
                       + " are carried forward from the previous snapshot (their extract was missing or refused), so "
                       "figures using them stop at that snapshot's extract date.")
        if not self.snapshot.latest:
            out.append(f"These figures use an earlier snapshot of the store: ingest {self.ingest_id}, extracts dated "
                       f"{self.snapshot.extract_date.isoformat()}; a later one exists.")
        return out

    def snapshots(self) -> pd.DataFrame:
        """Every snapshot up to this one, oldest first."""
        return self.query(f"select * from {SNAPSHOTS}")

    def record_meta(self, values: dict[str, object]) -> None:
        """Add or replace facts about this snapshot (one transaction: all or nothing), e.g. the
        linkage error rates measured after ingest."""
        with duckdb.connect(str(self.path)) as con:
            con.execute("begin")
            for key, value in values.items():
                con.execute(f"delete from {SNAPSHOT_META} where ingest_id = ? and key = ?", [self.ingest_id, key])
                con.execute(f"insert into {SNAPSHOT_META} values (?, ?, ?)", [self.ingest_id, key, str(value)])
            con.execute("commit")


__all__ = ["AS_OF_ENV", "DATA_DIR_ENV", "HISTORY_SUFFIX", "STORE_FILE", "Snapshot", "SnapshotNotFound", "Store",
           "StoreNotFound", "default_data_dir", "owner_only"]
