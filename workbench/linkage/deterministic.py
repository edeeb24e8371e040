"""Deterministic linkage: exact agreement on NI number, or on normalised first name, last name and
date of birth. Precise but misses typos, nicknames and missing dates of birth; it is the fallback
when a frame is too small for a model, and the baseline probabilistic linkage is measured against."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from workbench.linkage.normalise import normalise_name, normalise_ni

#: The linkage frame's columns these rules read: the ingest gives them only these.
COLUMNS = ("first_name", "last_name", "date_of_birth", "ni_number")


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
