"""Clerical review of the latest ingest's linkage, inside the secure step where identifiers exist.

``workbench linkage-review FOLDER --key-file KEY`` (:func:`draw_review`) re-builds the latest
ingest's linkage frame from its extracts folder (the same validated rows, the same extract date,
the same sources: carried-forward ones were not linked), re-runs the same splink linkage, checks
that it gives exactly the store's people, and draws the stratified review sample
(:mod:`workbench.linkage.review_design`). It writes, in ``<data dir>/linkage_review/<ingest id>/``:

- ``CLERICAL_REVIEW_..._sample.csv``: the pairs side by side with identifiers (owner-only);
- ``design.json``: the strata (sizes, pairs drawn), the model's own estimate, the settings;
- ``decisions.csv``: filled in by the review notebook's widget (``notebooks/linkage_review.ipynb``).

``workbench linkage-review --estimate`` (:func:`estimate_review`) turns the decisions into
precision and recall with intervals (:mod:`workbench.linkage.review_estimate`) and records them
with that ingest's snapshot (``store_meta``: ``linkage_review_*``) for every study to read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.contracts import load_contracts
from workbench.definitions import record_id
from workbench.ingest.pipeline import (
    IngestError,
    extracts_linkage_frame,
    match_files,
    read_manifest,
    sha256_of,
)
from workbench.ingest.pseudonymise import demo_key, load_key
from workbench.linkage.quality import export_clerical_review
from workbench.linkage.review_design import (
    ReviewDesign,
    allocate,
    draw_sample,
    review_population,
    strata_table,
    stratify,
)
from workbench.linkage.review_estimate import (
    estimate_from_review,
    final_decisions,
    model_estimate,
    second_looks,
)
from workbench.linkage.review_files import read_decisions, read_sample, sample_with_identifiers
from workbench.store import Store, owner_only

REVIEW_FOLDER = "linkage_review"
DESIGN_FILE = "design.json"
DECISIONS_FILE = "decisions.csv"
SAMPLE_NAME = "sample.csv"


class ReviewError(IngestError):
    """The review cannot go ahead as asked; the message says why and what to do."""


def review_dir(data_dir: str | Path, ingest_id: str) -> Path:
    return Path(data_dir) / REVIEW_FOLDER / ingest_id


def sample_path(folder: Path) -> Path:
    found = sorted(folder.glob(f"CLERICAL_REVIEW_*_{SAMPLE_NAME}"))
    if not found:
        raise ReviewError(f"No review sample in {folder}: draw one first with 'workbench linkage-review FOLDER'.")
    return found[0]


def _check_extracts(store: Store, folder: Path) -> None:
    """The folder must hold exactly the files the snapshot was ingested from."""
    manifest = read_manifest(folder)
    matched, _ = match_files(folder, load_contracts(), manifest)
    here = sorted(sha256_of(p) for p, _ in matched)
    stored = sorted(store.query("select sha256 from ingests where ingest_id = ?", [store.ingest_id])["sha256"])
    if here != stored:
        raise ReviewError(f"The extracts in {folder} are not the ones ingest {store.ingest_id} stored (their "
                          "contents differ): give the folder that ingest read.")


def linkage_frame_of_ingest(store: Store, folder: Path) -> pd.DataFrame:
    """The linkage frame the ingest built: validated rows at its extract date, less the sources
    it carried forward from an earlier snapshot (their records were not linked this time)."""
    _check_extracts(store, folder)
    meta = store.meta()
    frame = extracts_linkage_frame(folder, dt.date.fromisoformat(meta["extract_date"]))
    carried = {s for s in meta.get("carried_forward", "").split(",") if s}
    return frame[~frame["source"].isin(carried)].reset_index(drop=True)


def _stored_people(store: Store, frame: pd.DataFrame) -> np.ndarray:
    ids = []
    for source in frame["source"].unique():
        t = store.table(source)
        ids.append(pd.Series(t["person_id"].astype(str).to_numpy(), index=t[record_id(source)].astype(str).to_numpy()))
    lookup = {(s, r): p for s, part in zip(frame["source"].unique(), ids, strict=True) for r, p in part.items()}
    return np.array([lookup.get((s, r)) for s, r in zip(frame["source"], frame["record_id"].astype(str), strict=True)])


def same_people(labels: np.ndarray, people: np.ndarray) -> int:
    """Records whose grouping differs between two labellings (0: the same partition)."""
    pairs = pd.DataFrame({"a": labels, "b": people})
    a_to_b = pairs.groupby("a")["b"].transform("nunique")
    b_to_a = pairs.groupby("b")["a"].transform("nunique")
    return int(((a_to_b > 1) | (b_to_a > 1) | pairs["b"].isna()).sum())


@owner_only()
def draw_review(folder: str | Path, data_dir: str | Path | None = None, *, key_file: str | Path | None = None,
                design: ReviewDesign | None = None, redraw: bool = False) -> Path:
    """Draw the review sample for the latest ingest; returns the review folder."""
    from workbench.linkage.model import link_frame
    from workbench.linkage.settings import load_settings

    folder = Path(folder)
    store = Store(data_dir)
    meta = store.meta()
    synthetic = str(meta.get("synthetic", "")).lower() == "true"
    key = (demo_key(store.data_dir) if synthetic and not key_file and not os.environ.get("WORKBENCH_PSEUDONYMISATION_KEY")
           else load_key(key_file))
    if key.fingerprint != meta.get("key_fingerprint"):
        raise ReviewError(f"This key (fingerprint {key.fingerprint}) is not the store's key: only the holder of "
                          "the key the extracts were ingested with may review their linkage.")
    if meta.get("linkage") != "splink":
        raise ReviewError(f"Ingest {store.ingest_id} was linked with {meta.get('linkage')!r}, not splink: there are "
                          "no match probabilities to draw a review sample from.")
    out = review_dir(store.data_dir, store.ingest_id)
    if out.exists() and (out / DECISIONS_FILE).exists() and not redraw:
        raise ReviewError(f"A review of ingest {store.ingest_id} is under way in {out}; a new sample would orphan its "
                          "decisions. Give --redraw to start again (the decisions are kept, renamed).")
    design = design or ReviewDesign()
    frame = linkage_frame_of_ingest(store, folder)
    profile = meta.get("linkage_profile") or None
    result = link_frame(frame, load_settings(profile=profile))
    differ = same_people(result.labels, _stored_people(store, frame))
    if differ:
        raise ReviewError(f"Re-running the linkage did not give the store's people ({differ:,} records grouped "
                          "differently): the review would judge another linkage. Was the store linked with other "
                          "settings or another version of the workbench?")
    population = review_population(result, frame)
    strata = stratify(population, design, result.settings.threshold)
    table = strata_table(population, strata, design)
    table["sampled"] = allocate(table, design)
    population["stratum"] = strata.to_numpy()
    sample = draw_sample(population, strata, table, design)
    shown = sample_with_identifiers(sample, frame, result.model)

    out.mkdir(parents=True, exist_ok=True)
    if (out / DECISIONS_FILE).exists():
        (out / DECISIONS_FILE).rename(out / f"decisions-before-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.csv")
    for old in out.glob(f"CLERICAL_REVIEW_*_{SAMPLE_NAME}"):
        old.unlink()
    export_clerical_review(shown, out / SAMPLE_NAME, store.data_dir, synthetic=synthetic)
    record = {
        "ingest_id": store.ingest_id, "drawn_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "threshold": result.settings.threshold, "prediction_floor": result.settings.prediction_floor,
        "linkage_profile": profile or "", "design": dataclasses.asdict(design),
        "population": {"pairs": len(population), "scored": int(population["scored"].sum()),
                       "linked": int(population["linked"].sum()), "critical": int(population["critical"].sum())},
        "strata": table.drop(columns=["spread"]).to_dict(orient="records"),
        "model_estimate": model_estimate(population),
    }
    (out / DESIGN_FILE).write_text(json.dumps(record, indent=1, default=float), encoding="utf-8")
    return out


def reviewed_pairs(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The sample with each pair's final decision (empty if not yet reviewed), the decisions, the design."""
    design = json.loads((folder / DESIGN_FILE).read_text(encoding="utf-8"))
    sample = read_sample(sample_path(folder))
    decisions = read_decisions(folder / DECISIONS_FILE)
    unknown = set(decisions["pair_key"]) - set(sample["pair_key"])
    if unknown:
        raise ReviewError(f"{folder / DECISIONS_FILE}: {len(unknown)} decision(s) for pairs not in the sample, e.g. "
                          f"{sorted(unknown)[0]} (column pair_key): were they made on another sample?")
    sample["decision"] = sample["pair_key"].map(final_decisions(decisions)).fillna("")
    return sample, decisions, design


def estimate_review(data_dir: str | Path | None = None, *, ingest_id: str | None = None,
                    record: bool = True) -> dict[str, object]:
    """Precision and recall from the decisions so far, beside the model's; recorded with the
    snapshot the sample was drawn from. Returns the values recorded."""
    store = Store(data_dir, as_of=ingest_id) if ingest_id else Store(data_dir)
    folder = review_dir(store.data_dir, store.ingest_id)
    if not (folder / DESIGN_FILE).exists():
        raise ReviewError(f"No review sample for ingest {store.ingest_id}: draw one first with "
                          "'workbench linkage-review FOLDER --key-file KEY'.")
    sample, decisions, design = reviewed_pairs(folder)
    strata = pd.DataFrame(design["strata"])
    done = sample[sample["decision"] != ""]
    if done.empty:
        raise ReviewError(f"No decisions yet in {folder / DECISIONS_FILE}: review some pairs first (notebook "
                          "notebooks/linkage_review.ipynb).")
    est = estimate_from_review(strata, done)
    model = design["model_estimate"]
    values: dict[str, object] = {"linkage_review_pairs": len(done), "linkage_review_sampled": len(sample),
                                 "linkage_review_unsure": int((done["decision"] == "unsure").sum()),
                                 "linkage_review_second_looks_pending": len(second_looks(sample, decisions)),
                                 "linkage_review_drawn_at": design["drawn_at"],
                                 "linkage_review_scope": "pairs scored by the model (probability at least "
                                 f"{design['prediction_floor']:g}) or linked in one person; pairs blocking never "
                                 "compared are out of reach"}
    for name, interval in est.items():
        key = f"linkage_review_{name}"
        values[key] = round(interval.estimate, 4)
        values[key + "_lower"] = round(interval.lower, 4)
        values[key + "_upper"] = round(interval.upper, 4)
        values[f"linkage_model_{name}"] = round(float(model[name]), 4)
    if record:
        store.record_meta(values)
    return values


def summary(values: dict[str, object]) -> str:
    """The estimates in plain words."""
    lines = [f"Clerical review: {values['linkage_review_pairs']} of {values['linkage_review_sampled']} sampled pairs "
             f"decided ({values['linkage_review_unsure']} unsure; {values['linkage_review_second_looks_pending']} "
             "second looks pending)."]
    for scope, prefix in (("all links", ""), ("critical links (arrivals to earlier presentations)", "critical_")):
        lines.append(f"  {scope}:")
        for name in ("precision", "recall"):
            k = f"linkage_review_{prefix}{name}"
            lines.append(f"    {name:9} {values[k]:.3f} (95% CI {values[k + '_lower']:.3f} to {values[k + '_upper']:.3f}); "
                         f"the model's own probabilities say {values[f'linkage_model_{prefix}{name}']:.3f}")
    lines.append(f"  Scope: {values['linkage_review_scope']}.")
    return "\n".join(lines)
