"""A page kernel imports only what its page draws (issue 20, twenty viewers at once).

Every viewer's page runs in its own kernel; what the kernel imports is most of its start-up time
and memory. The statistical model libraries (statsmodels, with patsy and formulaic; lifelines;
matplotlib) are for the studies, not the pages: importing them made each kernel about a second
slower and tens of megabytes bigger. These tests check, in a fresh interpreter as a kernel would
be, that building pages does not import them, and that the overview (the landing page) does not
import scipy.stats either. Timings are in benchmarks/bench_dashboards.py, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL_LIBRARIES = ("statsmodels", "lifelines", "matplotlib", "patsy", "formulaic")

SCRIPT = """
import json, sys
from workbench.dashboards.frame import PAGES, build_page
watch = ("statsmodels", "lifelines", "matplotlib", "patsy", "formulaic", "scipy.stats")
out = {"import": sorted(m for m in watch if m in sys.modules)}
for key, _title in [("overview", ""), *[p for p in PAGES if p[0] != "overview"]]:
    page = build_page(key, sys.argv[1])
    page.show_downloads()
    assert page.contents, key
    out[key] = sorted(m for m in watch if m in sys.modules)
print(json.dumps(out))
"""


def test_page_kernels_do_not_import_the_model_libraries(small_data_dir: Path) -> None:
    from workbench.dashboards.aggregates import ensure_aggregates

    # the server builds the aggregates before any kernel starts (building them needs the models)
    ensure_aggregates(small_data_dir)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(small_data_dir)], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["import"] == [], "importing the dashboards pulls in " + ", ".join(seen["import"])
    # the landing page draws no interval or funnel: no scipy.stats either
    assert seen["overview"] == [], seen["overview"]
    for key, modules in seen.items():
        assert not set(modules) & set(MODEL_LIBRARIES), f"page {key} imports {modules}"
    assert len(seen) == 1 + len(__import__("workbench.dashboards.frame", fromlist=["PAGES"]).PAGES)
