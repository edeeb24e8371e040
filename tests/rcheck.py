"""Live cross-checks against R: find Rscript (fail under CI, skip locally) and run a script."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


def rscript_or_skip() -> str:
    """Path of Rscript; missing R fails under CI (CI=...) and skips locally."""
    path = shutil.which("Rscript")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Rscript not found but CI is set: the R cross-checks must run in CI")
        pytest.skip("Rscript not installed: live cross-check against R survival skipped locally")
    return path


def run_r(script: str, tmp_path: Path) -> dict[str, np.ndarray]:
    """Run an R script whose output lines are ``name = [v, v, ...]``; parse them."""
    rfile = tmp_path / "check.R"
    rfile.write_text(
        "suppressMessages(library(survival))\n"
        'py <- function(name, x) cat(sprintf("%s = [%s]\\n", name, '
        'paste(sprintf("%.17g", x), collapse=", ")))\n' + script
    )
    res = subprocess.run(
        [rscript_or_skip(), str(rfile)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    out = {}
    for line in res.stdout.splitlines():
        if " = [" in line:
            name, vals = line.split(" = ", 1)
            out[name.strip()] = np.array([float(v) for v in vals.strip("[]").split(",")])
    return out
