"""The main job: the synthetic county, ingested into a store, and the dashboards served on it."""

from __future__ import annotations

import fcntl
import os
import tempfile
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


#: A folder the notebooks share for the synthetic county when they are given no ``data_dir``
#: (the test suite sets it, so its notebooks build the county once instead of once each).
DEMO_DIR_ENV = "WORKBENCH_DEMO_DIR"


def demo_data_dir() -> Path:
    """The synthetic county's store for a notebook run without ``data_dir``: in ``$WORKBENCH_DEMO_DIR``
    if set (built there by the first caller and reused, behind a lock), else in a new temporary folder."""
    shared = os.environ.get(DEMO_DIR_ENV)
    if not shared:
        data_dir = Path(tempfile.mkdtemp(prefix="workbench-"))
        print(build_demo_store(data_dir, progress=False))
        return data_dir
    data_dir = Path(shared).expanduser()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(data_dir.parent / f".{data_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two notebooks at once: the second waits for the first's build
        built = data_dir / ".demo-built"
        if not built.exists():
            print(build_demo_store(data_dir, progress=False))
            built.touch()
    return data_dir


def serve_dashboards(data_dir: str | Path | None = None, *, port: int = 8866) -> None:
    """Serve the commissioner dashboards with Voila on the store in ``data_dir``."""
    from workbench.dashboards.server import serve

    serve(data_dir, port=port)
