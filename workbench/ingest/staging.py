"""The accepted records of an ingest, staged in DuckDB rather than kept as pandas frames.

Validation hands each piece of accepted rows to a :class:`Staging` (one table per file, in file
order, with each record's position among all accepted records of the ingest). From there:

- the linkage frame is read back with only the linkage's columns (:meth:`Staging.linkage_frame`),
  or, for the deterministic rules, only an integer code per identifier (:meth:`Staging.identifier_codes`);
- the person ids are computed with SQL from the linkage's labels (each cluster's earliest record,
  by date, source and record id, as ``linkage.persons.person_ids``), only the keyed hash of each
  cluster's anchor being made in Python, a batch at a time;
- the tables the store keeps are built with ``INSERT ... SELECT`` (identifiers left out, as
  ``pipeline.pseudonymised_table``), and ``store.history.write_snapshot`` reads them from here.

So an ingest no longer holds every accepted value in memory at once (some 150 bytes a record in
pandas), only the linkage frame while it links. The staging database is a file in the data
directory (never elsewhere: it holds identifiers), owner-only, named like the store's temporary
files so that a killed ingest's leftover is removed by the next one (``history.remove_leftovers``);
it is deleted when the ingest ends. It is a file of its own, not tables in the new store's file:
tables dropped from a DuckDB file leave their space in it.
"""

from __future__ import annotations

import ctypes
import gc
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow

from workbench.contracts.model import Contract
from workbench.ingest.pseudonymise import PseudonymKey
from workbench.linkage.normalise import normalised_codes
from workbench.linkage.persons import PERSON_NAMESPACE
from workbench.store.history import STAGING_SUFFIX, TEMP_PREFIX
from workbench.store.layout import ALTERNATIVE_KEY, POS, quoted

#: DuckDB's memory while validation appends pieces (it needs little: each piece is written out;
#: the person ids and tables are made later, after the linkage, with :func:`build_memory_limit`).
APPEND_MEMORY_LIMIT = "64MB"
#: Appending pieces: one thread, and a checkpoint every 64 MB of log rather than DuckDB's 16 MB
#: (measured on 3.5 million outreach records: 16 to 9 s of CPU for the appends, the same peak).
APPEND_CONFIG = {"threads": 1, "checkpoint_threshold": "64MB"}
#: DuckDB's memory while the person ids and stored tables are built, at least: 192 MB.
MIN_BUILD_MEGABYTES = 192
#: ... and at most (see :func:`build_memory_limit`).
MAX_BUILD_MEGABYTES = 1024
#: Anchors hashed per batch (Python strings only for these).
PSEUDONYM_BATCH = 100_000
#: Records read back per batch when their identifier codes are gathered.
CODE_BATCH = 500_000
STAGE_POS = "_stage_pos"  # a record's position among every accepted record of the ingest
_ROW = "_row_number"


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _pandas_types(kind: pyarrow.DataType) -> object:
    """Arrow to pandas as the validated pieces were: text as Arrow strings, integers nullable."""
    if pyarrow.types.is_string(kind) or pyarrow.types.is_large_string(kind):
        return pd.StringDtype("pyarrow")
    if pyarrow.types.is_integer(kind):
        return pd.Int64Dtype()
    if pyarrow.types.is_boolean(kind):
        return pd.BooleanDtype()
    return None


def _status_megabytes() -> dict[str, int]:
    """This process's peak and resident memory in MB (Linux), or nothing if not both are known."""
    try:
        found = {}
        for line in Path("/proc/self/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                found[name] = int(value.split()[0]) // 1024
    except (OSError, ValueError, IndexError):
        return {}
    return found if len(found) == 2 else {}


def build_memory_limit() -> str:
    """DuckDB's memory for building the person ids and stored tables: what the process's peak so far
    (in ``workbench ingest``, the ingest's own) leaves above its resident memory now, so the build
    does not raise the peak (between ``MIN_BUILD_MEGABYTES`` and ``MAX_BUILD_MEGABYTES``; the minimum
    where the peak is not known, off Linux).

    After the linkage has let go of its memory (:func:`return_freed_memory`) the room is large at
    scale: on 3.5 million outreach records 192 -> 384 MB took the person ids 11.3 -> 7.3 s and the
    tables 8.1 -> 7.0 s of CPU, the peak staying the linkage's; a fixed 384 MB raised the peak of a
    100 MB extract, whose linkage needs less, by 80 MB."""
    mb = _status_megabytes()
    room = mb.get("VmHWM", 0) - mb.get("VmRSS", 0) - 64  # DuckDB's own bookkeeping beyond its limit
    return f"{max(MIN_BUILD_MEGABYTES, min(MAX_BUILD_MEGABYTES, room))}MB"


def return_freed_memory() -> None:
    """Give memory freed by Python, NumPy and Arrow back to the system. The allocators keep what
    was freed for reuse, so after the linkage the process held some 650 MB at 300 MB of extract
    of which about 350 MB was free; DuckDB's memory then came on top of it."""
    gc.collect()
    pyarrow.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): what the allocators keep stays kept
        pass


def use_system_memory_pool() -> None:
    """Arrow allocates from the C library's allocator from now on, in this process, instead of its
    bundled mimalloc, which keeps freed memory for reuse: over a 300 MB extract's pieces the
    validation's peak was some 50 MB lower (673 -> 623 MB), in the same CPU time. For the command
    line's ``validate`` and ``ingest``, whose process is theirs; a library call leaves the caller's
    choice alone."""
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


class _FileSink:
    """One file's accepted rows, into its own staging table (``validate.AcceptedSink``)."""

    def __init__(self, staging: Staging, table: str):
        self.staging, self.table = staging, table
        self.start = staging.records  # the file's first record's position
        self.rows = 0

    def add(self, piece: pd.DataFrame) -> None:
        con = self.staging.con
        piece = piece.copy(deep=False)
        piece[STAGE_POS] = np.arange(self.start + self.rows, self.start + self.rows + len(piece), dtype=np.int64)
        # As Arrow: DuckDB reads an Arrow table's columns as they are, with no analysis of a pandas
        # frame's columns; the column types are the same (tests/ingest/test_staging.py compares them).
        piece = pyarrow.Table.from_pandas(piece, preserve_index=False)
        con.register("piece", piece)
        if self.rows == 0 and not self.staging.exists(self.table):
            con.execute(f"create table {quoted(self.table)} as select * from piece")
        else:
            con.execute(f"insert into {quoted(self.table)} by name select * from piece")
        con.unregister("piece")
        self.rows += len(piece)
        self.staging.records = self.start + self.rows

    def restart(self) -> None:
        if self.staging.exists(self.table):
            self.staging.con.execute(f"delete from {quoted(self.table)}")
        self.rows = 0
        self.staging.records = self.start


class Staging:
    """An owner-only DuckDB file in the data directory holding this ingest's accepted records."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}{STAGING_SUFFIX}"
        self.con: duckdb.DuckDBPyConnection | None = None
        self._open(APPEND_MEMORY_LIMIT, **APPEND_CONFIG)
        self.path.chmod(0o600)
        self.records = 0
        self.alternatives: dict[str, str] = {}
        self.files: list[tuple[Contract, str, str]] = []  # (contract, staging table, file name), in order

    def exists(self, table: str) -> bool:
        return bool(self.con.execute("select count(*) from information_schema.tables where table_name = ?",
                                     [table]).fetchone()[0])

    def sink(self, contract: Contract, file: str) -> _FileSink:
        """Where ``file``'s accepted rows go; its records follow those of the files staged before."""
        table = f"file_{len(self.files)}"
        self.files.append((contract, table, file))
        return _FileSink(self, table)

    def forget(self, file: str) -> None:
        """Leave a refused file's records out (the ingest then stores nothing; kept for consistency)."""
        self.files = [f for f in self.files if f[2] != file]

    # -- the linkage frame -----------------------------------------------------------------------

    def linkage_frame(self, build: Callable[[list[tuple[Contract, pd.DataFrame]]], pd.DataFrame],
                      uses: Callable[[Contract], list[str]]) -> pd.DataFrame:
        """``build([(contract, frame)])`` (the pipeline's ``linkage_frame``) of the staged records,
        each file read back with only the columns linkage uses (``uses(contract)``), in the ingest's order."""
        parts = []
        for contract, table, _ in self.files:
            columns = [c for c in uses(contract) if c in self._columns(table)]
            if columns:
                select = ", ".join(quoted(c) for c in columns)
                arrow = self.con.sql(f"select {select} from {quoted(table)} order by {STAGE_POS}").to_arrow_table()
                frame = arrow.to_pandas(types_mapper=_pandas_types)
                del arrow
            else:  # a source with none of the identifiers the linkage reads: its records, without values
                frame = pd.DataFrame(index=pd.RangeIndex(self.con.execute(f"select count(*) from {quoted(table)}").fetchone()[0]))
            parts.append(build([(contract, frame)]))
            del frame
        if len(parts) == 1:
            return parts[0]
        return pd.concat(parts, ignore_index=True) if parts else build([])

    def identifier_codes(self, fields: Callable[[Contract], dict[str, object]],
                         normalisers: dict[str, Callable[[pd.Series], pd.Series]],
                         dates: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """Per staged record, in position order, an integer code for each linkage column named in
        ``normalisers`` (text: equal codes exactly where its normaliser gives equal text) and in
        ``dates`` (equal codes on the same day); -1 where missing. ``fields(contract)`` gives the
        source field behind each column (the pipeline's ``_linkage_columns``).

        The deterministic rules need nothing else, so no identifier is held per record as text:
        each distinct spelling is normalised once in Python and DuckDB joins the records to its
        code (at 3.5 million records the text frame was some 250 MB, the ingest's peak)."""
        codes = {}
        for column in (*normalisers, *dates):
            sources = [(table, fields(contract).get(column)) for contract, table, _ in self.files]
            sources = [(t, quoted(f)) for t, f in sources if isinstance(f, str) and f in self._columns(t)]
            if column in normalisers:
                codes[column] = self._spelling_codes(sources, normalisers[column])
            else:
                codes[column] = self._day_codes(sources)
        return codes

    def _scatter(self, queries: list[str], fill: int) -> np.ndarray:
        """``code`` of each ``pos`` the queries return, ``fill`` elsewhere, read a batch at a time."""
        out = np.full(self.records, fill, dtype=np.int64)
        for query in queries:
            for batch in _batches(self.con.sql(query).to_arrow_reader(CODE_BATCH)):
                out[batch.column("pos").to_numpy()] = batch.column("code").to_numpy()
        return out

    def _spelling_codes(self, sources: list[tuple[str, str]], normalise: Callable[[pd.Series], pd.Series]) -> np.ndarray:
        if not sources:
            return np.full(self.records, -1, dtype=np.int64)
        spellings = " union ".join(f"select distinct cast({f} as varchar) as spelling from {quoted(t)} "
                                   f"where {f} is not null" for t, f in sources)
        distinct = self.con.sql(spellings).to_arrow_table().column("spelling")
        normal = normalised_codes(pd.Series(distinct.to_pandas(types_mapper=_pandas_types)), normalise)
        lookup = pyarrow.table({"spelling": distinct, "code": normal}).filter(pyarrow.array(normal >= 0))
        self.con.register("spelling_codes", lookup)
        try:
            return self._scatter([f"select s.{STAGE_POS} as pos, c.code from {quoted(t)} s join spelling_codes c "
                                  f"on cast(s.{f} as varchar) = c.spelling" for t, f in sources], -1)
        finally:
            self.con.unregister("spelling_codes")

    def _day_codes(self, sources: list[tuple[str, str]]) -> np.ndarray:
        # Days since 1970 can be -1 (31 December 1969): missing is marked apart, then codes factorised.
        missing = np.iinfo(np.int64).min
        days = self._scatter([f"select {STAGE_POS} as pos, date_diff('day', DATE '1970-01-01', cast({f} as date)) "
                              f"as code from {quoted(t)} where {f} is not null" for t, f in sources], missing)
        return np.where(days == missing, -1, pd.factorize(days)[0])

    def _columns(self, table: str) -> list[str]:
        return [r[0] for r in self.con.execute(
            "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
            [table]).fetchall()]

    def _records_view(self) -> None:
        """Every staged record's position, source, record id (as text) and date, for the person ids."""
        parts = [f"select {STAGE_POS}, {_sql_text(c.name)} as source, cast({quoted(c.record_id)} as varchar) as record_id, "
                 f"cast({quoted(c.event_date)} as timestamp) as event_date from {quoted(t)}" for c, t, _ in self.files]
        if not parts:
            parts = [f"select null::bigint as {STAGE_POS}, null::varchar as source, null::varchar as record_id, "
                     "null::timestamp as event_date where false"]
        self.con.execute("create or replace view records as " + " union all ".join(parts))

    # -- person ids ------------------------------------------------------------------------------

    def person_ids(self, labels: np.ndarray, alternatives: dict[str, np.ndarray], key: PseudonymKey) -> int:
        """Record each record's linkage labels and each cluster's keyed person id (the main linkage
        and every alternative); returns the number of people of the main linkage."""
        self._open()
        self._records_view()
        columns = {"label": labels, **{f"alt_{i}": v for i, v in enumerate(alternatives.values())}}
        self.alternatives = {name: f"alt_{i}" for i, name in enumerate(alternatives)}
        table = pyarrow.table({STAGE_POS: np.arange(len(labels), dtype=np.int64),
                               **{c: pyarrow.array(np.asarray(v)) for c, v in columns.items()}})
        self.con.register("labels_arrow", table)
        self.con.execute("create or replace table labels as select * from labels_arrow")
        self.con.unregister("labels_arrow")
        del table
        for column in columns:
            self._persons(column, key)
        return int(self.con.execute("select count(distinct person_id) from persons_label").fetchone()[0])

    def _persons(self, column: str, key: PseudonymKey) -> None:
        """``persons_<column>``: cluster label to person id, the keyed hash of the cluster's earliest
        record ("source/record id"; by date, empty dates last, then source and record id)."""
        # The labels' type follows the linkage's (numbers, or a linker's own names).
        kind = dict(self.con.execute("select column_name, data_type from information_schema.columns "
                                     "where table_name = 'labels'").fetchall())[column]
        self.con.execute(f"create or replace table persons_{column} (label {kind}, person_id varchar)")
        reading = self.con.cursor()  # its own connection: the batches are read while others are written
        reader = reading.sql(f"""
            select l.{column} as label,
                   first(r.source || '/' || r.record_id order by r.event_date nulls last, r.source, r.record_id) as anchor
            from records r join labels l using ({STAGE_POS}) group by l.{column}""").to_arrow_reader(PSEUDONYM_BATCH)
        for batch in _batches(reader):
            ids = key.pseudonyms(PERSON_NAMESPACE, batch.column("anchor").to_pylist())
            chunk = pyarrow.table({"label": batch.column("label"), "person_id": pyarrow.array(ids, pyarrow.string())})
            self.con.register("chunk", chunk)
            self.con.execute(f"insert into persons_{column} select label, person_id from chunk")
            self.con.unregister("chunk")
        reading.close()

    # -- the stored tables -----------------------------------------------------------------------

    def build_tables(self, identifier_fields: dict[str, list[str]]) -> dict[str, str]:
        """Each source's stored table (``pipeline.pseudonymised_table``'s columns, in its order) and the
        alternatives table, built with SQL here; returns source -> table name. Each has ``_pos``, the
        record's place in its source (the order the store keeps)."""
        # Each record's person id, in the records' order: joined to each file by position (a file's
        # table holds its records in that order), not by a hash join and a sort of every column.
        self.con.execute(f"create or replace table record_person as select l.{STAGE_POS}, p.person_id from labels l "
                         f"join persons_label p on p.label = l.label order by l.{STAGE_POS}")
        by_source: dict[str, list[tuple[str, str]]] = {}
        done: dict[str, int] = {}  # records of each source in the files before
        for contract, table, file in self.files:
            columns = self._columns(table)
            start, rows = self.con.execute(f"select min({STAGE_POS}), count(*) from {quoted(table)}").fetchone()
            event = quoted(contract.event_date)
            dob = quoted("date_of_birth") if "date_of_birth" in columns else "null::timestamp"
            age = (f"case when {dob} is not null and {event} is not null then year({event}) - year({dob}) - "
                   f"case when month({event}) < month({dob}) or (month({event}) = month({dob}) and day({event}) < day({dob})) "
                   "then 1 else 0 end end")
            recorded = [quoted(c) for c in ("approximate_age", "age") if c in columns]
            age = f"coalesce({', '.join([age] + recorded)})" if recorded else age
            dropped = set(identifier_fields[contract.name]) | {_ROW, STAGE_POS}
            kept = ", ".join(f"s.{quoted(c)}" for c in columns if c not in dropped)
            offset = done.get(contract.name, 0) - (start or 0)
            done[contract.name] = done.get(contract.name, 0) + rows
            rest = (f"{', ' + kept if kept else ''}, {_sql_text(file)} as source_file, s.{_ROW} as source_row, "
                    f"(s.{STAGE_POS} + {offset})::bigint as {POS} from {quoted(table)} s positional join "
                    f"(select person_id from record_person where {STAGE_POS} >= {start or 0} and "
                    f"{STAGE_POS} < {(start or 0) + rows} order by {STAGE_POS}) p")
            by_source.setdefault(contract.name, []).append((table, age, quoted("age_at_" + contract.event_date), rest))
        out = {}
        for source, parts in by_source.items():
            # As the pandas tables were: a source with any age unknown had its ages as floating point
            # (a nullable integer column made NumPy), so the store's column types stay what they were.
            unknown = sum(self.con.execute(f"select count(*) from {quoted(table)} where {age} is null").fetchone()[0]
                          for table, age, _, _ in parts)
            kind = "double" if unknown else "bigint"
            selects = [f"select p.person_id, cast({age} as {kind}) as {column}{rest}" for _, age, column, rest in parts]
            name = f"stored_{source}"
            self.con.execute(f"create or replace table {quoted(name)} as " + " union all ".join(selects)
                             + (f" order by {POS}" if len(selects) > 1 else ""))
            out[source] = name
        return out

    def build_alternatives(self) -> str:
        """The alternatives table (``pipeline.alternative_person_ids``'s columns and order)."""
        parts = [f"select r.source, r.record_id, {_sql_text(name)} as alternative, p.person_id, {i} as _alt, r.{STAGE_POS} "
                 f"from records r join labels l using ({STAGE_POS}) join persons_{column} p on p.label = l.{column}"
                 for i, (name, column) in enumerate(self.alternatives.items())]
        if not parts:
            parts = [f"select null::varchar as source, null::varchar as record_id, null::varchar as alternative, "
                     f"null::varchar as person_id, 0 as _alt, 0::bigint as {STAGE_POS} where false"]
        self.con.execute(f"""create or replace table stored_alternatives as
            select source, record_id, alternative, person_id,
                   source || '/' || record_id || '/' || alternative as {quoted(ALTERNATIVE_KEY)},
                   (row_number() over (order by _alt, {STAGE_POS}) - 1)::bigint as {POS}
            from ({' union all '.join(parts)}) order by {POS}""")
        return "stored_alternatives"

    def release(self) -> None:
        """Let go of DuckDB's cache while the linkage runs (up to :func:`build_memory_limit`): the
        database is closed, and opened again by the next step."""
        self.close()

    def _open(self, memory_limit: str | None = None, **config: object) -> duckdb.DuckDBPyConnection:
        if self.con is None:
            self.con = duckdb.connect(str(self.path), config={"memory_limit": memory_limit or build_memory_limit(),
                                                              "preserve_insertion_order": True, **config})
        return self.con

    def close(self) -> None:
        """Write everything down and let go of the file (the store's writer attaches it)."""
        if self.con is not None:
            self.con.execute("checkpoint")
            self.con.close()
            self.con = None

    def remove(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
        for leftover in (self.path, self.path.with_name(self.path.name + ".wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(self.path.with_name(self.path.name + ".tmp"), ignore_errors=True)  # DuckDB's spill folder


def _batches(reader: pyarrow.RecordBatchReader) -> Iterator[pyarrow.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return
