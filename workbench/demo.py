"""The main job: the synthetic county, ingested into a store, and the dashboards served on it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from workbench.store import STORE_FILE, default_data_dir

#: The demo links people as a real ingest does (splink), then measures that linkage against the
#: synthetic truth and records the error rates with the store (for the new arrivals study's bounds).
DEMO_LINKAGE = "splink"


def synthetic_folder(data_dir: Path, seed: int) -> Path:
    return data_dir / f"synthetic-county-seed{seed}"


def build_demo_store(data_dir: str | Path | None = None, *, seed: int | None = None, progress: bool = True) -> str:
    """Generate the synthetic county (once per seed) and ingest it; return a plain summary."""
    from workbench.ingest.pipeline import ingest_folder
    from workbench.synthetic import DEFAULT_SEED, generate_county

    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    seed = DEFAULT_SEED if seed is None else seed
    county = synthetic_folder(data_dir, seed)
    if not (county / "extracts" / "extract.yaml").exists():
        generate_county(county, seed=seed, progress=progress)
    report = ingest_folder(county / "extracts", data_dir, linkage=DEMO_LINKAGE, truth_dir=county / "truth", progress=progress)
    lines = [f"Synthetic county (seed {seed}) in {county}", report.summary()]
    if DEMO_LINKAGE != "truth" and not report.already_ingested:
        rates = record_measured_linkage_rates(data_dir, county / "truth")
        lines.append(f"Linkage measured against the synthetic truth: {rates['linkage_measured']}")
    if report.already_ingested:
        lines.append(f"Store: {data_dir / STORE_FILE}")
    return "\n".join(lines)


def true_person_ids(truth_dir: str | Path):
    """The synthetic truth's person per record, indexed by (source, record_id)."""
    import pandas as pd

    truth = pd.read_parquet(Path(truth_dir) / "record_persons.parquet", columns=["source", "record_id", "person_id"])
    return truth.astype(str).drop_duplicates(["source", "record_id"]).set_index(["source", "record_id"])["person_id"]


def record_measured_linkage_rates(data_dir: str | Path, truth_dir: str | Path) -> dict[str, str]:
    """Measure the store's linkage against the synthetic truth and record the rates in store_meta.

    Overall quality (pairwise and B-cubed) and, for the new arrivals study, the error rates of the
    links it counts (``workbench.studies.new_arrivals.arrival_linkage_errors`` over the study's
    default period): the study reads ``linkage_precision``, ``linkage_recall``,
    ``spurious_arrival_share`` and ``hidden_arrival_share`` from the store for its bounds.
    """
    import pandas as pd

    from workbench.linkage.quality import linkage_quality
    from workbench.store import Store
    from workbench.studies import new_arrivals

    store = Store(data_dir)
    tables = {s: store.table(s) for s in new_arrivals.RECORD_IDS if s in store.tables()}
    est_ids = pd.concat([pd.Series(t["person_id"].astype(str).to_numpy(),
                                   index=pd.MultiIndex.from_arrays([[s] * len(t), t[new_arrivals.RECORD_IDS[s]].astype(str)]))
                         for s, t in tables.items()])
    true_ids = true_person_ids(truth_dir).reindex(est_ids.index)
    q = linkage_quality(true_ids.to_numpy(), est_ids.to_numpy())
    start, end = new_arrivals.default_period(dt.date.fromisoformat(store.meta()["extract_date"]))
    errors = new_arrivals.arrival_linkage_errors(tables, est_ids, true_ids, period_start=start, period_end=end)
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


def serve_dashboards(data_dir: str | Path | None = None, *, port: int = 8866) -> None:
    """Serve the commissioner dashboards with Voila on the store in ``data_dir``."""
    from workbench.dashboards.server import serve

    serve(data_dir, port=port)
