"""Cell keys of the aggregates' rows, for the cell key method on the dashboards (issue 20 item 3).

The method (:mod:`workbench.reporting.cell_key`) wants a fixed random key per counted record and a
cell's key the sum of its records' keys. The aggregates hold counts, not records (the dashboards
never see a record), so each row of an aggregate table gets the key its records would have as a
group: a keyed hash of the row's *definition* (table, count column, and the values of its
dimensions: district, month, category...). A figure a page shows sums rows, and its cell key is the
fractional part of the sum of its non-empty rows' keys, so:

* the same figure (the same rows) has the same key on every page, at every filter setting and in
  every quarter's rebuild (a row's definition does not change when its count does): asking again
  gains nothing, and publications of the same quarter a year apart show the same value if the
  count has not changed;
* unlike record keys, the same people counted in two different aggregate tables (e.g. supported
  housing starts and the pathway moves into supported housing) get two different keys: two noisy
  looks at one count (the assumptions log says so).

The secret is random, made on the first build and kept beside the store (owner-only): without it
nobody can work out a row's key, and so the perturbation. Replacing it re-draws every perturbation
(every published figure would change, and old and new figures together average the noise): keep it.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import pandas as pd

from workbench.reporting.cell_key import record_keys

SECRET_FILE = "cell_keys.secret"
#: Count columns a page sums (each gets ``key_<column>``). Every other column of a count table is
#: a dimension (flags such as ``success`` and ``ok`` included: rows are split by them).
COUNT_COLUMNS: tuple[str, ...] = ("n",)
#: Tables that are not counts of records by dimensions (model outputs, one-row headlines):
#: their figures are protected by other rules (summaries, suppression), not by cell keys.
UNKEYED: frozenset[str] = frozenset({"new_arrivals_headline", "case_mix_expected", "dq_at_extract", "duty_drivers"})


def key_column(count_column: str) -> str:
    return f"key_{count_column}"


def cell_key_secret(data_dir: str | Path) -> bytes:
    """The secret of the cell keys of this store's aggregates: read, or made (32 random bytes,
    owner-only) on the first call."""
    path = Path(data_dir) / SECRET_FILE
    if not path.exists():
        # written whole under another name, then linked into place: two processes building at
        # once both end up reading the one secret that got there first, never a half-written one
        fd, tmp = tempfile.mkstemp(prefix=".cell_keys.", suffix=".tmp", dir=path.parent)  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(32))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            Path(tmp).unlink(missing_ok=True)
    secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
    if len(secret) < 16:
        raise ValueError(f"{path} does not hold a cell key secret (at least 16 bytes, in hex)")
    return secret


def with_cell_keys(name: str, frame: pd.DataFrame, secret: bytes) -> pd.DataFrame:
    """``frame`` with a key column per count column (uniform on [0, 1), a keyed hash of the table,
    the column and the row's dimension values)."""
    counts = [c for c in COUNT_COLUMNS if c in frame]
    if name in UNKEYED or not counts or not len(frame):
        return frame
    dims = [c for c in frame.columns if c not in COUNT_COLUMNS and not c.startswith("key_")]
    as_text = frame[dims].astype(str)
    definition = as_text.apply(lambda row: "\x1f".join(row), axis=1) if dims else pd.Series("", index=frame.index)
    out = frame.copy()
    for column in counts:
        out[key_column(column)] = record_keys(definition.tolist(), secret, namespace=f"{name}\x1f{column}")
    return out
