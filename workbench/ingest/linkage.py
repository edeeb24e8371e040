"""Link records of the same person across and within sources, inside ingest, before identifiers are dropped.

The linkage step receives one *linkage frame* for all accepted records of every source: record key,
normalised identifiers and the record's date. It returns a cluster label per record; records with
the same label are taken to be the same person. The pseudonymous ``person_id`` is derived from the
cluster (see :func:`person_ids`), and the identifiers are then dropped.

Methods (settings as data: the ingest's ``linkage`` option):
- ``deterministic``: exact agreement on NI number, or on normalised first name, last name and date
  of birth. Precise but misses typos, nicknames and missing dates of birth; it is the fallback and
  the baseline that probabilistic linkage is measured against.
- ``splink``: probabilistic linkage with splink (``workbench.linkage``): a model estimated from the
  frame itself, with nickname, typo, swapped-date and missing-date-of-birth handling, clustered at a
  match-probability threshold; records without date of birth or NI number are given to a person
  only when unambiguous. The default for new ingests. Frames too small to estimate a model from
  fall back to ``deterministic`` with a warning.
- ``truth``: for the synthetic county only, the generator's true person behind each record, so
  studies can be run with perfect linkage and the effect of linkage error measured.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

LINKAGE_COLUMNS = [
    "source", "record_id", "first_name", "last_name", "date_of_birth", "ni_number",
    "approximate_age", "gender", "district", "event_date", "client_ref",
]
METHODS = ("deterministic", "splink", "truth")
log = logging.getLogger("workbench.linkage")


class LinkageError(Exception):
    """Linkage cannot run with the settings given."""


def _clean_name(v: str) -> object:
    s = unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z]", "", s.lower())
    return s or pd.NA


def normalise_name(names: pd.Series) -> pd.Series:
    """Lower case, accents removed, letters only: 'O'Brien-Smith ' -> 'obriensmith'."""
    # Names repeat a great deal: clean each distinct spelling once.
    codes, uniques = pd.factorize(names.astype("string"), use_na_sentinel=True)
    cleaned = np.array([_clean_name(str(u)) for u in uniques] + [pd.NA], dtype=object)
    return pd.Series(cleaned[codes], index=names.index, dtype="string")


def normalise_ni(values: pd.Series) -> pd.Series:
    return values.astype("string").str.upper().str.replace(r"\s", "", regex=True)


def _components(n: int, pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    if pairs:
        a = np.concatenate([p[0] for p in pairs])
        b = np.concatenate([p[1] for p in pairs])
    else:
        a = b = np.zeros(0, dtype=int)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def _pairs_sharing(key: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining each record to the first record with the same (non-missing) key."""
    codes, _ = pd.factorize(key.reset_index(drop=True), use_na_sentinel=True)
    present = np.flatnonzero(codes >= 0)
    _, first_of_code = np.unique(codes[present], return_index=True)
    return present, present[first_of_code][codes[present]]


def link_deterministic(frame: pd.DataFrame) -> np.ndarray:
    """Cluster labels from exact agreement on NI number or on (first, last, date of birth)."""
    first = normalise_name(frame["first_name"])
    last = normalise_name(frame["last_name"])
    dob = pd.to_datetime(frame["date_of_birth"]).dt.strftime("%Y-%m-%d").astype("string")
    name_dob = (first + "|" + last + "|" + dob).where(first.notna() & last.notna() & dob.notna())
    ni = normalise_ni(frame["ni_number"])
    pairs = [_pairs_sharing(ni), _pairs_sharing(name_dob)]
    return _components(len(frame), pairs)


def link_truth(frame: pd.DataFrame, truth_dir: str | Path) -> np.ndarray:
    """Cluster labels from the synthetic county's truth (``record_persons``)."""
    truth_dir = Path(truth_dir)
    candidates = [truth_dir / "record_persons.parquet", truth_dir / "record_persons.csv"]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        raise LinkageError(f"Truth linkage needs {candidates[0].name} in {truth_dir}; none was found.")
    truth = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
    truth = truth.astype({"source": str, "record_id": str})
    person_col = "person_id" if "person_id" in truth.columns else "true_person_id"
    truth = truth.drop_duplicates(["source", "record_id"])
    merged = frame[["source", "record_id"]].astype(str).merge(
        truth[["source", "record_id", person_col]], on=["source", "record_id"], how="left"
    )
    if merged[person_col].isna().any():
        missing = merged[merged[person_col].isna()].head(3)
        raise LinkageError(
            "Truth linkage: no true person for some records, e.g. "
            + ", ".join(f"{s}/{r}" for s, r in zip(missing.source, missing.record_id, strict=True))
        )
    return pd.factorize(merged[person_col].astype(str))[0]


def link_splink(frame: pd.DataFrame, *, threshold: float | None = None, backend: str = "duckdb",
                profile: str | None = None) -> np.ndarray:
    """Cluster labels from probabilistic linkage (settings: ``workbench/linkage/settings.yaml``,
    with one of its ``profiles`` if named, e.g. ``large_population``)."""
    from workbench.linkage.model import link_frame  # splink is imported only when used
    from workbench.linkage.settings import load_settings

    result = link_frame(frame, load_settings(profile=profile), threshold=threshold, backend=backend)  # type: ignore[arg-type]
    for note in result.notes:
        log.warning("splink linkage: %s", note)
    return result.labels


def link_people(frame: pd.DataFrame, method: str = "deterministic", *, truth_dir: str | Path | None = None,
                profile: str | None = None) -> np.ndarray:
    """Cluster label per row of the linkage frame (``profile``: a splink settings profile)."""
    if method == "deterministic":
        return link_deterministic(frame)
    if method == "splink":
        return link_splink(frame, profile=profile)
    if method == "truth":
        if truth_dir is None:
            raise LinkageError("Truth linkage is only for the synthetic county: no truth folder was found.")
        return link_truth(frame, truth_dir)
    raise LinkageError(f"Unknown linkage method {method!r}; choose one of {', '.join(METHODS)}.")


def person_ids(frame: pd.DataFrame, labels: np.ndarray, key) -> pd.Series:
    """A pseudonymous person id per record, stable while a person's earliest record stays the same.

    The id is the keyed hash of the cluster's earliest record (by date, then source and record id),
    so adding later records for a person in a later quarter does not change their id.
    """
    order = frame.assign(_label=labels).sort_values(["event_date", "source", "record_id"], kind="stable")
    anchor = order.groupby("_label", sort=False)[["source", "record_id"]].first()
    anchor_ids = key.pseudonyms("person", (anchor["source"] + "/" + anchor["record_id"]).tolist())
    mapping = pd.Series(anchor_ids, index=anchor.index)
    return pd.Series(mapping.reindex(labels).to_numpy(), index=frame.index, name="person_id")
