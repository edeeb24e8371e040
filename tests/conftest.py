import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser import CHROMIUM, CHROMIUM_ARGS, require_chromium  # noqa: E402
from shared_fixtures import built_once  # noqa: E402

from workbench.contracts import load_contracts  # noqa: E402


@pytest.fixture(scope="session")
def contracts():
    return load_contracts()


@pytest.fixture(scope="session")
def synthetic_county(tmp_path_factory):
    """The synthetic county at scale 1 with the default seed, generated once per test run (shared
    by the workers; read-only).

    Returns the folder holding ``extracts/`` and ``truth/``.
    """
    from workbench.synthetic import DEFAULT_SEED, generate_county

    return built_once(tmp_path_factory, "county",
                      lambda out: generate_county(out, seed=DEFAULT_SEED, scale=1.0, progress=False))


@pytest.fixture(scope="session")
def county_store(synthetic_county, tmp_path_factory):
    """The synthetic county ingested into a store with the TRUE linkage (studies test their
    estimators against planted truths without linkage error; linkage error is measured separately).
    Built once per test run and shared by the workers: tests only read it."""
    from workbench.ingest.pipeline import ingest_folder
    from workbench.store import Store
    from workbench.synthetic.evaluation import TruthLinker

    def build(folder):
        ingest_folder(synthetic_county / "extracts", folder / "data",
                      linkage=TruthLinker(synthetic_county / "truth"), progress=False)

    return Store(built_once(tmp_path_factory, "county-store", build) / "data")


@pytest.fixture(scope="session")
def browser():
    """Chromium through Playwright, one per test worker (see tests/browser.py for why only one)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
