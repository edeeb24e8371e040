"""The notebooks run by the test suite (nbmake) share one synthetic county: the first notebook to
need it builds it, the others reuse it (``workbench.demo.demo_data_dir``). Set here, in the process
that starts the test workers, so that they and the notebooks' kernels inherit it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from workbench.demo import DEMO_DIR_ENV

_made: list[Path] = []


def pytest_configure(config) -> None:  # noqa: ANN001
    if os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get(DEMO_DIR_ENV):
        return  # a worker (it inherited the folder) or a folder chosen by the caller
    folder = Path(tempfile.mkdtemp(prefix="workbench-notebooks-"))
    _made.append(folder)
    os.environ[DEMO_DIR_ENV] = str(folder / "data")


def pytest_unconfigure(config) -> None:  # noqa: ANN001
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
