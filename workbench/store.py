"""The embedded analytical store (DuckDB) that notebooks, studies and dashboards read.

The store is one DuckDB file in a data directory outside git. It holds, per source, the accepted
records with a pseudonymous ``person_id`` and no direct identifiers; a ``persons`` table; the
provenance of every ingest (``ingests``); the quarantine log (file, row number, column and rule of
each problem, never a value); and ``store_meta`` (extract date, whether the data are synthetic,
linkage method, key fingerprint).

A new ingest writes a complete new store beside the old one and swaps it in with an atomic
rename, so an ingest interrupted part-way leaves the previous store exactly as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

DATA_DIR_ENV = "WORKBENCH_DATA_DIR"
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


class Store:
    """Read access to a built store: ``Store(data_dir).query("select ...")``."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.path = self.data_dir / STORE_FILE
        if not self.path.exists():
            raise StoreNotFound(
                f"No store in {self.data_dir}. Build one with 'workbench ingest FOLDER' "
                "(or 'workbench demo' for the synthetic county)."
            )

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.path), read_only=True)

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    def table(self, name: str) -> pd.DataFrame:
        if name not in self.tables():
            raise KeyError(f"The store has no table {name!r}; it has: {', '.join(self.tables())}.")
        return self.query(f'select * from "{name}"')

    def tables(self) -> list[str]:
        with self.connect() as con:
            return [r[0] for r in con.execute("select table_name from information_schema.tables order by 1").fetchall()]

    def meta(self) -> dict[str, str]:
        return dict(self.query("select key, value from store_meta").itertuples(index=False, name=None))

    def record_meta(self, values: dict[str, object]) -> None:
        """Add or replace entries of ``store_meta`` (one transaction: all or nothing), e.g. the
        linkage error rates measured after ingest."""
        with duckdb.connect(str(self.path)) as con:
            con.execute("begin")
            for key, value in values.items():
                con.execute("delete from store_meta where key = ?", [key])
                con.execute("insert into store_meta values (?, ?)", [key, str(value)])
            con.execute("commit")
