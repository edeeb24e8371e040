"""Precomputed aggregate tables that the commissioner dashboards read instead of raw records.

``build_aggregates(data_dir)`` reads the store once and writes small, fine-grained count tables
(district x month x category) to ``aggregates.duckdb`` beside it. The dashboards load these into
memory when a page starts and never touch person-level records, so a filter change is a few
pandas operations on a few thousand rows (milliseconds), and a dashboard kernel cannot leak a
record it never had.

The tables hold *true* counts. Disclosure control happens at display time, on the table the
reader has filtered, because suppression depends on the margins the reader sees
(see :mod:`workbench.presentation.dashboard_widgets`). The aggregates file therefore has the same
sensitivity as the store and lives beside it, outside git.

Definitions (windows, codes) are module constants and are written down, in plain English, in
``docs/dashboards.md`` and ``docs/assumptions/dashboards.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from workbench.definitions import DISTRICTS, SOURCES, definitions, history_start
from workbench.store import Store, default_data_dir

AGGREGATES_FILE = "aggregates.duckdb"
#: Bump when a table's definition changes, so existing aggregate files are rebuilt.
SCHEMA_VERSION = "3"

#: The county as a whole, in tables where a county figure is not the sum of the districts
#: (a person seen sleeping rough in two districts in one month is one person in the county).
COUNTY = "oxfordshire"
COUNTY_LABEL = "Oxfordshire (all districts)"


#: Windows come from workbench/definitions.yaml (kept as data, shared with the studies).
_DEFS = definitions()
INSTITUTION_WINDOW_DAYS: int = int(_DEFS["new_arrivals"]["institution_window_days"])
NEW_LOOKBACK_MONTHS: int = int(_DEFS["new_arrivals"]["lookback_months"])
RETURN_WINDOWS_MONTHS: tuple[int, ...] = tuple(int(m) for m in _DEFS["returns"]["windows_months"])
#: A month as the returns study counts it (studies/returns.py), so "12 months" agrees everywhere.
DAYS_PER_MONTH = 365.25 / 12
#: Modules the aggregates use when they exist; when one appears, the aggregates are rebuilt.
OPTIONAL_MODULES: tuple[str, ...] = (
    "workbench.measures.sources",
    "workbench.cohorts.rough_sleeping",
    "workbench.cohorts.returns",
    "workbench.cohorts.supported_housing",
)

PREVENTION_SUCCESS = ("secured_6_months_stayed", "secured_6_months_moved")
RELIEF_SUCCESS = ("secured_6_months",)

#: Usual resident population, Census 2021 (ONS table TS001, rounded to the nearest 100), used
#: only for "per 100,000 residents" rates on the benchmarking page. APPROXIMATE: written from
#: memory of the published first results, not checked against the ONS table here; replace with
#: the TS001 counts before publishing real figures (docs/assumptions/dashboards.md).
DISTRICT_POPULATION: dict[str, int] = {
    "oxford_city": 162_100,
    "cherwell": 161_000,
    "south_oxfordshire": 149_100,
    "vale_of_white_horse": 138_900,
    "west_oxfordshire": 114_200,
}

LOS_BANDS: tuple[tuple[str, int], ...] = (
    ("under_3_months", 91),
    ("3_to_6_months", 183),
    ("6_to_12_months", 365),
    ("1_to_2_years", 730),
    ("over_2_years", 10**9),
)
AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("16_to_17", 18),
    ("18_to_25", 26),
    ("26_to_35", 36),
    ("36_to_45", 46),
    ("46_to_55", 56),
    ("56_and_over", 10**9),
)

TABLES: tuple[str, ...] = (
    "rough_sleeping",
    "new_arrivals",
    "duty_outcomes",
    "sa_departures",
    "sa_starts",
    "sa_current",
    "tenancy_outcomes",
    "returns_outcomes",
    "meta",
)


class AggregatesError(RuntimeError):
    """The aggregates could not be built or read."""


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def aggregates_path(data_dir: str | Path | None = None) -> Path:
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    return data_dir / AGGREGATES_FILE


def _band(values: pd.Series, bands: Sequence[tuple[str, int]], missing: str = "not_known") -> pd.Series:
    """Label each number with the first band whose (exclusive) upper bound is above it."""
    out = pd.Series(missing, index=values.index, dtype=object)
    v = pd.to_numeric(values, errors="coerce")
    done = v.isna()
    for label, upper in bands:
        hit = ~done & (v < upper)
        out[hit] = label
        done |= hit
    return out


def _yes_no(flag: pd.Series) -> pd.Series:
    return np.where(flag.astype("boolean").fillna(False).astype(bool), "yes", "no")


def _month(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates).dt.to_period("M").dt.to_timestamp()


def _count(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Counts by ``keys`` (rows with a missing key are dropped: they have no place on a chart)."""
    if not len(frame):
        return pd.DataFrame({**{k: pd.Series(dtype=object) for k in keys}, "n": pd.Series(dtype="int64")})
    out = frame.dropna(subset=keys).groupby(keys, as_index=False, observed=True).size()
    return out.rename(columns={"size": "n"}).astype({"n": "int64"})


def _source_tables(store: Store) -> tuple[dict[str, pd.DataFrame], bool]:
    """The six sources, typed and de-duplicated by the measures' rules when that module exists."""
    try:
        from workbench.measures.sources import SourceTables
    except ImportError:  # measures not installed yet: raw tables (duplicates counted twice)
        have = set(store.tables())
        return {n: store.table(n) for n in SOURCES if n in have}, False
    return dict(SourceTables.from_store(store).tables), True


def _rough_sleeping(outreach: pd.DataFrame) -> pd.DataFrame:
    """People seen bedded down per month, CHAIN status, by district and for the county."""
    from workbench.cohorts.rough_sleeping import chain_classification

    chain = chain_classification(outreach, freq="M")
    if not len(chain):
        return _count(pd.DataFrame(columns=["area", "month", "status"]), ["area", "month", "status"])
    chain["month"] = chain["period"].dt.to_timestamp()
    # a person seen in two districts in a month counts once in each, and once in the county
    by_district = chain.assign(area=chain["districts"].str.split(";")).explode("area")
    by_district = by_district[by_district["area"].isin(DISTRICTS)]
    county = chain.assign(area=COUNTY)
    return pd.concat([_count(by_district, ["area", "month", "status"]),
                      _count(county, ["area", "month", "status"])], ignore_index=True)


def _new_arrivals(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """New arrivals on the streets with who they were and whether they had presented before."""
    from workbench.cohorts.rough_sleeping import arrival_paths, earlier_contacts, new_arrivals

    arrivals = new_arrivals(tables["outreach_contacts"])
    paths = arrival_paths(arrivals, earlier_contacts(arrivals, tables))
    frame = pd.DataFrame({
        "district": paths["arrival_district"],
        "month": _month(paths["arrival_date"]),
        "gender": paths["gender"].fillna("not_known"),
        "nationality": paths["nationality"].fillna("not_known"),
        "age_band": _band(paths["age"], AGE_BANDS),
        "route": paths["route"].fillna("none"),
        "presented_85d": _yes_no(paths.get(f"presented_{INSTITUTION_WINDOW_DAYS}d", pd.Series(False, index=paths.index))),
        "presented_12m": _yes_no(paths.get("presented_12m", pd.Series(False, index=paths.index))),
        "lookback_complete": _yes_no(paths["lookback_complete"]),
        "contact_history_complete": _yes_no(paths["contact_history_complete"]),
    })
    return _count(frame, list(frame.columns))


def _duty_outcomes(cases: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for duty in ("prevention", "relief"):
        ended = cases[cases[f"{duty}_duty_end"].notna()]
        parts.append(pd.DataFrame({
            "district": ended["district"],
            "month": _month(ended[f"{duty}_duty_end"]),
            "duty": duty,
            "reason": ended[f"{duty}_duty_end_reason"].fillna("not_known"),
            "household_type": ended["household_type"].fillna("other"),
        }))
    return _count(pd.concat(parts, ignore_index=True), ["district", "month", "duty", "reason", "household_type"])


def _sa_departures(leavers: pd.DataFrame, extract: pd.Timestamp) -> pd.DataFrame:
    """Ended stays: how they ended, where people went and, for those who moved on to a settled
    home, whether they kept it for 12 months (supported-housing cohort definitions)."""
    kept = leavers["kept_12m"]
    reached = leavers["move_in_date"] + pd.Timedelta(days=365) <= extract
    kept_12m = np.select(
        [leavers["moved_on_settled"] != 1, ~reached | kept.isna(), kept == 1],
        ["not_moved_on", "not_yet", "kept"], "lost")
    frame = pd.DataFrame({
        "district": leavers["district"],
        "month": _month(leavers["end_date"]),
        "model": leavers["model"],
        "departure_reason": leavers["departure_reason"].fillna("other"),
        "destination": leavers["destination"].fillna("not_known"),
        "stay_length": _band(leavers["length_of_stay_days"], LOS_BANDS),
        "moved_on_settled": np.where(leavers["moved_on_settled"] == 1, "yes", "no"),
        "kept_12m": kept_12m,
    })
    return _count(frame, list(frame.columns))


def _sa_starts(stays: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame({"district": stays["district"], "month": _month(stays["start_date"]),
                          "model": stays["model"], "route_in": stays["route_in"].fillna("other")})
    return _count(frame, ["district", "month", "model", "route_in"])


def _sa_current(stays: pd.DataFrame, extract: pd.Timestamp) -> pd.DataFrame:
    end = pd.to_datetime(stays["end_date"])
    open_ = stays[(pd.to_datetime(stays["start_date"]) <= extract) & (end.isna() | (end > extract))]
    return _count(open_, ["district", "model"])


def _tenancy_outcome(t: pd.DataFrame, days: float, extract: pd.Timestamp) -> np.ndarray:
    start, end = pd.to_datetime(t["start_date"]), pd.to_datetime(t["end_date"])
    horizon = start + pd.to_timedelta(days, unit="D")
    reason = t["end_reason"].fillna("other")
    return np.select(
        [horizon > extract, end.isna() | (end > horizon), reason == "planned_move", reason == "died"],
        ["not_yet", "sustained", "planned_move", "died"], "ended")


def _tenancy_outcomes(tenancies: pd.DataFrame, extract: pd.Timestamp) -> pd.DataFrame:
    frame = pd.DataFrame({
        "district": tenancies["district"], "month": _month(tenancies["start_date"]),
        "tenure": tenancies["tenure"], "route_in": tenancies["route_in"].fillna("other"),
        "outcome_6m": _tenancy_outcome(tenancies, 6 * DAYS_PER_MONTH, extract),
        "outcome_12m": _tenancy_outcome(tenancies, 12 * DAYS_PER_MONTH, extract),
    })
    return _count(frame, list(frame.columns))


def _returns_outcomes(cohort: pd.DataFrame, extract: pd.Timestamp) -> pd.DataFrame:
    """Outcome at each window of every settled move-in, as the returns study counts it.

    Within ``m`` months (``m * 365.25 / 12`` days) of moving in: ``returned`` (status 1 by then),
    ``died`` (died first, status 2 by then), ``not_returned``; ``not_yet`` when the window had not
    closed by the extract date. The study's windowed rate is returned / (returned + died +
    not_returned): every move-in whose window has closed.
    """
    parts = []
    c = cohort.assign(move_in_date=pd.to_datetime(cohort["move_in_date"]))
    possible = (extract - c["move_in_date"]).dt.days
    for months in RETURN_WINDOWS_MONTHS:
        days = months * DAYS_PER_MONTH
        outcome = np.select(
            [possible < days, (c["status"] == 1) & (c["time_days"] <= days),
             (c["status"] == 2) & (c["time_days"] <= days)],
            ["not_yet", "returned", "died"], "not_returned")
        parts.append(pd.DataFrame({
            "district": c["district"], "month": _month(c["move_in_date"]), "tenure": c["tenure"],
            "route_in": c["route_in"], "window_months": months, "outcome": outcome,
        }))
    keys = ["district", "month", "tenure", "route_in", "window_months", "outcome"]
    return _count(pd.concat(parts, ignore_index=True), keys)


def _compute(store: Store, extract: pd.Timestamp) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Every aggregate table, and notes on what could be computed."""
    tables, deduplicated = _source_tables(store)
    out: dict[str, pd.DataFrame] = {}
    notes = {"deduplicated": str(deduplicated).lower()}
    builders = {
        "rough_sleeping": lambda: _rough_sleeping(tables["outreach_contacts"]),
        "new_arrivals": lambda: _new_arrivals(tables),
        "duty_outcomes": lambda: _duty_outcomes(tables["statutory_cases"]),
        "sa_departures": lambda: _sa_departures(_leavers(tables, extract), extract),
        "sa_starts": lambda: _sa_starts(tables["supported_accommodation"]),
        "sa_current": lambda: _sa_current(tables["supported_accommodation"], extract),
        "tenancy_outcomes": lambda: _tenancy_outcomes(tables["settled_tenancies"], extract),
        "returns_outcomes": lambda: _returns_outcomes(_returns(tables, extract), extract),
    }
    for name, build in builders.items():
        try:
            out[name] = build()
            notes[f"{name}_available"] = "true"
        except (ImportError, KeyError) as exc:
            # a cohort module not written yet, or a source missing from this store: the page
            # shows "not available yet" for this measure instead of a number we cannot back
            out[name] = pd.DataFrame({"n": pd.Series(dtype="int64")})
            notes[f"{name}_available"] = "false"
            notes[f"{name}_reason"] = f"{type(exc).__name__}: {exc}"
    return out, notes


def _leavers(tables: dict[str, pd.DataFrame], extract: pd.Timestamp) -> pd.DataFrame:
    from workbench.cohorts.supported_housing import leavers_cohort

    return leavers_cohort(tables=tables, extract_date=extract.date())


def _returns(tables: dict[str, pd.DataFrame], extract: pd.Timestamp) -> pd.DataFrame:
    from workbench.cohorts.returns import returns_cohort

    return returns_cohort(tables=tables, extract_date=extract.date())


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

    months = [df["month"].min() for df in frames.values() if "month" in df and len(df)]
    first = max(min(months), pd.Timestamp(history_start())) if months else extract
    info = {
        "schema_version": SCHEMA_VERSION,
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "store_ingest_id": meta.get("ingest_id", ""),
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
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        raise
    return target


def _modules_signature() -> str:
    """Which optional modules the aggregates were built with (rebuild when one lands)."""
    found = []
    for module in OPTIONAL_MODULES:
        try:
            __import__(module)
        except ImportError:
            continue
        found.append(module.rsplit(".", 1)[-1])
    return ",".join(found)


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
    )


def ensure_aggregates(data_dir: str | Path | None = None) -> Path:
    """Build the aggregates if they are missing or older than the store; return their path."""
    if not aggregates_are_current(data_dir):
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
        return df[keep]


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
