"""The main job: the synthetic county, ingested into a store, and the dashboards served on it."""

from __future__ import annotations

from pathlib import Path

from workbench.store import STORE_FILE, default_data_dir, owner_only

#: The demo links people as a real ingest does (splink), then measures that linkage against the
#: synthetic truth and records the error rates with the store (for the new arrivals study's bounds),
#: and a simulated review of the new arrivals (for its corrected headline).
DEMO_LINKAGE = "splink"


def synthetic_folder(data_dir: Path, seed: int) -> Path:
    return data_dir / f"synthetic-county-seed{seed}"


@owner_only()
def build_demo_store(data_dir: str | Path | None = None, *, seed: int | None = None, progress: bool = True) -> str:
    """Generate the synthetic county (once per seed) and ingest it; return a plain summary."""
    from workbench.ingest.pipeline import ingest_folder
    from workbench.synthetic import DEFAULT_SEED, generate_county
    from workbench.synthetic.evaluation import (
        record_measured_linkage_rates,
        record_simulated_arrival_review,
        truth_linker,
    )

    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    seed = DEFAULT_SEED if seed is None else seed
    county = synthetic_folder(data_dir, seed)
    if not (county / "extracts" / "extract.yaml").exists():
        generate_county(county, seed=seed, progress=progress)
    linkage = truth_linker(county / "extracts") if DEMO_LINKAGE == "truth" else DEMO_LINKAGE
    report = ingest_folder(county / "extracts", data_dir, linkage=linkage, progress=progress)
    lines = [f"Synthetic county (seed {seed}) in {county}", report.summary()]
    if DEMO_LINKAGE != "truth" and not report.already_ingested:
        rates = record_measured_linkage_rates(data_dir, county / "truth")
        lines.append(f"Linkage measured against the synthetic truth: {rates['linkage_measured']}")
        # The new arrivals headline is corrected by a review of its arrivals; here a simulated
        # reviewer answers from the truth (2% of answers wrong), as real reviewers would record it.
        review = record_simulated_arrival_review(data_dir, county / "truth")
        lines.append(f"Arrival review (simulated reviewer): {int(review['strata']['reviewed'].sum())} new arrivals "
                     "reviewed and recorded for the new arrivals study's corrected headline.")
    if report.already_ingested:
        lines.append(f"Store: {data_dir / STORE_FILE}")
    return "\n".join(lines)


def serve_dashboards(data_dir: str | Path | None = None, *, port: int = 8866) -> None:
    """Serve the commissioner dashboards with Voila on the store in ``data_dir``."""
    from workbench.dashboards.server import serve

    serve(data_dir, port=port)
