"""Everything that reads the synthetic county's truth: linkage and studies measured against it.

The generator (the rest of :mod:`workbench.synthetic`) writes ``truth/`` beside ``extracts/``; this
module, at the top of the layers beside the demo and the command line, is the only code that reads
it back to judge the workbench:

- **the true linkage**: :class:`TruthLinker` (give it to ``ingest_folder(..., linkage=...)`` to
  ingest with perfect linkage), :func:`link_truth`, :func:`true_person_ids`, :func:`county_frame`;
- **linkage quality** on the county: :func:`quality_report` (``workbench linkage-quality``);
- **sensitivity** of a study's headline to linkage error: :func:`compare_linkage`;
- **the new arrivals study's linkage errors**: :func:`arrival_linkage_errors`,
  :func:`presented_share_headline`, :func:`relinked`, and :func:`record_measured_linkage_rates`
  (the demo records them with the store for the study's bounds);
- **the arrival review** (the new arrivals study's correction for linkage error) with a simulated
  reviewer: :func:`true_arrivals`, :func:`simulated_arrival_review`,
  :func:`record_simulated_arrival_review` (the demo records one with the store);
- **clerical review** with a simulated reviewer who answers from the truth with a stated error
  rate: :func:`simulated_review`, :func:`true_record_persons`, and the true values on a review's
  population, :func:`review_truth`.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.cohorts import rough_sleeping as rs
from workbench.definitions import record_id
from workbench.ingest.pipeline import extracts_linkage_frame
from workbench.linkage.deterministic import link_deterministic
from workbench.linkage.model import LinkageResult, link_frame
from workbench.linkage.persons import LinkageError
from workbench.linkage.quality import (
    LinkageQuality,
    clerical_sample,
    export_clerical_review,
    linkage_quality,
    plot_pr_curve,
    pr_curve,
)
from workbench.store import Store
from workbench.studies.new_arrivals.study import SOURCES as NEW_ARRIVALS_SOURCES
from workbench.studies.new_arrivals.study import default_period
from workbench.synthetic.generator import DEFAULT_SEED, generate_county

TRUTH_FOLDER = "truth"
RECORD_PERSONS = "record_persons"


# ------------------------------------------------------------------------------ the true linkage
def link_truth(frame: pd.DataFrame, truth_dir: str | Path) -> np.ndarray:
    """Cluster labels from the synthetic county's truth (``record_persons``)."""
    truth_dir = Path(truth_dir)
    candidates = [truth_dir / f"{RECORD_PERSONS}.parquet", truth_dir / f"{RECORD_PERSONS}.csv"]
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


@dataclass(frozen=True)
class TruthLinker:
    """The synthetic county's true person behind each record, as a linker for the ingest: studies
    run on a store ingested with it have perfect linkage (recorded as ``truth`` in its provenance)."""

    truth_dir: Path
    name: str = field(default="truth", init=False)

    def link(self, frame: pd.DataFrame) -> np.ndarray:
        return link_truth(frame, self.truth_dir)


def truth_linker(extracts_dir: str | Path, truth_dir: str | Path | None = None) -> TruthLinker:
    """The truth linker of a county's extracts (its truth folder sits beside them unless given)."""
    return TruthLinker(Path(truth_dir) if truth_dir else Path(extracts_dir).parent / TRUTH_FOLDER)


def true_person_ids(truth_dir: str | Path) -> pd.Series:
    """The synthetic truth's person per record, indexed by (source, record_id)."""
    truth = pd.read_parquet(Path(truth_dir) / f"{RECORD_PERSONS}.parquet", columns=["source", "record_id", "person_id"])
    return truth.astype(str).drop_duplicates(["source", "record_id"]).set_index(["source", "record_id"])["person_id"]


def county_frame(county_dir: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Linkage frame of a generated county (``<county>/extracts``) and its true cluster labels."""
    county = Path(county_dir)
    frame = extracts_linkage_frame(county / "extracts")
    return frame, link_truth(frame, county / TRUTH_FOLDER)


# ------------------------------------------------------------------ linkage quality on the county
OUTPUT_FOLDER = "linkage_quality"


def _county(out_dir: Path, seed: int) -> Path:
    """The county in ``out_dir``: reused if already generated there, else generated."""
    if (out_dir / "extracts" / "extract.yaml").exists() and (out_dir / TRUTH_FOLDER).is_dir():
        return out_dir
    generate_county(out_dir, seed=seed, progress=False)
    return out_dir


_CACHE: dict[tuple, tuple] = {}


def link_county(county_dir: str | Path, threshold: float | None = None) -> tuple[pd.DataFrame, np.ndarray, LinkageResult]:
    """Linkage frame, true labels and splink result for a generated county.

    The last result is kept for the life of the process (one entry), so a report run straight
    after a test or notebook on the same county and threshold does not link it twice.
    """
    county = Path(county_dir).resolve()
    manifest = county / "extracts" / "extract.yaml"
    key = (str(county), manifest.stat().st_mtime_ns if manifest.exists() else None, threshold)
    if key not in _CACHE:
        _CACHE.clear()
        frame, truth = county_frame(county)
        _CACHE[key] = (frame, np.asarray(truth), link_frame(frame, threshold=threshold))
    return _CACHE[key]


def _quality_lines(q: LinkageQuality) -> list[str]:
    return [
        f"  pairwise   precision {q.pairwise_precision:.4f}  recall {q.pairwise_recall:.4f}  F1 {q.pairwise_f1:.4f}"
        f"   ({q.correct_pairs:,} of {q.predicted_pairs:,} linked pairs correct; {q.true_pairs:,} true pairs)",
        f"  B-cubed    precision {q.bcubed_precision:.4f}  recall {q.bcubed_recall:.4f}  F1 {q.bcubed_f1:.4f}",
        f"  people     {q.predicted_persons:,} found for {q.true_persons:,} true; exactly recovered "
        f"{q.persons_exactly_recovered:.1%}, split {q.persons_split:.1%}, merged with someone {q.persons_merged:.1%}",
    ]


def quality_report(seed: int | None = None, threshold: float | None = None, out_dir: str | Path | None = None) -> str:
    """Link the synthetic county and measure the result against its truth; return the report text.

    The county is generated into ``out_dir`` (or a temporary folder) unless already there. With
    ``out_dir`` the PR curve (CSV and PNG), the pairs the model is unsure about (clerical review
    sample, labelled, synthetic data only) and the report are written to ``<out_dir>/linkage_quality``.
    """
    seed = DEFAULT_SEED if seed is None else seed
    with tempfile.TemporaryDirectory(prefix="workbench-linkage-") as tmp:
        root = Path(out_dir) if out_dir is not None else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        county = _county(root, seed)
        frame, truth, result = link_county(county, threshold)
        wall_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        baseline = link_deterministic(frame)
        det_s = time.perf_counter() - t0
        q = linkage_quality(truth, result.labels)
        qd = linkage_quality(truth, baseline)
        curve = pr_curve(result, truth)

        th = result.settings.threshold
        lines = [
            f"Person linkage on the synthetic county (seed {seed}): {len(frame):,} records, "
            f"{q.true_persons:,} true people.",
            f"splink ({result.backend}), match-probability threshold {th:g}:",
            *_quality_lines(q),
            f"  time       {result.total_seconds:.1f} s (" + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
            + f"); {len(result.pairs):,} pairs scored above {result.settings.prediction_floor:g}",
            "deterministic baseline (exact NI number, or exact first name + last name + date of birth):",
            *_quality_lines(qd),
            f"  time       {det_s:.1f} s",
            "precision-recall over thresholds (pairwise; B-cubed F1):",
            "  threshold  precision  recall    F1      B3-F1   people",
        ]
        for r in curve.itertuples():
            mark = "  <- chosen" if np.isclose(r.threshold, th) else ""
            lines.append(f"  {r.threshold:<9g}  {r.precision:.4f}     {r.recall:.4f}    {r.f1:.4f}  {r.bcubed_f1:.4f}  "
                         f"{r.persons:,}{mark}")
        best = curve.loc[curve["f1"].idxmax()]
        lines.append(f"  best pairwise F1 {best.f1:.4f} at threshold {best.threshold:g}.")
        for note in result.notes:
            lines.append(f"note: {note}")
        lines.append(f"(generating or reading the county, validating its extracts and linking took {wall_s:.1f} s)")

        if out_dir is not None:
            dest = root / OUTPUT_FOLDER
            dest.mkdir(exist_ok=True)
            curve.to_csv(dest / "pr_curve.csv", index=False)
            plot_pr_curve(curve, dest / "pr_curve.png", chosen=th)
            sample = clerical_sample(result, frame)
            review = export_clerical_review(sample, dest / "uncertain_pairs.csv", root, synthetic=True)
            pd.DataFrame([q.as_dict()]).to_csv(dest / "quality.csv", index=False)
            lines.append(f"Written to {dest}: pr_curve.csv, pr_curve.png, quality.csv, {review.name} "
                         f"({len(sample)} uncertain pairs for clerical review).")
        text = "\n".join(lines)
        if out_dir is not None:
            (root / OUTPUT_FOLDER / "report.txt").write_text(text + "\n", encoding="utf-8")
    print(text)
    return text


# ------------------------------------------------------------ a headline under true and estimated
@dataclass(frozen=True)
class LinkageSensitivity:
    true_value: float
    estimated_value: float
    quality: LinkageQuality  # of the estimated linkage against the truth
    method: str = "splink"

    @property
    def difference(self) -> float:
        """Estimated minus true: how far linkage error moves the figure."""
        return self.estimated_value - self.true_value

    @property
    def relative_difference(self) -> float:
        return self.difference / self.true_value if self.true_value else float("nan")

    def summary(self, name: str = "headline") -> str:
        return (f"{name}: {self.true_value:.4g} with the true linkage, {self.estimated_value:.4g} with "
                f"{self.method} linkage (difference {self.difference:+.4g}, {self.relative_difference:+.1%}); "
                f"linkage pairwise precision {self.quality.pairwise_precision:.3f}, "
                f"recall {self.quality.pairwise_recall:.3f}.")


def person_series(frame: pd.DataFrame, labels: np.ndarray, prefix: str = "p") -> pd.Series:
    """Person id per record, indexed by (source, record_id)."""
    index = pd.MultiIndex.from_arrays([frame["source"].astype(str).to_numpy(),
                                       frame["record_id"].astype(str).to_numpy()], names=["source", "record_id"])
    return pd.Series([f"{prefix}{int(v)}" for v in labels], index=index, name="person_id")


def compare_linkage(
    frame_or_county: pd.DataFrame | str | Path,
    headline: Callable[[pd.Series], float],
    *,
    truth_dir: str | Path | None = None,
    true_labels: np.ndarray | None = None,
    estimated_labels: np.ndarray | None = None,
    method: str = "splink",
    threshold: float | None = None,
) -> LinkageSensitivity:
    """How much does linkage error move a study's result? The headline figure under the true and
    the estimated linkage.

        def share_of_outreach_people_with_a_statutory_case(person_ids):
            source = person_ids.index.get_level_values("source")
            outreach = set(person_ids[source == "outreach_contacts"])
            return len(outreach & set(person_ids[source == "statutory_cases"])) / len(outreach)

        result = compare_linkage(county_dir, share_of_outreach_people_with_a_statutory_case)
        result.true_value, result.estimated_value, result.difference

    The headline function receives one person id per record, indexed by (source, record_id), so it
    can count people per source, follow a person across sources, or join to the extracts' other
    columns. ``frame_or_county`` is a generated county's folder (with ``extracts/`` and ``truth/``)
    or a linkage frame; with a frame give ``truth_dir`` or ``true_labels``. ``estimated_labels``
    skips rerunning the linkage when it has already been run on the same frame.
    """
    if isinstance(frame_or_county, str | Path):
        frame, true_labels = county_frame(frame_or_county)
    else:
        frame = frame_or_county.reset_index(drop=True)
        if true_labels is None:
            if truth_dir is None:
                raise ValueError("With a linkage frame, give truth_dir or true_labels.")
            true_labels = link_truth(frame, truth_dir)
    true_labels = np.asarray(true_labels)
    if estimated_labels is None:
        if method == "splink":
            estimated_labels = link_frame(frame, threshold=threshold).labels
        elif method == "deterministic":
            estimated_labels = link_deterministic(frame)
        else:
            raise ValueError(f"Unknown linkage method {method!r}: splink or deterministic.")
    estimated_labels = np.asarray(estimated_labels)
    if len(true_labels) != len(frame) or len(estimated_labels) != len(frame):
        raise ValueError("Labels must have one entry per row of the linkage frame.")
    return LinkageSensitivity(
        true_value=float(headline(person_series(frame, true_labels, "t"))),
        estimated_value=float(headline(person_series(frame, estimated_labels, "e"))),
        quality=linkage_quality(true_labels, estimated_labels),
        method=method,
    )


# ------------------------------------------------------------- the new arrivals study's linkage
def relinked(tables: dict[str, pd.DataFrame], person_ids: pd.Series) -> dict[str, pd.DataFrame]:
    """``tables`` with ``person_id`` replaced by another linkage's: one id per (source, record_id)."""
    out = {}
    for source, frame in tables.items():
        if source not in NEW_ARRIVALS_SOURCES or frame is None or not len(frame):
            out[source] = frame
            continue
        ids = person_ids[person_ids.index.get_level_values(0) == source].droplevel(0)
        ids = ids[~ids.index.duplicated()]
        out[source] = frame.assign(person_id=frame[record_id(source)].astype(str).map(ids))
    return out


def presented_share_headline(
    tables: dict[str, pd.DataFrame],
    *,
    period_start: dt.date,
    period_end: dt.date,
    lookback_months: int | None = None,
) -> Callable[[pd.Series], float]:
    """The headline (share of new arrivals who had presented, over those with the whole contact
    lookback) as a function of a linkage, for :func:`compare_linkage`.

    The function takes one person id per record, indexed by (source, record_id), re-links
    ``tables`` (any store's tables of the same extracts) with it, and recomputes the arrivals, their
    earlier contacts and the share; unlike the study's linkage bounds this also shows how linkage
    error changes who counts as a new arrival.
    """
    def headline(person_ids: pd.Series) -> float:
        t = relinked(tables, person_ids)
        arrivals = rs.new_arrivals(t["outreach_contacts"], period_start=period_start, period_end=period_end,
                                   lookback_months=lookback_months)
        paths = rs.arrival_paths(arrivals, rs.earlier_contacts(arrivals, t))
        complete = paths[paths["contact_history_complete"]]
        return float(complete["presented"].mean()) if len(complete) else math.nan

    return headline


def arrival_linkage_errors(
    tables: dict[str, pd.DataFrame],
    estimated_ids: pd.Series,
    true_ids: pd.Series,
    *,
    period_start: dt.date,
    period_end: dt.date,
    lookback_months: int | None = None,
) -> dict[str, float]:
    """How a linkage changes who counts as a new arrival, and which earlier contacts each arrival
    has, measured where the truth is known.

    Both id series give one person id per (source, record_id). An arrival under the estimated
    linkage is *spurious* when the true person of its arrival contact has no true arrival that day
    (a fragment of someone seen before: a missed link between their outreach records); a true
    arrival is *hidden* when no estimated arrival falls on that day for that person (merged into
    someone seen earlier: a false link). For arrivals found by both, ``arrival_link_precision`` and
    ``arrival_link_recall`` compare the presenting records linked to each arrival with the true
    ones: the error rates of the very links the headline counts, which can be worse than the
    linkage's overall rates (an arrival's first contact is often a thin one). Returns the shares
    and rates for the study's linkage bounds (:mod:`workbench.statistics.linkage_bounds`).
    """
    truth_of = true_ids[true_ids.index.get_level_values(0) == "outreach_contacts"].droplevel(0)
    truth_of = truth_of[~truth_of.index.duplicated()]

    def arrivals_and_presenting(ids: pd.Series) -> tuple[pd.DataFrame, set]:
        t = relinked(tables, ids)
        arr = rs.new_arrivals(t["outreach_contacts"], period_start=period_start, period_end=period_end,
                              lookback_months=lookback_months)
        # Key each arrival by its true person and date, so the two linkages' arrivals line up.
        arr = arr.assign(key_person=arr["arrival_contact_id"].astype(str).map(truth_of).to_numpy())
        contacts = rs.earlier_contacts(arr, t)
        contacts = contacts[contacts["presenting"]].merge(
            arr[["person_id", "arrival_date", "key_person"]], on=["person_id", "arrival_date"])
        links = set(zip(contacts["key_person"], contacts["arrival_date"], contacts["source"],
                        contacts["record_id"].astype(str), strict=True))
        return arr, links

    true_arr, true_links = arrivals_and_presenting(true_ids)
    est_arr, est_links = arrivals_and_presenting(estimated_ids)
    true_keys = set(zip(true_arr["key_person"], true_arr["arrival_date"], strict=True))
    est_keys = set(zip(est_arr["key_person"], est_arr["arrival_date"], strict=True))
    spurious = int(sum(1 for k in zip(est_arr["key_person"], est_arr["arrival_date"], strict=True) if k not in true_keys))
    hidden = len(true_keys - est_keys)
    both = true_keys & est_keys
    t_links = {x for x in true_links if x[:2] in both}
    e_links = {x for x in est_links if x[:2] in both}
    right = len(t_links & e_links)
    return {"estimated_arrivals": len(est_arr), "true_arrivals": len(true_arr), "spurious": spurious,
            "hidden": hidden, "spurious_arrival_share": spurious / len(est_arr) if len(est_arr) else 0.0,
            "hidden_arrival_share": hidden / len(true_arr) if len(true_arr) else 0.0,
            "arrival_links_true": len(t_links), "arrival_links_found": len(e_links),
            "arrival_link_precision": right / len(e_links) if e_links else 1.0,
            "arrival_link_recall": right / len(t_links) if t_links else 1.0}


def store_person_ids(tables: dict[str, pd.DataFrame]) -> pd.Series:
    """The person id of each stored record, indexed by (source, record_id)."""
    return pd.concat([pd.Series(t["person_id"].astype(str).to_numpy(),
                                index=pd.MultiIndex.from_arrays([[s] * len(t), t[record_id(s)].astype(str)]))
                      for s, t in tables.items()])


def record_measured_linkage_rates(data_dir: str | Path, truth_dir: str | Path) -> dict[str, str]:
    """Measure the store's linkage against the synthetic truth and record the rates in store_meta.

    Overall quality (pairwise and B-cubed) and, for the new arrivals study, the error rates of the
    links it counts (:func:`arrival_linkage_errors` over the study's default period): the study
    reads ``linkage_precision``, ``linkage_recall``, ``spurious_arrival_share`` and
    ``hidden_arrival_share`` from the store for its bounds.
    """
    store = Store(data_dir)
    tables = {s: store.table(s) for s in NEW_ARRIVALS_SOURCES if s in store.tables()}
    est_ids = store_person_ids(tables)
    true_ids = true_person_ids(truth_dir).reindex(est_ids.index)
    q = linkage_quality(true_ids.to_numpy(), est_ids.to_numpy())
    start, end = default_period(dt.date.fromisoformat(store.meta()["extract_date"]))
    errors = arrival_linkage_errors(tables, est_ids, true_ids, period_start=start, period_end=end)
    rates = {
        "linkage_pairwise_precision": round(q.pairwise_precision, 4), "linkage_pairwise_f1": round(q.pairwise_f1, 4),
        "linkage_bcubed_f1": round(q.bcubed_f1, 4),
        "linkage_precision": round(errors["arrival_link_precision"], 4),
        "linkage_recall": round(errors["arrival_link_recall"], 4),
        "spurious_arrival_share": round(errors["spurious_arrival_share"], 4),
        "hidden_arrival_share": round(errors["hidden_arrival_share"], 4),
    }
    rates["linkage_measured"] = (f"pairwise precision {q.pairwise_precision:.3f}, F1 {q.pairwise_f1:.3f}; new arrivals' "
                                 f"links precision {errors['arrival_link_precision']:.3f}, recall "
                                 f"{errors['arrival_link_recall']:.3f}; spurious arrivals "
                                 f"{errors['spurious_arrival_share']:.1%}, hidden {errors['hidden_arrival_share']:.1%}")
    store.record_meta(rates)
    return {k: str(v) for k, v in rates.items()}


# ------------------------------------------------------- clerical review with a simulated reviewer
def true_record_persons(truth_dir: str | Path) -> pd.Series:
    """The true person of each record, indexed by ``source/record_id`` (the review's pair keys)."""
    t = true_person_ids(truth_dir)
    names = [f"{s}/{r}" for s, r in t.index]
    return pd.Series(t.to_numpy(), index=names, name="person_id")


def simulated_review(
    sample: pd.DataFrame,
    true_persons: pd.Series,
    *,
    error_rate: float = 0.02,
    seed: int = 0,
    second_look: bool = True,
) -> pd.DataFrame:
    """Decisions of a reviewer who knows the truth but gets ``error_rate`` of decisions wrong at
    random (each decision flipped independently), as review decisions (pair_key, decision,
    reviewer, decided_at). With ``second_look`` the pairs the review procedure sends back (first
    decision disagreeing with the linkage) are decided again, by a second reviewer with the same
    error rate. ``sample`` needs ``pair_key`` and ``linked``."""
    from workbench.linkage.review_estimate import MATCH, NON_MATCH, second_looks

    rng = np.random.default_rng(seed)
    ends = sample["pair_key"].str.split("|", n=1, expand=True)
    same = (ends[0].map(true_persons) == ends[1].map(true_persons)).to_numpy()

    def decide(is_match: np.ndarray) -> np.ndarray:
        wrong = rng.random(len(is_match)) < error_rate
        return np.where(is_match ^ wrong, MATCH, NON_MATCH)

    start = pd.Timestamp("2026-01-01T09:00:00Z")
    first = pd.DataFrame({"pair_key": sample["pair_key"].to_numpy(), "decision": decide(same),
                          "reviewer": "simulated reviewer 1",
                          "decided_at": [(start + pd.Timedelta(seconds=i)).isoformat() for i in range(len(sample))]})
    if not second_look:
        return first
    again = second_looks(sample, first)
    truth_of = pd.Series(same, index=sample["pair_key"].to_numpy())
    later = start + pd.Timedelta(days=1)
    second = pd.DataFrame({"pair_key": again["pair_key"].to_numpy(),
                           "decision": decide(truth_of.reindex(again["pair_key"]).to_numpy(dtype=bool)),
                           "reviewer": "simulated reviewer 2",
                           "decided_at": [(later + pd.Timedelta(seconds=i)).isoformat() for i in range(len(again))]})
    return pd.concat([first, second], ignore_index=True)


def review_truth(population: pd.DataFrame, true_labels: np.ndarray, frame: pd.DataFrame | None = None) -> dict[str, float]:
    """The true pairwise precision and recall on a review's population (pairs scored or linked:
    :func:`workbench.linkage.review_design.review_population`), overall and for critical links,
    and how many true pairs lie outside it (never scored, never linked: out of the review's reach)."""
    t = np.asarray(true_labels)
    true = t[population["left"].to_numpy()] == t[population["right"].to_numpy()]
    out: dict[str, float] = {}
    for prefix, keep in (("", np.ones(len(population), dtype=bool)), ("critical_", population["critical"].to_numpy())):
        linked, tr = population["linked"].to_numpy()[keep], true[keep]
        out[prefix + "precision"] = float((linked & tr).sum() / linked.sum())
        out[prefix + "recall"] = float((linked & tr).sum() / tr.sum())
        out[prefix + "true_pairs_in_reach"] = float(tr.sum())
    sizes = np.bincount(pd.factorize(t)[0]).astype(np.int64)
    out["true_pairs"] = float((sizes * (sizes - 1) // 2).sum())
    out["true_pairs_out_of_reach"] = out["true_pairs"] - out["true_pairs_in_reach"]
    if frame is not None:  # every true critical link, scored or not
        from workbench.linkage.review_design import critical_links, linked_pairs

        every = linked_pairs(t)
        out["critical_true_pairs"] = float(critical_links(frame, every["left"].to_numpy(), every["right"].to_numpy()).sum())
        out["critical_true_pairs_out_of_reach"] = out["critical_true_pairs"] - out["critical_true_pairs_in_reach"]
    return out


# ------------------------------------------------- the new arrivals study's arrival review, simulated
def true_arrivals(tables: dict[str, pd.DataFrame], true_ids: pd.Series, *, period_start: dt.date,
                  period_end: dt.date, lookback_months: int | None = None) -> pd.DataFrame:
    """The new arrivals under the true linkage, one row per (true person, arrival date), with
    whether they had presented and whether their whole contact lookback is in the data: the study
    on the true linkage."""
    from workbench.definitions import definitions

    cfg = definitions()["new_arrivals"]
    t = relinked(tables, true_ids)
    arrivals = rs.new_arrivals(t["outreach_contacts"], period_start=period_start, period_end=period_end,
                               lookback_months=lookback_months, short_history=cfg["short_history"])
    months = int(cfg["contact_lookback_months"])
    paths = rs.arrival_paths(arrivals, rs.earlier_contacts(arrivals, t, contact_lookback_months=months),
                             contact_lookback_months=months,
                             contact_history_start=pd.Timestamp(cfg["contact_history_start"]).date())
    return paths[["person_id", "arrival_date", "presented", "contact_history_complete"]].reset_index(drop=True)


def simulated_arrival_review(
    sample: pd.DataFrame,
    truth: pd.DataFrame,
    true_ids: pd.Series,
    *,
    error_rate: float = 0.02,
    seed: int = 0,
    second_look: bool = True,
) -> pd.DataFrame:
    """Answers of a reviewer who knows the truth but gets ``error_rate`` of answers wrong at random
    (as :func:`simulated_review`), to the arrival review's two questions for each sampled arrival
    (:mod:`workbench.studies.new_arrivals.review`): seen before (the arrival contact's true person
    has no true arrival that day: a fragment of someone seen before) and, if not, presented (the
    true arrival had). With ``second_look`` the answers the review procedure sends back are given
    again by a second reviewer with the same error rate. ``truth``: :func:`true_arrivals`."""
    from workbench.studies.new_arrivals.review import NO, YES, second_looks

    rng = np.random.default_rng(seed)
    truth_of = true_ids[true_ids.index.get_level_values(0) == "outreach_contacts"].droplevel(0)
    truth_of = truth_of[~truth_of.index.duplicated()]
    person = sample["arrival_contact_id"].astype(str).map(truth_of)
    key = pd.MultiIndex.from_arrays([person.to_numpy(), pd.to_datetime(sample["arrival_date"]).to_numpy()])
    presented_of = truth.set_index(["person_id", pd.to_datetime(truth["arrival_date"])])["presented"]
    presented_of = presented_of[~presented_of.index.duplicated()]
    genuine = key.isin(presented_of.index)
    presented = genuine & (presented_of.reindex(key).to_numpy(dtype=object) == True)  # noqa: E712 (NaN: not an arrival)

    def answer(value: np.ndarray) -> np.ndarray:
        return np.where(value ^ (rng.random(len(value)) < error_rate), YES, NO)

    def answers(rows: np.ndarray, reviewer: str, start: pd.Timestamp) -> pd.DataFrame:
        seen = answer(~genuine[rows])
        pres = np.where(seen == NO, answer(presented[rows]), "")
        return pd.DataFrame({"arrival_key": sample["arrival_key"].to_numpy()[rows], "seen_before": seen,
                             "presented": pres, "reviewer": reviewer,
                             "decided_at": [(start + pd.Timedelta(seconds=i)).isoformat() for i in range(len(rows))]})

    start = pd.Timestamp("2026-01-01T09:00:00Z")
    first = answers(np.arange(len(sample)), "simulated reviewer 1", start)
    if not second_look:
        return first
    again = second_looks(sample, first)
    rows = np.flatnonzero(sample["arrival_key"].isin(again["arrival_key"]).to_numpy())
    return pd.concat([first, answers(rows, "simulated reviewer 2", start + pd.Timedelta(days=1))], ignore_index=True)


def record_simulated_arrival_review(data_dir: str | Path, truth_dir: str | Path, *, arrivals: int | None = None,
                                    error_rate: float = 0.02, seed: int = 0) -> dict[str, object]:
    """Draw the arrival review's sample from the store's linkage, answer it with the simulated
    reviewer and record the counts with the store, as a real review would be recorded; returns the
    strata table and the truth's share for comparison."""
    import dataclasses

    from workbench.studies.new_arrivals.review import (
        ArrivalReviewDesign,
        draw_arrival_sample,
        record_arrival_review,
        review_strata,
    )
    from workbench.studies.new_arrivals.study import headline_paths

    store = Store(data_dir)
    complete, params = headline_paths(store)
    design = ArrivalReviewDesign() if arrivals is None else dataclasses.replace(ArrivalReviewDesign(), arrivals=arrivals)
    sample = draw_arrival_sample(complete, design)
    tables = {s: store.table(s) for s in NEW_ARRIVALS_SOURCES if s in store.tables()}
    est_ids = store_person_ids(tables)
    true_ids = true_person_ids(truth_dir).reindex(est_ids.index)
    truth = true_arrivals(tables, true_ids, period_start=params["period_start"], period_end=params["period_end"],
                          lookback_months=params["lookback_months"])
    decisions = simulated_arrival_review(sample, truth, true_ids, error_rate=error_rate, seed=seed)
    strata = review_strata(sample, decisions)
    record_arrival_review(store, strata, period_start=params["period_start"], period_end=params["period_end"],
                          lookback_months=params["lookback_months"],
                          note=f"simulated reviewer (synthetic truth, {error_rate:.0%} of answers wrong at random, "
                               "second looks)")
    done = truth[truth["contact_history_complete"]]
    return {"strata": strata, "true_share": float(done["presented"].mean()) if len(done) else math.nan,
            "decisions": decisions, "sample": sample}
