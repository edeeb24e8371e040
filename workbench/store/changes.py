"""What changed between two snapshots, record by record.

For each source (and district, where the source records one), records are:

* **added**: a record id the earlier snapshot did not hold;
* **revised**: the same record id with different values (a duty end recorded late, a corrected
  date); ``columns`` counts which fields changed;
* **relinked**: the same record with the same values but another person id (linkage placed it
  with a different person this quarter);
* **vanished**: a record id the earlier snapshot held and the later one does not.
"""

from __future__ import annotations

import pandas as pd

from workbench.store.layout import (
    FROM,
    LOCATION_COLUMNS,
    POS,
    TO,
    VERSION_COLUMNS,
    history_table,
    quoted,
)
from workbench.store.reader import Store


def _open_at(seq: int) -> str:
    return f"{FROM} <= {seq} and ({TO} is null or {TO} > {seq})"


def record_changes(before: Store, after: Store, record_ids: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts per source and district, and counts of revised fields per source and column.

    ``before`` and ``after`` are the same store read at two snapshots; ``record_ids`` maps each
    source to its record id field."""
    if before.path != after.path:
        raise ValueError("Both snapshots must come from the same store.")
    a, b = before.snapshot.seq, after.snapshot.seq
    rows, fields = [], []
    with after.connect() as con:
        for source in after.sources():
            table = f"h.{quoted(history_table(source))}"
            columns = [c for c in after._columns[history_table(source)] if c not in VERSION_COLUMNS]
            content = [c for c in columns if c not in LOCATION_COLUMNS]
            values = [c for c in content if c != "person_id"]
            rid = quoted(record_ids[source])
            district = "district" if "district" in columns else None
            pick = ", ".join(f"{quoted(c)}" for c in content)
            con.execute(f"create or replace temp table va as select {pick}, {FROM} f, {POS} p from {table} where {_open_at(a)}")
            con.execute(f"create or replace temp table vb as select {pick}, {FROM} f, {POS} p from {table} where {_open_at(b)}")
            differs = " or ".join(f"va.{quoted(c)} is distinct from vb.{quoted(c)}" for c in values) or "false"
            place = f"coalesce(vb.{district}, va.{district})" if district else "null"
            frame = con.execute(f"""
                select '{source}' as source, {place} as district,
                  count(*) filter (where va.{rid} is null) as added,
                  count(*) filter (where va.{rid} is not null and vb.{rid} is not null and ({differs})) as revised,
                  count(*) filter (where va.{rid} is not null and vb.{rid} is not null and not ({differs})
                                   and va.person_id is distinct from vb.person_id) as relinked,
                  count(*) filter (where vb.{rid} is null) as vanished,
                  count(*) filter (where va.{rid} is not null and vb.{rid} is not null and not ({differs})
                                   and va.person_id is not distinct from vb.person_id) as unchanged
                from va full join vb on va.{rid} = vb.{rid}
                group by all order by all""").df() if "person_id" in content else pd.DataFrame()
            rows.append(frame)
            for c in values:
                n = con.execute(f"select count(*) from va join vb on va.{rid} = vb.{rid} "
                                f"where va.{quoted(c)} is distinct from vb.{quoted(c)}").fetchall()[0][0]
                if n:
                    fields.append({"source": source, "column": c, "records_revised": int(n)})
    counts = pd.concat([r for r in rows if len(r)], ignore_index=True) if any(len(r) for r in rows) else pd.DataFrame(
        columns=["source", "district", "added", "revised", "relinked", "vanished", "unchanged"])
    for c in ("added", "revised", "relinked", "vanished", "unchanged"):
        counts[c] = counts[c].astype("int64")
    return counts, pd.DataFrame(fields, columns=["source", "column", "records_revised"])
