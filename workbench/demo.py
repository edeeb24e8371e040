"""The main job: the synthetic county, ingested into a store, and the dashboards served on it."""

from __future__ import annotations

from pathlib import Path

from workbench.store import STORE_FILE, default_data_dir

#: Until probabilistic linkage lands, the demo links people by the synthetic truth (recorded in
#: store_meta.linkage), so dashboards show the county as it really is.
DEMO_LINKAGE = "truth"


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
    if report.already_ingested:
        lines.append(f"Store: {data_dir / STORE_FILE}")
    return "\n".join(lines)


def serve_dashboards(data_dir: str | Path | None = None, *, port: int = 8866) -> None:
    """Serve the commissioner dashboards with Voila on the store in ``data_dir``."""
    from workbench.dashboards_server import serve

    serve(data_dir, port=port)
