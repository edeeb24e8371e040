"""Provenance of a study run: exactly which data, definitions, code and settings produced it.

:func:`study_provenance` is the one place that reads the store for provenance (through the public
:class:`~workbench.store.Store` API only: ``meta()``, ``table("ingests")``), so that when the store
learns to keep history (snapshots "as of" a date) only this function changes. It records:

- the store snapshot: ingest id, extract date, and per file its name, source, SHA-256, size and
  rows read/accepted/quarantined (the ``ingests`` rows of that ingest id);
- the contract version of every source, the definitions' version and the hash of their content;
- the package version, and the git commit with whether the working tree was clean (or "not a git
  checkout" for an installed package: never an error);
- the call (study name and the keyword arguments given, so :func:`rerun` can repeat it), the
  resolved parameters, the random seeds, and the linkage method with its measured quality.

:func:`recorded` wraps a study's ``run`` so every run, from the command line or a notebook, carries
its provenance in ``result.provenance``.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import json
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import workbench
from workbench.contracts import load_contracts
from workbench.definitions import DEFINITIONS_FILE, content_hash, version

#: Keys of ``store_meta`` that hold linkage quality measured after ingest (when measured).
LINKAGE_QUALITY_KEYS = ("linkage_pairwise_precision", "linkage_pairwise_f1", "linkage_bcubed_f1",
                        "linkage_precision", "linkage_recall", "spurious_arrival_share", "hidden_arrival_share")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _json_value(value: Any) -> Any:
    """A JSON-friendly copy (dates as ISO text, tuples as lists); data frames are not parameters."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def git_state(where: str | Path | None = None) -> dict[str, Any]:
    """The git commit of the code and whether the working tree was clean.

    Run from an installed package (no ``.git`` above it) or without git, it says so: provenance
    never stops a study."""
    folder = Path(where) if where is not None else Path(workbench.__file__).resolve().parent
    not_git = {"commit": None, "clean": None, "note": "not a git checkout"}

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=False)

    try:
        # the package's own files must be tracked: a wheel installed in a virtual environment that
        # sits inside some other checkout must not report that checkout's commit
        if git("ls-files", "--error-unmatch", "__init__.py").returncode != 0:
            return not_git
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
        new_code = git("status", "--porcelain", "--untracked-files=all", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return not_git
    if commit.returncode != 0 or changed.returncode != 0:
        return not_git
    clean = not changed.stdout.strip() and not new_code.stdout.strip()
    return {"commit": commit.stdout.strip(), "clean": clean,
            "note": "working tree clean" if clean else "working tree had uncommitted changes"}


def code_provenance() -> dict[str, Any]:
    return {"package": "oxfordshire-workbench", "version": workbench.__version__, **git_state()}


def definitions_provenance() -> dict[str, Any]:
    contracts = load_contracts()
    return {
        "definitions_version": version(),
        "definitions_sha256": content_hash(),
        "definitions_file": DEFINITIONS_FILE.name,
        "contract_versions": {c.name: c.version for c in contracts},
    }


def study_provenance(store: Any, *, study: str, call: Mapping[str, Any] | None, parameters: Mapping[str, Any],
                     seeds: Mapping[str, Any]) -> dict[str, Any]:
    """The provenance of one study run on ``store`` (a :class:`~workbench.store.Store`; anything else,
    e.g. tables given directly, is recorded as such). The only function that reads the store for
    provenance."""
    out: dict[str, Any] = {
        "study": study,
        "run_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "call": _json_value(dict(call)) if call is not None else None,
        "parameters": _json_value(dict(parameters)),
        "random_seeds": _json_value(dict(seeds)),
        **definitions_provenance(),
        "code": code_provenance(),
    }
    if not (hasattr(store, "meta") and hasattr(store, "table")):
        out["data"] = {"note": "run on tables given directly, not on a store: not reproducible from this record"}
        out["linkage"] = {"method": "unknown"}
        return out
    meta = store.meta()
    ingest_id = meta.get("ingest_id")
    ingests = store.table("ingests")
    files = ingests[ingests["ingest_id"] == ingest_id] if ingest_id else ingests.iloc[0:0]
    out["data"] = {
        "ingest_id": ingest_id,
        "extract_date": meta.get("extract_date"),
        "synthetic": meta.get("synthetic") == "true",
        "key_fingerprint": meta.get("key_fingerprint"),
        "latest_snapshot": bool(getattr(getattr(store, "snapshot", None), "latest", True)),
        "carried_forward": [c for c in meta.get("carried_forward", "").split(",") if c],
        "files": [
            {"file": r.file, "source": r.source, "sha256": r.sha256, "size_bytes": int(r.size_bytes),
             "extract_date": str(r.extract_date)[:10], "contract_version": r.contract_version,
             "rows_read": int(r.rows_read), "rows_accepted": int(r.rows_accepted),
             "rows_quarantined": int(r.rows_quarantined)}
            for r in files.itertuples(index=False)
        ],
    }
    method = meta.get("linkage", "unknown")
    quality: dict[str, Any] = {k: float(meta[k]) for k in LINKAGE_QUALITY_KEYS if meta.get(k) not in (None, "")}
    if meta.get("linkage_measured"):
        quality["summary"] = meta["linkage_measured"]
    note = ("the true people of the synthetic county: no linkage error" if method == "truth"
            else "measured quality recorded with the store" if quality
            else "quality not measured for this store (see workbench linkage-quality)")
    out["linkage"] = {"method": method, "profile": meta.get("linkage_profile") or None, "quality": quality,
                      "note": note}
    return out


def recorded(name: str, *, seeds: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None):
    """Decorate a study's ``run(store, **parameters)``: the result gets ``provenance`` (and the call
    that :func:`rerun` repeats). ``seeds`` maps the bound arguments to the random seeds used."""

    def wrap(run: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(run)

        @functools.wraps(run)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            given = dict(bound.arguments)
            store = given.pop("store", None)
            # measures' SourceTables read from a store remember it: the run is the store's
            if not hasattr(store, "meta") and hasattr(getattr(store, "store", None), "meta"):
                store = store.store
            result = run(*args, **kwargs)
            # data passed in directly (a prepared cohort, tables) cannot be repeated from a record
            direct = [k for k, v in given.items() if hasattr(v, "shape") or isinstance(v, dict) and k == "tables"]
            call = None if direct or not hasattr(store, "meta") else {"study": name, "parameters": given}
            bound.apply_defaults()
            result.provenance = study_provenance(
                store, study=name, call=call, parameters=result.parameters,
                seeds=dict(seeds(bound.arguments)) if seeds else {})
            result.run_at = result.provenance["run_at"]
            return result

        return wrapper

    return wrap


def _from_json(value: Any) -> Any:
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return dt.date.fromisoformat(value)
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def snapshot_of_run_json(path: str | Path) -> str | None:
    """The store snapshot (ingest id) a ``run.json`` was computed on, if recorded."""
    record = json.loads(Path(path).read_text(encoding="utf-8"))
    return ((record.get("provenance") or {}).get("data") or {}).get("ingest_id")


def call_from_run_json(path: str | Path) -> tuple[str, dict[str, Any]]:
    """The study name and keyword arguments recorded in a ``run.json`` (dates back as dates)."""
    path = Path(path)
    record = json.loads(path.read_text(encoding="utf-8"))
    call = (record.get("provenance") or {}).get("call")
    if not call:
        raise ValueError(f"{path}: this run cannot be repeated from its record (it ran on data given directly, "
                         "or was written before runs recorded their call).")
    return call["study"], {k: _from_json(v) for k, v in call["parameters"].items()}
