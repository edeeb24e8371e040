"""Ingest a folder of extracts: validate, quarantine, link people, pseudonymise, store.

``ingest_folder`` takes the folder a quarter's extracts arrive in (one file per source, and for
statutory cases one per district), and builds a new store from it:

1. match each file to its contract (from ``extract.yaml`` if present, else by file name);
2. skip everything if this exact set of files (by content hash) is what the store already holds;
3. validate every file; failing rows go to a quarantine file with their reasons; accepted rows are
   staged, piece by piece, in an owner-only DuckDB file in the data directory (``staging``), not
   kept in memory;
4. link records of the same person (``workbench.linkage``: a method name, or a linker object from
   the caller) while identifiers are present, from the linkage frame read back from the staging;
5. replace identifiers by the keyed pseudonymous ``person_id`` and derived ages, then drop them
   (with SQL in the staging database: ``staging.Staging.build_tables``);
6. write the new store beside the old one and swap it in atomically, with the provenance of the
   ingest (file names, sizes, hashes, contract versions, row counts, time).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from tqdm.auto import tqdm

from workbench.contracts.model import Contract, ContractSet, load_contracts
from workbench.ingest.across_files import accepted_columns_for, refuse_across_files
from workbench.ingest.completeness import refusal_message, shortfalls
from workbench.ingest.pseudonymise import PseudonymKey, demo_key, load_key
from workbench.ingest.quarantine_log import quarantine_log as problem_log
from workbench.ingest.quarantine_log import without_values
from workbench.ingest.readers import SUPPORTED_SUFFIXES
from workbench.ingest.staging import Staging, return_freed_memory
from workbench.ingest.validate import ValidationResult, validate_file
from workbench.linkage.deterministic import NORMALISERS, deterministic_labels
from workbench.linkage.persons import (
    LINKAGE_COLUMNS,
    Linker,
    input_columns,
    link_people_with_alternatives,
    linkage_name,
    person_ids,
)
from workbench.spreadsheets import write_csv
from workbench.store import STORE_FILE, Store, StoreNotFound, default_data_dir, owner_only
from workbench.store.history import (
    SourceChange,
    convert_unversioned,
    needs_conversion,
    remove_leftovers,
    write_snapshot,
)
from workbench.store.layout import ALTERNATIVE_KEY, ALTERNATIVES
from workbench.store.lock import data_dir_lock

log = logging.getLogger("workbench.ingest")
MANIFEST = "extract.yaml"


class IngestError(Exception):
    """The ingest cannot go ahead as it was run (options, key, folder); the message says why."""


class ExtractsRefused(IngestError):
    """The extracts cannot be stored as they are (a file refused, a source shrinking without a
    decision, a manifest mistake); nothing was stored. The message names each file and why."""


@dataclass
class IngestReport:
    ingest_id: str
    data_dir: Path
    extract_date: dt.date
    results: list[ValidationResult] = field(default_factory=list)
    unmatched_files: list[str] = field(default_factory=list)
    already_ingested: bool = False
    persons: int = 0
    seconds: float = 0.0
    report_dir: Path | None = None
    changes: dict[str, SourceChange] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        return sum(r.rows_read for r in self.results)

    @property
    def rows_accepted(self) -> int:
        return sum(r.rows_accepted for r in self.results)

    @property
    def rows_quarantined(self) -> int:
        return sum(r.rows_quarantined for r in self.results)

    @property
    def refused(self) -> list[ValidationResult]:
        return [r for r in self.results if r.refused]

    def summary(self) -> str:
        if self.already_ingested:
            return "These extracts are already in the store (same files, same contents): nothing was added."
        lines = [f"Ingest {self.ingest_id} of extracts dated {self.extract_date.isoformat()}:"]
        lines += ["  " + r.counts_line() for r in self.results]
        lines += [f"  {name}: not matched to any data contract; not read." for name in self.unmatched_files]
        lines.append(
            f"  Total: rows read {self.rows_read:,} = accepted {self.rows_accepted:,} "
            f"+ quarantined {self.rows_quarantined:,}; {len(self.refused)} file(s) refused."
        )
        lines.append(f"  {self.persons:,} people after linkage. Store: {self.data_dir / STORE_FILE}")
        if self.report_dir:
            lines.append(f"  Validation report and quarantine files: {self.report_dir}")
        return "\n".join(lines)


def read_manifest(folder: Path) -> dict:
    """The folder's ``extract.yaml``, checked: each mistake names the file, the key and the value."""
    path = folder / MANIFEST
    if not path.exists():
        return {}
    if path.is_symlink():
        raise ExtractsRefused(f"{path} is a symbolic link; it was not read. Put the manifest itself in the folder.")
    text = path.read_text(encoding="utf-8")
    try:
        manifest = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ExtractsRefused(f"{path.name} is not valid YAML: {exc}") from None
    except ValueError as exc:
        # YAML itself fails on an impossible date ("month must be in 1..12", naming no key): read
        # every value as text to name the key and the value.
        as_text = yaml.load(text, Loader=yaml.BaseLoader) or {}
        check_manifest(path, {"extract_date": as_text["extract_date"]} if isinstance(as_text, dict) and "extract_date" in as_text else {})
        raise ExtractsRefused(f"{path}: a value is not a possible date ({exc}); write dates as YYYY-MM-DD.") from None
    if not isinstance(manifest, dict):
        raise ExtractsRefused(f"{path.name} should be a set of 'key: value' lines.")
    check_manifest(path, manifest)
    return manifest


def check_manifest(path: Path, manifest: dict) -> None:
    """Refuse a manifest whose keys hold values the ingest cannot use, naming file, key and value."""
    if "extract_date" in manifest:
        try:
            dt.date.fromisoformat(str(manifest["extract_date"]))
        except ValueError:
            raise ExtractsRefused(f"{path}: extract_date is {manifest['extract_date']!r}, which is not a date; "
                              "write it as YYYY-MM-DD.") from None
    if not isinstance(manifest.get("synthetic", False), bool):
        raise ExtractsRefused(f"{path}: synthetic is {manifest['synthetic']!r}; write true or false.")
    files = manifest.get("files")
    if files is None:
        return
    if not isinstance(files, list):
        raise ExtractsRefused(f"{path}: files should be a list of entries with 'path:' and 'source:', not {files!r}.")
    for n, entry in enumerate(files, start=1):
        if not isinstance(entry, dict):
            raise ExtractsRefused(f"{path}: files entry {n} is {entry!r}; each entry needs 'path:' and 'source:'.")
        for key in ("path", "source"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ExtractsRefused(f"{path}: files entry {n} has {key} {entry.get(key)!r}; each entry needs "
                                  f"'{key}:' with a {'file name' if key == 'path' else 'source name'}.")


def _inside(folder: Path, path: Path, named_by: str) -> Path:
    """``path`` if it is a plain file in the quarter's folder; symlinks and paths outside are refused unread."""
    if path.is_symlink():
        raise ExtractsRefused(f"{named_by}: {path.name} is a symbolic link; it was not read. Copy the file itself "
                          f"into {folder}.")
    if not path.resolve().is_relative_to(folder.resolve()):
        raise ExtractsRefused(f"{named_by}: the path points outside the quarter's folder {folder}; it was not read.")
    return path


def match_files(folder: Path, contracts: ContractSet, manifest: dict) -> tuple[list[tuple[Path, Contract]], list[str]]:
    """Pair each extract file with its contract: by the manifest, or by the file name's start."""
    matched, unmatched = [], []
    if manifest.get("files"):
        for n, entry in enumerate(manifest["files"], start=1):
            path = _inside(folder, folder / entry["path"], f"{folder / MANIFEST}: files entry {n}, path {entry['path']!r}")
            if entry.get("source") not in contracts.contracts:
                unmatched.append(entry["path"])
            else:
                matched.append((path, contracts[entry["source"]]))
        return matched, unmatched
    names = sorted(contracts.contracts, key=len, reverse=True)  # longest first: no prefix clashes
    for path in sorted(folder.iterdir()):
        if path.name == MANIFEST or path.name.startswith(".") or path.is_dir():
            continue
        stem = path.stem.lower()
        source = next((n for n in names if stem == n or stem.startswith(n + "_")), None)
        if source is None or path.suffix.lower() not in SUPPORTED_SUFFIXES:
            unmatched.append(path.name)  # never read, so a link here does no harm
        else:
            matched.append((_inside(folder, path, str(folder)), contracts[source]))
    return matched, unmatched


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _column_or_na(frame: pd.DataFrame, name: str | None) -> pd.Series:
    if name and name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype="object")


# Which field of each source plays each identifier role in linkage.
_NAME_ROLES = {"first": ("first_name", "given_name"), "last": ("last_name", "family_name")}


def _scoped(source: str, values: pd.Series) -> pd.Series:
    text = values.astype(_TEXT).str.strip()
    return (source + ":" + text).where(text.notna() & (text != ""))


def _role(contract: Contract, candidates: tuple[str, ...]) -> str | None:
    return next((c for c in candidates if c in contract.field_names), None)


#: Identifier text in the linkage frame: Arrow strings, a few bytes a value over its characters,
#: not a Python object each (some 55 bytes more; the frame of a 300 MB extract was over a gigabyte).
_TEXT = "string[pyarrow]"


def _text(values: pd.Series) -> pd.api.extensions.ExtensionArray:
    return values.astype(_TEXT).array


def _record_ids(ids: pd.Series) -> pd.Series:
    return ids if isinstance(ids.dtype, pd.StringDtype) else ids.astype(str)


def _linkage_columns(contract: Contract) -> dict[str, object]:
    """Each linkage frame column: the source field it is made from, or how it is made."""
    return {
        "source": None,
        "record_id": contract.record_id,
        "first_name": _role(contract, _NAME_ROLES["first"]),
        "last_name": _role(contract, _NAME_ROLES["last"]),
        "date_of_birth": "date_of_birth",
        "ni_number": "ni_number",
        "approximate_age": "approximate_age",
        "gender": "gender",
        "district": "district",
        "event_date": contract.event_date,
        "client_ref": "client_ref",
    }


def linkage_source_columns(contract: Contract, columns: list[str] | None = None) -> list[str]:
    """The fields of a source ``linkage_frame`` reads for ``columns`` (all by default) that the contract has."""
    wanted = [f for c, f in _linkage_columns(contract).items() if f and (columns is None or c in columns)]
    return [f for f in dict.fromkeys(wanted) if f in contract.field_names]


#: How each linkage frame column is made from a source's accepted rows.
_MAKE = {
    "source": lambda contract, frame: contract.name,
    "record_id": lambda contract, frame: _text(_record_ids(frame[contract.record_id])),
    "first_name": lambda contract, frame: _text(_column_or_na(frame, _role(contract, _NAME_ROLES["first"]))),
    "last_name": lambda contract, frame: _text(_column_or_na(frame, _role(contract, _NAME_ROLES["last"]))),
    "date_of_birth": lambda contract, frame: pd.to_datetime(_column_or_na(frame, "date_of_birth")).to_numpy(),
    "ni_number": lambda contract, frame: _text(_column_or_na(frame, "ni_number")),
    "approximate_age": lambda contract, frame: pd.to_numeric(_column_or_na(frame, "approximate_age")).to_numpy(),
    "gender": lambda contract, frame: _text(_column_or_na(frame, "gender")),
    "district": lambda contract, frame: _text(_column_or_na(frame, "district")),
    "event_date": lambda contract, frame: pd.to_datetime(frame[contract.event_date]).to_numpy(),
    # A source system's own client reference, scoped to the source (another system's numbers mean
    # nothing here).
    "client_ref": lambda contract, frame: _text(_scoped(contract.name, _column_or_na(frame, "client_ref"))),
}


def linkage_frame(accepted: list[tuple[Contract, pd.DataFrame]], columns: list[str] | None = None) -> pd.DataFrame:
    """One row per accepted record with the identifiers linkage needs (text as Arrow strings);
    ``columns``: only these of ``LINKAGE_COLUMNS`` (what the linkage reads), in their order."""
    parts = [pd.DataFrame({c: _MAKE[c](contract, frame) for c in LINKAGE_COLUMNS if columns is None or c in columns},
                          index=pd.RangeIndex(len(frame)))
             for contract, frame in accepted]
    if not parts:
        return pd.DataFrame(columns=[c for c in LINKAGE_COLUMNS if columns is None or c in columns])
    return pd.concat(parts, ignore_index=True)


def extracts_linkage_frame(extracts_dir: str | Path, extract_date: dt.date | None = None) -> pd.DataFrame:
    """The linkage frame of a folder of extracts as the ingest builds it (validated rows only),
    without building a store: for measuring a linkage on the same records."""
    folder = Path(extracts_dir)
    manifest = read_manifest(folder)
    if extract_date is None and "extract_date" in manifest:
        extract_date = dt.date.fromisoformat(str(manifest["extract_date"]))
    matched, _ = match_files(folder, load_contracts(), manifest)
    accepted = []
    for path, contract in matched:
        result = validate_file(path, contract, extract_date)
        if not result.refused and result.rows_accepted:
            accepted.append((contract, result.accepted))
    return linkage_frame(accepted)


def _age_at(dob: pd.Series, on: pd.Series) -> pd.Series:
    dob, on = pd.to_datetime(dob), pd.to_datetime(on)
    years = on.dt.year - dob.dt.year
    before_birthday = (on.dt.month < dob.dt.month) | ((on.dt.month == dob.dt.month) & (on.dt.day < dob.dt.day))
    return (years - before_birthday.astype(int)).astype("Int64").where(dob.notna() & on.notna())


def pseudonymised_table(contract: Contract, frame: pd.DataFrame, persons: pd.Series, file: str) -> pd.DataFrame:
    """The stored form of a source: identifiers replaced by person_id and age at the event."""
    out = frame.drop(columns=contract.identifier_fields + ["_row_number"]).copy()
    age = _age_at(_column_or_na(frame, "date_of_birth"), frame[contract.event_date])
    for recorded_age in ("approximate_age", "age"):  # sources that record an age instead of a birth date
        if recorded_age in frame.columns:
            age = age.fillna(frame[recorded_age].astype("Int64"))
    out.insert(0, "person_id", persons.to_numpy())
    out.insert(1, f"age_at_{contract.event_date}", age.to_numpy())
    out["source_file"] = file
    out["source_row"] = frame["_row_number"].to_numpy()
    for c in out.columns:  # DuckDB stores pandas' nullable string/boolean types as plain columns
        # Arrow strings are read by DuckDB as they are (VARCHAR, NA as NULL): made Python objects they
        # cost some 55 bytes a value more, for every text value of every record at once.
        if isinstance(out[c].dtype, pd.StringDtype) and out[c].dtype.storage != "pyarrow":
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


#: Tables written to the store between ingests (the framework form): records the extract no longer
#: holds are kept, as they were entered, not sent.
CARRIED_TABLES = ("current_residents",)


def _write_reports(report_dir: Path, report: IngestReport) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    issues = pd.concat([r.issues for r in report.results if len(r.issues)], ignore_index=True) if any(
        len(r.issues) for r in report.results) else pd.DataFrame(columns=["file", "row_number", "column", "rule", "message", "value"])
    write_csv(issues, report_dir / "issues.csv", index=False)
    for r in report.results:
        if r.rows_quarantined:
            write_csv(r.quarantined, report_dir / f"{Path(r.file).stem}.quarantine.csv", index=False)
    (report_dir / "validation_report.md").write_text(render_report(report), encoding="utf-8")


def render_report(report: IngestReport, max_problems_per_file: int = 200) -> str:
    """The validation report in plain words, as Markdown."""
    out = [f"# Validation report: ingest {report.ingest_id}", "",
           f"Extracts dated {report.extract_date.isoformat()}.", "",
           "| file | source | rows read | accepted | quarantined | status |", "|---|---|---|---|---|---|"]
    for r in report.results:
        status = "refused" if r.refused else ("all accepted" if not r.rows_quarantined else "some rows quarantined")
        out.append(f"| {r.file} | {r.source} | {r.rows_read:,} | {r.rows_accepted:,} | {r.rows_quarantined:,} | {status} |")
    for name in report.unmatched_files:
        out.append(f"| {name} | (none) | - | - | - | not matched to any contract: not read |")
    out += ["", f"Totals: {report.rows_read:,} rows read = {report.rows_accepted:,} accepted + "
            f"{report.rows_quarantined:,} quarantined.", ""]
    for r in report.results:
        out.append(f"## {r.file}")
        if r.refused:
            out += ["", f"**Refused whole:** {r.refusal_reason}", ""]
            continue
        out += [""] + [f"- Note: {n}" for n in r.notes]
        if not len(r.issues):
            out += ["", "No problems found.", ""]
            continue
        by_rule = r.issues.groupby(["column", "rule"]).size().reset_index(name="n")
        out += ["", "Problems by column and rule:", "", "| column | rule | rows |", "|---|---|---|"]
        out += [f"| {c} | {ru} | {n:,} |" for c, ru, n in by_rule.itertuples(index=False)]
        out += ["", "Each problem (row numbers as they stand in the file):", ""]
        for p in r.issues.head(max_problems_per_file).itertuples(index=False):
            out.append(f"- Row {p.row_number}, column {p.column}: {p.message} (rule: {p.rule})")
        if len(r.issues) > max_problems_per_file:
            out.append(f"- ... and {len(r.issues) - max_problems_per_file:,} more: see issues.csv.")
        out.append("")
    return "\n".join(out)


@dataclass(frozen=True)
class IngestOptions:
    """The user's decisions about sources that would shrink, and how long to wait for the lock."""

    carry_forward: frozenset[str] = frozenset()
    allow_fewer: frozenset[str] = frozenset()
    wait_seconds: float = 0.0


def _previous_snapshot(data_dir: Path) -> Store | None:
    try:
        return Store(data_dir, as_of="latest")
    except StoreNotFound:
        return None


def _previous_rows(previous: Store | None) -> dict[str, int]:
    if previous is None:
        return {}
    return {s: int(previous.query(f'select count(*) n from "{s}"')["n"].iloc[0]) for s in previous.sources()}


def _check_key(previous: Store | None, key: PseudonymKey) -> None:
    if previous is None:
        return
    stored = previous.meta().get("key_fingerprint", "")
    if stored and stored != key.fingerprint:
        raise IngestError(
            f"This key (fingerprint {key.fingerprint}) is not the key the store in {previous.data_dir} was built with "
            f"(fingerprint {stored}): no person would keep their pseudonym. Nothing was changed. Use the store's key, "
            "or re-key the store first with 'workbench rekey --old-key-file OLD --new-key-file NEW'.")


def _already_ingested(previous: Store | None, hashes: dict[str, str], key: PseudonymKey, method: str,
                      linkage_profile: str | None) -> bool:
    """Same files, key and linkage as the latest snapshot. A different linkage (say splink after truth) is a new snapshot."""
    if previous is None:
        return False
    meta = previous.meta()
    files = previous.query("select sha256 from ingests where ingest_id = ?", [previous.ingest_id])
    return (sorted(files["sha256"]) == sorted(hashes.values()) and meta.get("key_fingerprint") == key.fingerprint
            and meta.get("linkage") == method and meta.get("linkage_profile", "") == (linkage_profile or ""))


def _check_options(options: IngestOptions, contracts: ContractSet, previous_rows: dict[str, int]) -> None:
    for option, names in (("--carry-forward", options.carry_forward), ("--allow-fewer", options.allow_fewer)):
        for name in sorted(names):
            if name not in contracts.contracts:
                raise IngestError(f"{option} {name}: there is no source called {name!r}; the sources are "
                                  f"{', '.join(contracts.contracts)}.")
    for name in sorted(options.carry_forward):
        if name not in previous_rows:
            raise IngestError(f"--carry-forward {name}: the store has no earlier snapshot of {name} to carry forward.")


@owner_only()
def ingest_folder(
    folder: str | Path,
    data_dir: str | Path | None = None,
    *,
    key: PseudonymKey | None = None,
    key_file: str | Path | None = None,
    linkage: str | Linker = "splink",
    linkage_profile: str | None = None,
    extract_date: dt.date | None = None,
    contracts: ContractSet | None = None,
    encoding: str = "utf-8",
    progress: bool = True,
    options: IngestOptions | None = None,
) -> IngestReport:
    """Validate and ingest every extract in ``folder`` as a new snapshot of the store in ``data_dir``.

    ``linkage`` is a method name (``splink``, ``deterministic``) or a linker object with ``name`` and
    ``link(frame) -> labels`` (say the synthetic county's truth); its name goes in the provenance.
    Raises ``ExtractsRefused`` (nothing stored) when a file is refused or a source would shrink
    without the user's decision in ``options``; ``IngestError`` for problems with how it was run.
    """
    started = time.perf_counter()
    options = options or IngestOptions()
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestError(f"{folder} is not a folder of extracts.")
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    if data_dir.is_dir():
        data_dir.chmod(0o700)  # a data folder made before (or by hand) becomes owner-only too
    contracts = contracts or load_contracts()
    manifest = read_manifest(folder)
    synthetic = bool(manifest.get("synthetic", False))
    if extract_date is None:
        if "extract_date" not in manifest:
            raise IngestError(
                f"No extract date: give --extract-date YYYY-MM-DD, or put 'extract_date: YYYY-MM-DD' in {folder / MANIFEST}."
            )
        extract_date = dt.date.fromisoformat(str(manifest["extract_date"]))
    if key is None:
        key = demo_key(data_dir) if synthetic and not key_file and not os.environ.get("WORKBENCH_PSEUDONYMISATION_KEY") else load_key(key_file)
    if key.is_demo and not synthetic:
        raise IngestError("The demo key can only be used for the synthetic county; these extracts are not marked synthetic.")
    method = linkage_name(linkage)
    if linkage == "splink" and linkage_profile is not None:
        from workbench.linkage.settings import load_settings

        load_settings(profile=linkage_profile)  # an unknown profile is refused before any work

    matched, unmatched = match_files(folder, contracts, manifest)
    missing = [p.name for p, _ in matched if not p.exists()]
    if missing:
        raise ExtractsRefused(f"The manifest lists file(s) that are not in {folder}: {', '.join(missing)}.")
    if not matched:
        raise ExtractsRefused(f"No extract in {folder} matches a data contract (file names should start with the "
                              "source name, e.g. outreach_contacts.csv).")

    with data_dir_lock(data_dir, f"workbench ingest {folder}", options.wait_seconds):
        remove_leftovers(data_dir)
        if needs_conversion(data_dir / STORE_FILE):  # a store from before snapshots: its data become snapshot 1
            convert_unversioned(data_dir / STORE_FILE, rewrite_quarantine_log=without_values)
        previous = _previous_snapshot(data_dir)
        _check_key(previous, key)
        previous_rows = _previous_rows(previous)
        _check_options(options, contracts, previous_rows)
        ingest_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
        report = IngestReport(ingest_id=ingest_id, data_dir=data_dir, extract_date=extract_date, unmatched_files=unmatched)
        hashes = {p.name: sha256_of(p) for p, _ in tqdm(matched, desc="Hashing files", disable=not progress)}
        if _already_ingested(previous, hashes, key, method, linkage_profile):
            report.already_ingested = True
            report.seconds = time.perf_counter() - started
            return report
        _ingest_locked(report, matched, contracts, previous_rows, options, key, linkage, linkage_profile, hashes,
                       synthetic, encoding, progress, declared_files=bool(manifest.get("files")))
    report.seconds = time.perf_counter() - started
    return report


def alternative_person_ids(frame: pd.DataFrame, alternatives: dict[str, np.ndarray], key: PseudonymKey) -> pd.DataFrame:
    """Each record's person id under each alternative linkage (for the studies' linkage sensitivity):
    keyed pseudonyms like the main ones, one row per record and alternative."""
    parts = [pd.DataFrame({"source": frame["source"].to_numpy(), "record_id": frame["record_id"].astype(str).to_numpy(),
                           "alternative": name, "person_id": person_ids(frame, labels, key).to_numpy()})
             for name, labels in alternatives.items()]
    out = (pd.concat(parts, ignore_index=True) if parts else
           pd.DataFrame({c: pd.Series(dtype=object) for c in ("source", "record_id", "alternative", "person_id")}))
    out[ALTERNATIVE_KEY] = out["source"] + "/" + out["record_id"] + "/" + out["alternative"]
    return out.astype(object)


def _refusal_line(result: ValidationResult) -> str:
    """``file: reason``, once (most reasons already start with the file's name)."""
    reason = str(result.refusal_reason)
    return reason if reason.startswith(f"{result.file}:") else f"{result.file}: {reason}"


def _source_counts(report: IngestReport) -> tuple[dict[str, int], dict[str, int], dict[str, list[str]]]:
    accepted: dict[str, int] = {}
    quarantined: dict[str, int] = {}
    files: dict[str, list[str]] = {}
    for r in report.results:
        accepted[r.source] = accepted.get(r.source, 0) + r.rows_accepted
        quarantined[r.source] = quarantined.get(r.source, 0) + r.rows_quarantined
        files.setdefault(r.source, []).append(r.file)
    return accepted, quarantined, files


def _ingest_locked(report: IngestReport, matched, contracts: ContractSet, previous_rows: dict[str, int],
                   options: IngestOptions, key: PseudonymKey, linkage, linkage_profile: str | None,
                   hashes: dict[str, str], synthetic: bool, encoding: str, progress: bool, declared_files: bool) -> None:
    staging = Staging(report.data_dir)
    try:
        _ingest_staged(report, staging, matched, contracts, previous_rows, options, key, linkage, linkage_profile,
                       hashes, synthetic, encoding, progress, declared_files)
    finally:
        staging.remove()


def _ingest_staged(report: IngestReport, staging: Staging, matched, contracts: ContractSet,
                   previous_rows: dict[str, int], options: IngestOptions, key: PseudonymKey, linkage,
                   linkage_profile: str | None, hashes: dict[str, str], synthetic: bool, encoding: str,
                   progress: bool, declared_files: bool) -> None:
    method = linkage_name(linkage)
    # Accepted rows go to the staging database piece by piece; the results keep of them only their
    # count, and their row numbers and record ids where a source's files are compared.
    keep = accepted_columns_for([contract.name for _, contract in matched])
    for path, contract in tqdm(matched, desc="Validating", disable=not progress):
        sink = None if contract.name in options.carry_forward else staging.sink(contract, path.name)
        result = validate_file(path, contract, report.extract_date, encoding=encoding,
                               accepted_columns=keep[contract.name], sink=sink)
        report.results.append(result)
        log.info("validated %s", result.counts_line())
        if result.refused and sink is not None:
            staging.forget(path.name)
    # Several files of one source only when expected or declared, and never a record id twice.
    report.results = refuse_across_files(report.results, contracts, declared=declared_files)
    if report.refused:
        # A refused file would silently drop its source from the new store: store nothing instead.
        before = "the previous store is unchanged" if previous_rows else "no store was made"
        raise ExtractsRefused(f"Nothing was stored; {before}. These file(s) were refused:\n"
                              + "\n".join(f"  {_refusal_line(r)}" for r in report.refused))
    n_accepted, n_quarantined, files = _source_counts(report)
    found = shortfalls(previous_rows, n_accepted, files, n_quarantined, report.unmatched_files,
                       exempt=set(options.carry_forward) | set(options.allow_fewer) | set(CARRIED_TABLES))
    if found:
        raise ExtractsRefused(refusal_message(found))
    if not previous_rows and not staging.records:
        raise ExtractsRefused("Nothing was stored: no file holds an accepted row ("
                              + "; ".join(f"{r.file}: {r.rows_read:,} read, {r.rows_quarantined:,} quarantined"
                                          for r in report.results) + ").")
    for r in report.results:  # the record ids are not needed after the checks
        r.accepted = r.accepted.iloc[:, :0]

    labels, alternatives = _link(staging, linkage, linkage_profile, method, progress)
    return_freed_memory()
    report.persons = staging.person_ids(labels, alternatives, key)
    del labels, alternatives
    tables: dict[str, pd.DataFrame | str] = dict(staging.build_tables(
        {c.name: c.identifier_fields for c in contracts.contracts.values()}))
    tables[ALTERNATIVES] = staging.build_alternatives()
    staging.close()

    ingest_id = report.ingest_id
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    sizes = {p.name: p.stat().st_size for p, _ in matched}
    provenance = pd.DataFrame([
        dict(ingest_id=ingest_id, ingested_at=now, extract_date=pd.Timestamp(report.extract_date), file=r.file,
             source=r.source, contract_version=r.contract_version, size_bytes=sizes[r.file], sha256=hashes[r.file],
             rows_read=r.rows_read, rows_accepted=r.rows_accepted, rows_quarantined=r.rows_quarantined,
             refused=r.refused, linkage=method, linkage_profile=linkage_profile or "",
             key_fingerprint=key.fingerprint, synthetic=synthetic,
             carried_forward=r.source in options.carry_forward)
        for r in report.results
    ])
    # Where rows failed, never what they held (one row per problem).
    quarantine_log = problem_log(report.results, ingest_id)

    # Reports first: if they cannot be written, the previous store stays in place.
    report.report_dir = report.data_dir / "reports" / ingest_id
    _write_reports(report.report_dir, report)
    snapshot = dict(ingest_id=ingest_id, ingested_at=now, extract_date=report.extract_date, synthetic=synthetic,
                    linkage=method, linkage_profile=linkage_profile or "", key_fingerprint=key.fingerprint,
                    key_origin=key.origin, carried_forward=",".join(sorted(options.carry_forward)),
                    allowed_fewer=",".join(sorted(options.allow_fewer)))
    try:
        report.changes = write_snapshot(report.data_dir / STORE_FILE, tables,
                                        {**{c.name: c.record_id for c in contracts.contracts.values()},
                                         ALTERNATIVES: ALTERNATIVE_KEY}, snapshot,
                                        provenance, quarantine_log, carry_forward=set(options.carry_forward),
                                        keep_absent=set(CARRIED_TABLES), staging=staging.path)
    except BaseException:
        shutil.rmtree(report.report_dir, ignore_errors=True)  # the reports of an ingest that did not land
        raise


def _link(staging: Staging, linkage, linkage_profile: str | None, method: str,
          progress: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The linkage's labels and alternatives for the staged records. The deterministic rules read
    only integer codes made in the staging database; any other linkage, a frame of the columns it
    reads (the person ids and the stored tables are made from the staged records after)."""
    if progress:
        print(f"Linking {staging.records:,} records ({method})...", flush=True)
    if linkage == "deterministic":
        return_freed_memory()  # what validation freed, before the codes are gathered
        codes = staging.identifier_codes(_linkage_columns, NORMALISERS, dates=("date_of_birth",))
        staging.release()
        return deterministic_labels(**codes), {}
    wanted = input_columns(linkage)
    frame = staging.linkage_frame(lambda parts: linkage_frame(parts, wanted),
                                  lambda contract: linkage_source_columns(contract, wanted))
    staging.release()
    return link_people_with_alternatives(frame, linkage, profile=linkage_profile)


def rows_reconcile(report: IngestReport) -> bool:
    return all(r.reconciles for r in report.results) and report.rows_read == report.rows_accepted + report.rows_quarantined


__all__ = ["IngestError", "IngestReport", "extracts_linkage_frame", "ingest_folder", "match_files", "render_report"]
