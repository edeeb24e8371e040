"""Fixtures built once per test run and shared by the pytest-xdist workers.

A county at scale 1 takes about a minute to generate and ingest; built in every worker it was paid
twice (and the dashboards' half-scale county too). The first worker to take the lock builds it into
the run's shared temporary folder; the others wait and reuse it. Only read-only fixtures may be
shared like this: a test that changes a store works on its own copy."""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``name`` built by ``build(folder)`` once per test run, whichever worker asks first."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's base is <run>/popen-gwN; their parent is the run's, shared by all.
    root = base.parent if base.name.startswith("popen-gw") else base
    target = root / f"shared-{name}"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".built").exists():
            # Built in place (a store may record where it was built), behind the lock; a folder
            # left half-built by a crashed worker has no marker and is rebuilt.
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            build(target)
            (target / ".built").touch()
    return target
