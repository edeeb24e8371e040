"""Deterministic linkage: exact agreement on NI number, or on normalised first name, last name and
date of birth. Precise but misses typos, nicknames and missing dates of birth; it is the fallback
when a frame is too small for a model, and the baseline probabilistic linkage is measured against."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from workbench.linkage.normalise import normalise_name, normalise_ni, normalised_codes

#: The linkage frame's columns these rules read: the ingest gives them only these.
COLUMNS = ("first_name", "last_name", "date_of_birth", "ni_number")


def _components(n: int, pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    a = np.concatenate([p[0] for p in pairs])
    b = np.concatenate([p[1] for p in pairs])
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def _pairs_sharing(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining each record to the first record with the same key (codes; -1 is missing)."""
    present = np.flatnonzero(codes >= 0)
    _, first_of_code, inverse = np.unique(codes[present], return_index=True, return_inverse=True)
    return present, present[first_of_code][inverse]


def _combined(*codes: np.ndarray) -> np.ndarray:
    """One code per distinct combination of the codes; -1 where any is missing. Pairs are folded in
    one at a time (each fold re-numbered densely), so no product overflows 64 bits."""
    key = codes[0].astype(np.int64)
    for nxt in codes[1:]:
        # a missing part gives some value; it is masked after the renumbering
        key = np.where((key < 0) | (nxt < 0), -1, pd.factorize(key * (int(nxt.max(initial=0)) + 1) + nxt)[0])
    return key


def _date_codes(dates: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(dates)
    if getattr(stamps.dt, "tz", None) is not None:  # the local day, as the rules always compared
        stamps = stamps.dt.tz_localize(None)
    return pd.factorize(stamps.to_numpy(dtype="datetime64[D]"), use_na_sentinel=True)[0]  # NaT: -1


#: How each text column of the rules is put in one form before it is compared.
NORMALISERS = {"first_name": normalise_name, "last_name": normalise_name, "ni_number": normalise_ni}


def deterministic_labels(first_name: np.ndarray, last_name: np.ndarray, date_of_birth: np.ndarray,
                         ni_number: np.ndarray) -> np.ndarray:
    """Cluster labels from each record's integer codes (-1 missing): equal codes exactly where the
    normalised names, the days of birth and the normalised NI numbers are equal. The ingest makes
    the codes in its staging database (``Staging.identifier_codes``), so no identifier text is held
    per record at all; :func:`link_deterministic` makes them from a linkage frame."""
    name_dob = _combined(first_name, last_name, date_of_birth)
    return _components(len(name_dob), [_pairs_sharing(ni_number), _pairs_sharing(name_dob)])


def link_deterministic(frame: pd.DataFrame) -> np.ndarray:
    """Cluster labels from exact agreement on NI number or on (first, last, date of birth).

    Keys are integer codes, not strings (a person's name key as text cost about 500 MB at 3.5
    million records, the ingest's peak: issue 16)."""
    return deterministic_labels(date_of_birth=_date_codes(frame["date_of_birth"]),
                                **{c: normalised_codes(frame[c], normalise) for c, normalise in NORMALISERS.items()})
