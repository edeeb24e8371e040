"""Precomputed aggregate tables that the commissioner dashboards read instead of raw records.

``build_aggregates(data_dir)`` reads the store once, builds small, fine-grained count tables
(district x month x category) with the measures of :mod:`workbench.measures` and writes them to
``aggregates.duckdb`` beside the store. The dashboards load these into
memory when a page starts and never touch person-level records, so a filter change is a few
pandas operations on a few thousand rows (milliseconds), and a dashboard kernel cannot leak a
record it never had.

The tables hold *true* counts. Disclosure control happens at display time, on the table the
reader has filtered, because suppression depends on the margins the reader sees
(see :mod:`workbench.dashboards.protection`). The aggregates file therefore has the same
sensitivity as the store and lives beside it, outside git.

Definitions (windows, codes) come from the registry (:mod:`workbench.definitions`) and the
measures, and are written down, in plain English, in ``docs/dashboards.md`` and
``docs/assumptions/dashboards.md``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from workbench import definitions as registry
from workbench.dashboards import monitoring_aggregates as monitoring
from workbench.dashboards.cell_keys import cell_key_secret, with_cell_keys
from workbench.definitions import definition, history_start
from workbench.measures import (
    benchmarking,
    monthly_counts,
    returns,
    rough_sleeping,
    supported_housing,
)
from workbench.measures import by_name_list as bnl_measure
from workbench.measures import housing_first as hf_measure
from workbench.measures import pathways as pathways_measure
from workbench.measures.sources import SourceTables
from workbench.store import AS_OF_ENV, Store, StoreNotFound, default_data_dir

AGGREGATES_FILE = "aggregates.duckdb"
#: Bump when a table's definition changes, so existing aggregate files are rebuilt.
#: 5: the new arrivals headline (the study's own estimate); 6: the aggregates also record the
#: definitions (version and hash) they were built with; 7: By Name List, Housing First durations
#: and pathway moves (issue 20); 8: also the tables of the joins, equality, data quality and duties
#: pages (:mod:`workbench.dashboards.monitoring_aggregates`); 9: each count column has its cell keys
#: (:mod:`workbench.dashboards.cell_keys`).
SCHEMA_VERSION = "9"

#: The county as a whole, in tables where a county figure is not the sum of the districts
#: (a person seen sleeping rough in two districts in one month is one person in the county).
COUNTY = "oxfordshire"
COUNTY_LABEL = "Oxfordshire (all districts)"


#: Windows come from workbench/definitions.yaml (kept as data, shared with the studies).
INSTITUTION_WINDOW_DAYS: int = int(definition("new_arrivals", "institution_window_days"))
NEW_LOOKBACK_MONTHS: int = int(definition("new_arrivals", "lookback_months"))
RETURN_WINDOWS_MONTHS: tuple[int, ...] = returns.windows_months()
#: Measure modules the aggregates are built with; the aggregates record them and are rebuilt
#: when the list changes.
MEASURE_MODULES: tuple[str, ...] = (
    "workbench.measures.sources",
    "workbench.measures.rough_sleeping",
    "workbench.measures.returns",
    "workbench.measures.supported_housing",
    "workbench.measures.benchmarking",
    "workbench.measures.by_name_list",
    "workbench.measures.housing_first",
    "workbench.measures.pathways",
    *monitoring.MONITORING_MODULES,
)

#: Indicators of :mod:`workbench.measures.benchmarking` whose case-mix-adjusted comparison the
#: benchmarking page shows, by the page's measure key.
CASE_MIX_INDICATORS: dict[str, str] = {
    "prevention": "prevention_success",
    "relief": "relief_success",
    "move_on": "move_on",
}

TABLES: tuple[str, ...] = (
    "rough_sleeping",
    "new_arrivals",
    "new_arrivals_headline",
    "duty_outcomes",
    "sa_departures",
    "sa_starts",
    "sa_current",
    "tenancy_outcomes",
    "returns_outcomes",
    "case_mix_expected",
    "bnl_monthly",
    "hf_durations",
    "pathway_moves",
    "handovers",
    "equality_outcomes",
    "equality_recording",
    "dq_completeness",
    "dq_at_extract",
    "duty_drivers",
    "meta",
)

#: The dimensions of each table added for issue 20 (besides ``n``, the count): what a page may
#: filter or break a table down by. ``district`` holds districts only: the county is their sum.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "bnl_monthly": ("district", "month", "measure"),
    "hf_durations": ("district", "month", "days", "lost"),
    "pathway_moves": ("district", "month", "from_state", "to_state"),
}
#: Housing First durations are kept to the day up to this many days (just past 24 months, the
#: longest horizon shown); longer ones are stored as this value, which gives the same
#: Kaplan-Meier estimates at 6, 12 and 24 months and fewer rows.
HF_DURATION_CAP_DAYS: int = int(np.ceil(24 * hf_measure.DAYS_PER_MONTH)) + 1


class AggregatesError(RuntimeError):
    """The aggregates could not be built or read."""


class MeasureUnavailable(RuntimeError):
    """One aggregate table cannot be computed from this store (its page says "not available")."""


def _new_arrivals_headline(store: Store) -> pd.DataFrame:
    """The new arrivals study's headline (one row: the estimate the study leads with, its interval,
    how it was corrected for linkage error, the period), computed by the study's own function so
    the page and the study cannot disagree. A study figure, not a count: it is not filtered."""
    from workbench.studies.new_arrivals.headline import headline_of_store

    try:
        h = headline_of_store(store)
    except (KeyError, ValueError) as exc:
        raise MeasureUnavailable(f"new arrivals headline: {exc}") from exc
    keep = ("estimate", "lower", "upper", "method", "why", "arrivals", "presented", "uncorrected",
            "uncorrected_lower", "uncorrected_upper", "period_start", "period_end")
    return pd.DataFrame([{k: h[k] for k in keep}])


def _bnl_monthly(sources: SourceTables) -> pd.DataFrame:
    """The By Name List's monthly table (:func:`workbench.measures.by_name_list.by_name_list`) per
    district, long: district, month, measure (a flow reason, ``active_start`` or ``active_end``),
    n. The county is the sum of its districts, without the moves between districts."""
    m = bnl_measure.by_name_list(sources).monthly
    m = m[m["district"] != registry.COUNTY]
    measures = [*bnl_measure.ENTRY_REASONS, bnl_measure.MOVED_IN, *bnl_measure.EXIT_REASONS, bnl_measure.MOVED_OUT,
                "active_start", "active_end"]
    long = m.melt(id_vars=["district", "period_start"], value_vars=measures, var_name="measure", value_name="n")
    long = long.rename(columns={"period_start": "month"}).astype({"n": "int64"})
    return long[["district", "month", "measure", "n"]].reset_index(drop=True)


def _hf_durations(sources: SourceTables) -> pd.DataFrame:
    """Housing First tenancies by district, start month, days followed (capped) and whether the
    tenancy was lost by then: what the Kaplan-Meier sustainment of any chosen group needs."""
    t = hf_measure.housing_first_tenancies(sources)
    frame = pd.DataFrame({"district": t["district"], "month": monthly_counts.month_start(t["start"]),
                          "days": t["days"].clip(upper=HF_DURATION_CAP_DAYS).astype("int64"),
                          "lost": t["lost"].where(t["days"] <= HF_DURATION_CAP_DAYS, 0).astype("int64")})
    return monthly_counts.count_by(frame, ["district", "month", "days", "lost"])


def _case_mix_expected(sources: SourceTables) -> pd.DataFrame:
    """The adjusted comparison's table; a county model that cannot be fitted on this store (too
    few or one-sided cases) leaves it unavailable instead of failing every dashboard."""
    try:
        return pd.concat([benchmarking.case_mix_expected_by_quarter(sources, ind) for ind in CASE_MIX_INDICATORS.values()],
                         ignore_index=True)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise MeasureUnavailable(f"case-mix model: {exc}") from exc


def _model_or_unavailable(build, sources: SourceTables) -> pd.DataFrame:
    """A model that cannot be fitted on this store (too few or one-sided cases) leaves its table
    unavailable instead of failing every dashboard."""
    try:
        return build(sources)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise MeasureUnavailable(f"model: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def store_exists(data_dir: str | Path | None = None) -> bool:
    """Whether ``data_dir`` (default ``$WORKBENCH_DATA_DIR``) holds a store to build aggregates from."""
    try:
        Store(data_dir)
    except StoreNotFound:
        return False
    return True


def aggregates_path(data_dir: str | Path | None = None) -> Path:
    """The aggregates of the latest snapshot, or of the snapshot ``$WORKBENCH_AS_OF`` names
    (``workbench dashboards --as-of``), each in its own file."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    as_of = os.environ.get(AS_OF_ENV)
    if as_of:
        return data_dir / f"aggregates-as-of-{re.sub(r'[^A-Za-z0-9-]', '_', as_of)}.duckdb"
    return data_dir / AGGREGATES_FILE


def _compute(store: Store, extract: pd.Timestamp) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Every aggregate table, and notes on what could be computed."""
    # typed and de-duplicated by the measures' rules
    sources = SourceTables.from_store(store)
    tables = dict(sources.tables)
    out: dict[str, pd.DataFrame] = {}
    notes = {"deduplicated": "true"}
    builders = {
        "rough_sleeping": lambda: rough_sleeping.people_seen_counts(tables["outreach_contacts"], COUNTY),
        "new_arrivals": lambda: rough_sleeping.new_arrival_counts(tables),
        "new_arrivals_headline": lambda: _new_arrivals_headline(store),
        "duty_outcomes": lambda: monthly_counts.duty_ending_counts(tables["statutory_cases"]),
        "sa_departures": lambda: supported_housing.departure_counts(tables, extract),
        "sa_starts": lambda: supported_housing.start_counts(tables["supported_accommodation"]),
        "sa_current": lambda: supported_housing.open_stay_counts(tables["supported_accommodation"], extract),
        "tenancy_outcomes": lambda: monthly_counts.tenancy_outcome_counts(tables["settled_tenancies"], extract),
        "returns_outcomes": lambda: returns.returns_outcome_counts(tables, extract),
        # observed and expected (county case-mix model) per district and quarter: summed over
        # the quarters a reader picks, they give the indirectly standardised comparison
        "case_mix_expected": lambda: _case_mix_expected(sources),
        "bnl_monthly": lambda: _bnl_monthly(sources),
        "hf_durations": lambda: _hf_durations(sources),
        "pathway_moves": lambda: pathways_measure.move_counts(sources),
        # the pages on what the partnership monitors (joins, equality, data quality, duties)
        "handovers": lambda: monitoring.handover_counts(sources),
        "equality_outcomes": lambda: monitoring.equality_outcome_counts(sources),
        "equality_recording": lambda: monitoring.equality_recording_counts(sources),
        "dq_completeness": lambda: monitoring.completeness_counts(sources),
        "dq_at_extract": lambda: monitoring.data_quality_at_extract(sources),
        "duty_drivers": lambda: _model_or_unavailable(monitoring.duty_driver_table, sources),
    }
    for name, build in builders.items():
        try:
            out[name] = build()
            notes[f"{name}_available"] = "true"
        except (ImportError, KeyError, MeasureUnavailable) as exc:
            # a measure that cannot be built (a source missing from this store): the page
            # shows "not available yet" for this measure instead of a number we cannot back
            out[name] = pd.DataFrame({"n": pd.Series(dtype="int64")})
            notes[f"{name}_available"] = "false"
            notes[f"{name}_reason"] = f"{type(exc).__name__}: {exc}"
    return out, notes


def build_aggregates(data_dir: str | Path | None = None) -> Path:
    """Compute every aggregate table from the store and write ``aggregates.duckdb`` atomically.

    A new file is written beside the old one and renamed over it, so dashboards starting while
    this runs read either the old aggregates or the new ones, never half of each.
    """
    store = Store(data_dir)
    target = aggregates_path(store.data_dir)
    meta = store.meta()
    extract = pd.Timestamp(str(meta.get("extract_date") or dt.date.today().isoformat())[:10])
    store_mtime = store.path.stat().st_mtime_ns
    frames, notes = _compute(store, extract)
    secret = cell_key_secret(store.data_dir)
    frames = {name: with_cell_keys(name, frame, secret) for name, frame in frames.items()}

    months = [df["month"].min() for df in frames.values() if "month" in df and len(df)]
    first = max(min(months), pd.Timestamp(history_start())) if months else extract
    info = {
        "schema_version": SCHEMA_VERSION,
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "store_ingest_id": meta.get("ingest_id", ""),
        # what every page and download says it was built with; a change of definitions rebuilds
        "definitions_version": registry.version(),
        "definitions_sha256": registry.content_hash(),
        "carried_forward": meta.get("carried_forward", ""),
        "store_mtime_ns": str(store_mtime),
        "extract_date": extract.date().isoformat(),
        "synthetic": str(meta.get("synthetic", "")),
        "linkage": str(meta.get("linkage", "")),
        "first_month": pd.Timestamp(first).to_period("M").to_timestamp().date().isoformat(),
        "modules": _modules_signature(),
        **notes,
    }
    fd, tmp_name = tempfile.mkstemp(prefix=".aggregates-", suffix=".tmp", dir=store.data_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # duckdb must create the file itself
    try:
        with duckdb.connect(str(tmp)) as con:
            for name, frame in frames.items():
                con.register("frame", frame)
                con.execute(f"create table {name} as select * from frame")
                con.unregister("frame")
            con.execute("create table meta (key varchar, value varchar)")
            con.executemany("insert into meta values (?, ?)", list(info.items()))
            con.execute("checkpoint")
        tmp.chmod(0o600)  # true counts, small ones included: as sensitive as the store (duckdb used the umask)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        raise
    return target


def _modules_signature() -> str:
    """Which measure modules the aggregates were built with (rebuild when the list changes)."""
    return ",".join(module.rsplit(".", 1)[-1] for module in MEASURE_MODULES)


def _read_meta(path: Path) -> dict[str, str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return dict(con.execute("select key, value from meta").fetchall())


def aggregates_are_current(data_dir: str | Path | None = None) -> bool:
    """False if the aggregates are missing, unreadable, or built from another store or schema."""
    store = Store(data_dir)
    path = aggregates_path(store.data_dir)
    if not path.exists():
        return False
    try:
        info = _read_meta(path)
    except duckdb.Error:
        return False
    return (
        info.get("schema_version") == SCHEMA_VERSION
        and info.get("store_ingest_id") == store.meta().get("ingest_id", "")
        and info.get("store_mtime_ns") == str(store.path.stat().st_mtime_ns)
        and info.get("modules") == _modules_signature()
        and info.get("definitions_sha256") == registry.content_hash()
    )


@contextmanager
def _build_lock(data_dir: str | Path | None) -> Iterator[None]:
    """One build of a data directory's aggregates at a time, across processes: after a new ingest
    the dashboard kernels of several pages start at once, and each would otherwise build the same
    file (correct, as the rename is atomic, but the same minutes of work several times over)."""
    path = aggregates_path(data_dir)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by the OS if this process dies
        yield
    finally:
        os.close(fd)


def ensure_aggregates(data_dir: str | Path | None = None) -> Path:
    """Build the aggregates if they are missing or older than the store; return their path."""
    if aggregates_are_current(data_dir):
        return aggregates_path(data_dir)
    with _build_lock(data_dir):
        if not aggregates_are_current(data_dir):  # not built meanwhile by another process
            return build_aggregates(data_dir)
    return aggregates_path(data_dir)


# --------------------------------------------------------------------------------------------
# Reading and querying (no disclosure control here: callers protect what they show)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A run of whole months ``[start, end]`` (first days of months)."""

    start: pd.Timestamp
    end: pd.Timestamp

    def months(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, self.end, freq="MS")

    def shifted(self, months: int) -> Period:
        off = pd.DateOffset(months=months)
        return Period(self.start - off, self.end - off)


@dataclass(frozen=True)
class Quarter:
    """A financial-year quarter (Q1 = April to June)."""

    start: pd.Timestamp

    @property
    def end(self) -> pd.Timestamp:
        return self.start + pd.DateOffset(months=2)

    @property
    def label(self) -> str:
        return f"{self.start:%b}–{self.end:%b %Y}"

    @property
    def financial_year(self) -> str:
        y = self.start.year if self.start.month >= 4 else self.start.year - 1
        return f"{y}-{str(y + 1)[2:]}"


def quarter_of(month: pd.Timestamp) -> Quarter:
    month = pd.Timestamp(month).to_period("M").to_timestamp()
    offset = (month.month - 4) % 3
    return Quarter(month - pd.DateOffset(months=offset))


@dataclass
class Aggregates:
    """The aggregate tables in memory, with the store facts the pages need."""

    tables: dict[str, pd.DataFrame]
    meta: dict[str, str]
    path: Path | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def extract_date(self) -> pd.Timestamp:
        return pd.Timestamp(self.meta["extract_date"])

    @property
    def ingest_id(self) -> str:
        """The store snapshot (ingest) these aggregates were built from."""
        return self.meta.get("store_ingest_id", "")

    @property
    def definitions_version(self) -> str:
        return self.meta.get("definitions_version", "")

    @property
    def definitions_sha256(self) -> str:
        return self.meta.get("definitions_sha256", "")

    @property
    def synthetic(self) -> bool:
        return self.meta.get("synthetic", "").lower() in ("true", "1", "yes")

    def available(self, table: str) -> bool:
        """Whether ``table`` could be computed (its cohort module exists and its sources too)."""
        return self.meta.get(f"{table}_available") == "true"

    @property
    def last_month(self) -> pd.Timestamp:
        return self.extract_date.to_period("M").to_timestamp()

    def quarters(self) -> list[Quarter]:
        """Financial-year quarters from the first with data to the one holding the extract date."""
        first = quarter_of(pd.Timestamp(self.meta["first_month"]))
        last = quarter_of(self.last_month)
        out, q = [], first
        while q.start <= last.start:
            out.append(q)
            q = Quarter(q.start + pd.DateOffset(months=3))
        return out

    def is_partial_month(self, month: pd.Timestamp) -> bool:
        """True if the extract date falls inside ``month`` before its last day."""
        end = month + pd.offsets.MonthEnd(0)
        return month <= self.extract_date < end

    # -- generic filtering ----------------------------------------------------------------
    def select(
        self,
        name: str,
        *,
        period: Period | None = None,
        month_shift: int = 0,
        **equals: str | int | Iterable[str] | None,
    ) -> pd.DataFrame:
        """Rows of table ``name`` in ``period`` (on ``month`` + ``month_shift`` months) where each
        column equals the given value (a string or number, or any of several); None: no filter."""
        df = self.tables[name]
        keep = pd.Series(True, index=df.index)
        if period is not None:
            month = df["month"]
            if month_shift:
                month = month + pd.DateOffset(months=month_shift)
            keep &= (month >= period.start) & (month <= period.end)
        for col, value in equals.items():
            if value is None:
                continue
            if isinstance(value, str | int):
                keep &= df[col] == value
            else:
                keep &= df[col].isin(list(value))
        out = df[keep]
        # which table the rows come from, so a figure can be traced to them (site-wide audit)
        out.attrs["aggregate"] = name
        return out


def _load(path: Path) -> Aggregates:
    with duckdb.connect(str(path), read_only=True) as con:
        names = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        missing = [t for t in TABLES if t not in names]
        if missing:
            raise AggregatesError(f"{path} has no table(s) {missing}; rebuild with build_aggregates().")
        tables = {t: con.execute(f"select * from {t}").df() for t in TABLES if t != "meta"}
        meta = dict(con.execute("select key, value from meta").fetchall())
    for df in tables.values():
        if "month" in df:
            df["month"] = pd.to_datetime(df["month"])
        if "n" in df:
            df["n"] = df["n"].astype("int64")
    return Aggregates(tables=tables, meta=meta, path=path)


_LOCK = threading.Lock()
_LOADED: dict[tuple[str, int], Aggregates] = {}


def load_aggregates(data_dir: str | Path | None = None, *, build: bool = True) -> Aggregates:
    """The aggregates of ``data_dir`` (default ``$WORKBENCH_DATA_DIR``), cached per file version.

    With ``build`` (default), missing or out-of-date aggregates are built first.
    """
    path = aggregates_path(data_dir)
    with _LOCK:
        if build:
            ensure_aggregates(data_dir)
        if not path.exists():
            raise AggregatesError(f"No aggregates in {path.parent}; run build_aggregates().")
        key = (str(path), path.stat().st_mtime_ns)
        if key not in _LOADED:
            _LOADED.clear()
            _LOADED[key] = _load(path)
        return _LOADED[key]


def describe(data_dir: str | Path | None = None) -> str:
    """One line per table with its row count (for logs and the CLI)."""
    agg = load_aggregates(data_dir)
    lines = [f"{name}: {len(df):,} rows" for name, df in agg.tables.items()]
    return "\n".join(lines + [json.dumps(agg.meta)])
