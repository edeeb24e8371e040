"""Re-keying: the same people under pseudonyms made with a new key, in every snapshot.

A person id is the keyed hash of the person's anchor record ("source/record id",
``workbench.linkage.persons``). Record ids are kept in the store, so with the old key every id can
be traced to its anchor among the stored records, and with the new key given a new id. Both keys
are needed: the old one proves the store is the one it was made for, the new one makes the new ids.
Nothing else in the store depends on the key.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from workbench.linkage.persons import PERSON_NAMESPACE, anchor_names
from workbench.store.history import TEMP_PREFIX, _columns, _tables
from workbench.store.layout import INGESTS, SNAPSHOT_META, SNAPSHOTS, quoted, source_of
from workbench.store.lock import data_dir_lock
from workbench.store.reader import STORE_FILE, StoreNotFound


class RekeyError(Exception):
    """The store cannot be re-keyed with these keys; nothing was changed."""


def _record_ids(con: duckdb.DuckDBPyConnection, record_ids: dict[str, str]) -> pd.DataFrame:
    parts = []
    for table in sorted(_tables(con, "main")):
        source = source_of(table)
        if source and "person_id" in _columns(con, table) and source in record_ids:
            parts.append(con.execute(
                f"select distinct '{source}' as source, cast({quoted(record_ids[source])} as varchar) as record_id "
                f"from {quoted(table)}").df())
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["source", "record_id"])


def rekey_store(data_dir: str | Path, old_key, new_key, *, record_ids: dict[str, str] | None = None,
                wait_seconds: float = 0.0) -> int:
    """Replace every person id in every snapshot by the new key's; returns the number of people.

    ``record_ids`` maps each source to its record id field (default: from the data contracts)."""
    data_dir = Path(data_dir)
    path = data_dir / STORE_FILE
    if not path.exists():
        raise StoreNotFound(f"No store in {data_dir}.")
    if old_key.fingerprint == new_key.fingerprint:
        raise RekeyError("The old and the new key are the same key; nothing to do.")
    if record_ids is None:
        from workbench.contracts import load_contracts

        record_ids = {c.name: c.record_id for c in load_contracts().contracts.values()}
    with data_dir_lock(data_dir, "workbench rekey", wait_seconds):
        tmp = path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}.tmp")
        try:
            shutil.copy2(path, tmp)
            with duckdb.connect(str(tmp)) as con:
                stored = {r[0] for r in con.execute(f"select distinct key_fingerprint from {SNAPSHOTS}").fetchall()}
                if stored != {old_key.fingerprint}:
                    raise RekeyError(
                        f"The old key (fingerprint {old_key.fingerprint}) is not the key this store was built with "
                        f"(fingerprint {', '.join(sorted(stored))}). Nothing was changed.")
                anchors = _record_ids(con, record_ids)
                names = anchor_names(anchors["source"], anchors["record_id"])
                mapping = pd.DataFrame({"old": old_key.pseudonyms(PERSON_NAMESPACE, names),
                                        "new": new_key.pseudonyms(PERSON_NAMESPACE, names)})
                con.register("candidates", mapping)
                con.execute("create temp table mapping as select * from candidates")
                people = 0
                for table in sorted(_tables(con, "main")):
                    if not source_of(table) or "person_id" not in _columns(con, table):
                        continue
                    unmatched = con.execute(
                        f"select count(distinct person_id) from {quoted(table)} where person_id is not null and "
                        "person_id not in (select old from mapping)").fetchall()[0][0]
                    if unmatched:
                        raise RekeyError(f"{unmatched:,} person ids in {source_of(table)} have no anchor record in the "
                                         "store; it cannot be re-keyed. Nothing was changed.")
                    con.execute(f"update {quoted(table)} t set person_id = m.new from mapping m where t.person_id = m.old")
                people = con.execute(" union ".join(
                    f"select person_id from {quoted(t)}" for t in sorted(_tables(con, "main"))
                    if source_of(t) and "person_id" in _columns(con, t)) or "select 1 where false").df()
                con.execute(f"update {SNAPSHOTS} set key_fingerprint = ?, key_origin = ?",
                            [new_key.fingerprint, new_key.origin])
                con.execute(f"update {INGESTS} set key_fingerprint = ?", [new_key.fingerprint])
                latest = con.execute(f"select ingest_id from {SNAPSHOTS} order by seq desc limit 1").fetchall()[0][0]
                con.execute(f"insert into {SNAPSHOT_META} values (?, 'rekeyed_at', ?)",
                            [latest, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")])
                con.execute("checkpoint")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    return int(people["person_id"].notna().sum())
