"""Fixtures for the dashboard tests: a small store, the synthetic county, a live server, Chromium."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, require_chromium  # noqa: F401 (used by the dashboard tests)
from factories import write_extract_folder
from shared_fixtures import built_once

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artefacts" / "screenshots"
#: Scale of the synthetic county for browser tests: big enough that most figures are shown,
#: small enough to build in well under a minute.
COUNTY_SCALE = 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def small_data_dir(tmp_path_factory, contracts) -> Path:
    """A store built from the contract factories (fast; random, so most counts are small)."""
    from workbench.ingest.pipeline import ingest_folder

    base = tmp_path_factory.mktemp("dash-small")
    folder = write_extract_folder(base / "extracts", contracts, n=300)
    ingest_folder(folder, base / "data", progress=False)
    return base / "data"


@pytest.fixture(scope="session")
def county_data_dir(tmp_path_factory) -> Path:
    """The synthetic county (half scale), ingested with true linkage, as the demo does, with its
    dashboard aggregates. Built once per test run and shared by the workers (tests that change it
    work on a copy)."""
    from workbench.dashboards.aggregates import ensure_aggregates
    from workbench.ingest.pipeline import ingest_folder
    from workbench.synthetic import DEFAULT_SEED, generate_county
    from workbench.synthetic.evaluation import TruthLinker

    def build(base: Path) -> None:
        generate_county(base / "county", seed=DEFAULT_SEED, scale=COUNTY_SCALE, progress=False)
        ingest_folder(base / "county" / "extracts", base / "data", linkage=TruthLinker(base / "county" / "truth"),
                      progress=False)
        ensure_aggregates(base / "data")

    return built_once(tmp_path_factory, "dash-county", build) / "data"


def require_pdftotext() -> str:
    """poppler's pdftotext, to read printed pages back (scripts/setup installs poppler-utils): the
    print test skips without it locally, but FAILS on CI."""
    import shutil

    found = shutil.which("pdftotext")
    if found:
        return found
    message = "pdftotext is not installed; the print test needs it (apt install poppler-utils)."
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_axe():
    """The axe-core audit (axe-playwright-python, in the test extra): skipped without it locally,
    but FAILS on CI, like the browser itself."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        message = "axe-playwright-python is not installed; the accessibility audit needs it (pip install -e .[test])."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return Axe


@pytest.fixture(scope="session")
def pdftotext() -> str:
    """Path of poppler's pdftotext (a fixture, not an import: with several conftest.py files on
    the path, `from conftest import ...` can find the wrong one under xdist)."""
    return require_pdftotext()


@pytest.fixture(scope="session")
def axe():
    """axe-core, injected into a Playwright page by axe-playwright-python."""
    return require_axe()()


@pytest.fixture(scope="session")
def dashboard_server(county_data_dir, tmp_path_factory):
    """The dashboards served on a free port of 127.0.0.1, as ``serve()`` runs them."""
    require_chromium()
    from workbench.dashboards.server import ServerSettings, start, stop, wait_until_ready

    port = free_port()
    log = tmp_path_factory.mktemp("voila-log") / "voila.log"
    proc = start(county_data_dir, settings=ServerSettings(port=port, pool_size=1), log=log)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_until_ready(base, proc, timeout=120)
        yield {"base": base, "data_dir": county_data_dir, "log": log, "proc": proc}
    finally:
        stop(proc)
