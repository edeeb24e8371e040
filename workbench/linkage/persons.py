"""From records to people: the linkage frame, the choice of linkage, and pseudonymous person ids.

The ingest builds one *linkage frame* (:data:`LINKAGE_COLUMNS`) for all accepted records of every
source: record key, identifiers and the record's date. A linkage returns a cluster label per record;
records with the same label are taken to be the same person. The pseudonymous ``person_id`` is
derived from the cluster (:func:`person_ids`), and the identifiers are then dropped.

The linkage is settings as data (the ingest's ``linkage`` option), either a method name:

- ``deterministic``: exact agreement on NI number, or on normalised first name, last name and date
  of birth (:mod:`workbench.linkage.deterministic`); the fallback and the baseline.
- ``splink``: probabilistic linkage (:mod:`workbench.linkage.model`): a model estimated from the
  frame itself, with nickname, typo, swapped-date and missing-date-of-birth handling, clustered at a
  match-probability threshold. The default for new ingests. Frames too small to estimate a model
  from fall back to ``deterministic`` with a warning.

or a :class:`Linker` object given by the caller, scikit-learn style: anything with a ``name`` (kept
in the store's provenance) and ``link(frame) -> labels``. The synthetic county's true linkage is one
(``TruthLinker`` in the synthetic county's evaluation module), so studies can be run with perfect
linkage and the effect of linkage error measured, without the ingest knowing about the synthetic truth.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from workbench.linkage.deterministic import COLUMNS as DETERMINISTIC_COLUMNS
from workbench.linkage.deterministic import link_deterministic

LINKAGE_COLUMNS = [
    "source", "record_id", "first_name", "last_name", "date_of_birth", "ni_number",
    "approximate_age", "gender", "district", "event_date", "client_ref",
]
METHODS = ("deterministic", "splink")
log = logging.getLogger("workbench.linkage")


class LinkageError(Exception):
    """Linkage cannot run with the settings given."""


@runtime_checkable
class Linker(Protocol):
    """A linkage given as an object: its name for the provenance, and one cluster label per row."""

    name: str

    def link(self, frame: pd.DataFrame) -> np.ndarray: ...


def input_columns(linkage: str | Linker) -> list[str]:
    """The linkage frame's columns a linkage reads (with its alternatives): the deterministic rules
    read four; splink and a linker object, every one."""
    return list(DETERMINISTIC_COLUMNS) if linkage == "deterministic" else list(LINKAGE_COLUMNS)


def linkage_name(linkage: str | Linker) -> str:
    """What the store's provenance records for a linkage: the method name or the linker's name."""
    return linkage if isinstance(linkage, str) else linkage.name


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


def alternative_name(threshold: float) -> str:
    return f"splink at {threshold:g}"


def link_people_with_alternatives(frame: pd.DataFrame, linkage: str | Linker = "deterministic", *,
                                  profile: str | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The linkage's cluster labels, and the alternatives every study's linkage sensitivity uses:
    the same scored pairs clustered at the settings' ``sensitivity_thresholds`` (splink), and the
    deterministic rules (for any other method). Names of alternatives are plain words."""
    alternatives: dict[str, np.ndarray] = {}
    if linkage == "splink":
        from workbench.linkage.model import link_frame
        from workbench.linkage.settings import load_settings

        settings = load_settings(profile=profile)
        result = link_frame(frame, settings)
        for note in result.notes:
            log.warning("splink linkage: %s", note)
        labels = result.labels
        if not result.backend.startswith("deterministic"):  # too few records: no model to re-threshold
            for t in settings.sensitivity_thresholds:
                alternatives[alternative_name(t)] = result.labels_at(t)
    else:
        labels = link_people(frame, linkage, profile=profile)
    if linkage != "deterministic" and len(frame):
        alternatives["deterministic rules"] = link_deterministic(frame)
    return labels, alternatives


def link_people(frame: pd.DataFrame, linkage: str | Linker = "deterministic", *,
                profile: str | None = None) -> np.ndarray:
    """Cluster label per row of the linkage frame (``profile``: a splink settings profile)."""
    if not isinstance(linkage, str):
        return np.asarray(linkage.link(frame))
    if linkage == "deterministic":
        return link_deterministic(frame)
    if linkage == "splink":
        return link_splink(frame, profile=profile)
    if linkage == "truth":
        raise LinkageError("Truth linkage is only for the synthetic county: no truth folder was found "
                           "(give the county's truth linker, TruthLinker, instead of the name).")
    # "truth" is named too: the command line offers it (for the synthetic county, as a linker).
    raise LinkageError(f"Unknown linkage method {linkage!r}; choose one of {', '.join((*METHODS, 'truth'))}.")


#: The keyed hash behind a person id: of the namespace and the anchor record's "source/record id".
PERSON_NAMESPACE = "person"


def anchor_names(sources: pd.Series, record_ids: pd.Series) -> list[str]:
    return (sources.astype(str) + "/" + record_ids.astype(str)).tolist()


def person_ids(frame: pd.DataFrame, labels: np.ndarray, key) -> pd.Series:
    """A pseudonymous person id per record, stable while a person's earliest record stays the same.

    The id is the keyed hash of the cluster's earliest record (by date, then source and record id),
    so adding later records for a person in a later quarter does not change their id.
    """
    order = frame.assign(_label=labels).sort_values(["event_date", "source", "record_id"], kind="stable")
    anchor = order.groupby("_label", sort=False)[["source", "record_id"]].first()
    anchor_ids = key.pseudonyms(PERSON_NAMESPACE, anchor_names(anchor["source"], anchor["record_id"]))
    mapping = pd.Series(anchor_ids, index=anchor.index)
    return pd.Series(mapping.reindex(labels).to_numpy(), index=frame.index, name="person_id")
