"""The package installs and runs as a wheel, not only from the source tree: build the wheel, install
it into a clean virtual environment outside the checkout (its dependencies from the runtime lock),
and run the main job and a study there, from a folder outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workbench"


# Nothing of the checkout's environment reaches the clean one (PYTHONPATH would put the source tree,
# and its egg-info, on the path).
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "VIRTUAL_ENV", "WORKBENCH_DASHBOARDS_DIR")} | {"PYTHONNOUSERSITE": "1"}


def _run(args: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env or CLEAN_ENV, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _source_files() -> set[str]:
    """Every file of the package in the source tree, as a path inside the wheel."""
    return {
        p.relative_to(ROOT).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the package (an in-tree build would leave build/ behind)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(PACKAGE, src / "workbench", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", tmp / "dist", src], cwd=tmp)
    (built,) = (tmp / "dist").glob("oxfordshire_workbench-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    """A clean virtual environment (no system site-packages) with the locked runtime and the wheel."""
    tmp = tmp_path_factory.mktemp("installed")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _run([python, "-m", "pip", "install", "--quiet", "--no-compile", "--require-hashes", "-r", ROOT / "requirements" / "lock.txt"], cwd=tmp)
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", wheel], cwd=tmp)
    env = CLEAN_ENV | {"WORKBENCH_DATA_DIR": str(tmp / "data")}
    work = tmp / "elsewhere"
    work.mkdir()
    return {"python": python, "bin": env_dir / "bin", "env": env, "cwd": work, "tmp": tmp}


def test_wheel_ships_every_file_of_the_package(wheel):
    """Contracts, definitions, reference tables, linkage settings, dashboard notebooks and the Voila
    template (a hidden folder) are all package data."""
    with zipfile.ZipFile(wheel) as zf:
        shipped = {n for n in zf.namelist() if n.startswith("workbench/")}
    missing = _source_files() - shipped
    assert not missing, f"not in the wheel: {sorted(missing)}"
    for expected in ("workbench/definitions.yaml", "workbench/data_contracts/statutory_cases.yaml",
                     "workbench/dashboards/notebooks/overview.ipynb", "workbench/dashboards/notebooks/voila.json",
                     "workbench/dashboards/notebooks/.share/voila/templates/workbench/index.html.j2"):
        assert expected in shipped


def test_installed_wheel_runs_the_demo_and_a_study(installed):
    py, env, cwd = installed["python"], installed["env"], installed["cwd"]
    probe = _run([py, "-c", (
        "import workbench, workbench.measures.sources, workbench.contracts as c;"
        "from workbench.dashboards.server import dashboards_dir;"
        "print(workbench.__file__); print(dashboards_dir()); print(len(list(c.load_contracts())))"
    )], cwd=cwd, env=env).stdout.splitlines()
    site_packages = installed["tmp"] / "venv" / "lib"
    module, dashboards = Path(probe[0]), Path(probe[1])
    assert module.is_relative_to(site_packages) and "site-packages" in module.parts, module
    assert not module.is_relative_to(ROOT)
    assert dashboards.is_relative_to(site_packages) and (dashboards / ".share" / "voila" / "templates" / "workbench").is_dir()
    assert int(probe[2]) > 0

    demo = _run([installed["bin"] / "workbench", "demo", "--no-serve"], cwd=cwd, env=env)
    assert "pairwise precision" in demo.stdout
    data = Path(env["WORKBENCH_DATA_DIR"])
    assert list(data.glob("*.duckdb")), sorted(p.name for p in data.iterdir())

    out = installed["tmp"] / "returns"
    _run([installed["bin"] / "workbench", "study", "returns", "--out", out], cwd=cwd, env=env)
    for name in ("run.json", "summary.md"):
        assert (out / name).is_file(), name
    assert list(out.glob("*_tables.xlsx")) and list(out.glob("*.csv")) and list(out.glob("*.png"))
    record = json.loads((out / "run.json").read_text())
    assert record["kind"] == "shareable" and record["provenance"]["data"]["ingest_id"]
    # an installed wheel is not a git checkout, and says so rather than failing
    assert record["provenance"]["code"]["note"] == "not a git checkout"
