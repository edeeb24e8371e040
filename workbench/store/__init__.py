"""The embedded analytical store (DuckDB) that notebooks, studies and dashboards read.

The store is one DuckDB file in a data directory outside git. It keeps every ingest as a dated
*snapshot* of the partnership's extracts (``snapshots``), so that any earlier result can be
reproduced with ``Store(data_dir, as_of=...)`` (an ingest id or an extract date); the latest
snapshot is the default. See ``workbench.store.history`` for how the snapshots are kept without a
full copy per quarter, and ``docs/store.md`` for the tables.
"""

from workbench.store.reader import (
    AS_OF_ENV,
    DATA_DIR_ENV,
    STORE_FILE,
    Snapshot,
    SnapshotNotFound,
    Store,
    StoreNotFound,
    default_data_dir,
    owner_only,
)

__all__ = ["AS_OF_ENV", "DATA_DIR_ENV", "STORE_FILE", "Snapshot", "SnapshotNotFound", "Store", "StoreNotFound",
           "default_data_dir", "owner_only"]
