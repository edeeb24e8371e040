"""Every damaged-quarter case of issue 16 through the real command line: the closing note's table.

Each case builds a small quarter (a few rows per source, made from the contracts by
``tests/factories.py``) in its own folder under one temporary directory, and runs

    python -m workbench.cli ingest FOLDER --data-dir DIR --linkage deterministic --no-progress

in a subprocess, with ``WORKBENCH_PSEUDONYMISATION_KEY`` set to a fixed test key (unless the case is
about keys). Where a case needs a previous snapshot (a missing or misnamed source, a header-only or
fully quarantined file, the next quarter), a clean small quarter is ingested into the same data
directory first. The table gives the exit code and the first two non-empty lines of the combined
stdout and stderr (each cut to 160 characters; the temporary directory is shown as ``$TMP``).

Exit codes: 0 stored clean; 1 stored with rows quarantined; 2 usage or environment error; 3 refused,
nothing stored. Each case's exit code is checked against the expected one: a difference prints a
``MISMATCH`` line, and the script then exits 1.

    python benchmarks/ingest_cases.py --out benchmarks/results/ingest_cases.md
    python benchmarks/ingest_cases.py --case 9 --case 23      # some cases only

37 command-line runs (28 cases and 9 previous quarters) of about 2 s each: a little over a
minute on an idle 2-core machine, 3 to 4 minutes while a test suite runs beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from factories import EXTRACT_DATE, valid_frame, write_csv  # noqa: E402

from workbench.contracts import load_contracts  # noqa: E402
from workbench.ingest.integrity import FIELD_LIMIT  # noqa: E402
from workbench.ingest.pseudonymise import KEY_ENV, KEY_FILE_ENV, write_new_key  # noqa: E402
from workbench.store.lock import data_dir_lock  # noqa: E402

TEST_KEY = "0123456789abcdef" * 3  # 48 hex characters: a fixed key for every case not about keys
MANIFEST = f"extract_date: {EXTRACT_DATE.isoformat()}\nsynthetic: true\n"
REAL_MANIFEST = f"extract_date: {EXTRACT_DATE.isoformat()}\n"  # not synthetic: a key is required
SOURCES = ("outreach_contacts", "deaths")
ROWS = 8
CUT = 160
OK, QUARANTINED, USAGE, REFUSED = 0, 1, 2, 3

CONTRACTS = load_contracts()
OUTREACH = CONTRACTS["outreach_contacts"]


# ------------------------------------------------------------------------- running the command line


def _env(key: str | None = TEST_KEY) -> dict[str, str]:
    dropped = (KEY_ENV, KEY_FILE_ENV, "WORKBENCH_DEBUG")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    if key is not None:
        env[KEY_ENV] = key
    return env


def _ingest(folder: Path, data: Path, *extra: str, key: str | None = TEST_KEY) -> tuple[int, str]:
    """Exit code and combined stdout + stderr of one ``workbench ingest``."""
    cmd = [sys.executable, "-m", "workbench.cli", "ingest", str(folder), "--data-dir", str(data),
           "--linkage", "deterministic", "--no-progress", *extra]
    out = subprocess.run(cmd, cwd=ROOT, env=_env(key), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, errors="replace", check=False)
    return out.returncode, out.stdout


class PreviousFailed(Exception):
    """The clean quarter a case builds on was not stored cleanly."""


def _previous(work: Path, data: Path, *extra: str, key: str | None = TEST_KEY,
              manifest: str = MANIFEST) -> None:
    """Ingest a clean small quarter into ``data``: the snapshot the case's quarter follows."""
    code, output = _ingest(_quarter(work / "q1", manifest=manifest), data, *extra, key=key)
    if code != OK:
        first = next((line.strip() for line in output.splitlines() if line.strip()), "")
        raise PreviousFailed(f"the previous (clean) quarter exited {code}: {first[:CUT]}")


# ------------------------------------------------------------------------- building quarters


def _quarter(folder: Path, n: dict[str, int | None] | None = None,
             manifest: str = MANIFEST) -> Path:
    """A quarter with ``ROWS`` valid rows of each source (``n`` overrides; None leaves one out)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(SOURCES):
        rows = (n or {}).get(name, ROWS)
        if rows is not None:
            write_csv(valid_frame(CONTRACTS[name], rows, seed=i), folder / f"{name}.csv")
    (folder / "extract.yaml").write_text(manifest)
    return folder


def _outreach_only(folder: Path, manifest: str = MANIFEST) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "extract.yaml").write_text(manifest)
    return folder


def _csv_lines(frame: pd.DataFrame) -> list[str]:
    return frame.to_csv(index=False).splitlines()


def _ids(frame: pd.DataFrame, column: str, prefix: str, first: int) -> pd.DataFrame:
    return frame.assign(**{column: [f"{prefix}{i:06d}" for i in range(first, first + len(frame))]})


def _two_outreach_files(folder: Path, second_first_id: int) -> None:
    write_csv(valid_frame(OUTREACH, ROWS), folder / "outreach_contacts.csv")
    write_csv(_ids(valid_frame(OUTREACH, ROWS, seed=1), "contact_id", "OR-", second_first_id),
              folder / "outreach_contacts_2.csv")


# ------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    number: int
    title: str
    expected: int
    run: Callable[[Path], tuple[int, str]]


CASES: list[Case] = []


def case(number: int, title: str, expected: int):
    def register(run: Callable[[Path], tuple[int, str]]) -> Callable[[Path], tuple[int, str]]:
        CASES.append(Case(number, title, expected, run))
        return run

    return register


@case(1, "source file missing (previous snapshot has it)", REFUSED)
def _missing(work: Path):
    data = work / "data"
    _previous(work, data)
    return _ingest(_quarter(work / "q2", {"deaths": None}), data)


@case(2, "misnamed `outreach contacts.csv`", REFUSED)
def _misnamed(work: Path):
    data = work / "data"
    _previous(work, data)
    folder = _quarter(work / "q2", {"outreach_contacts": None})
    write_csv(valid_frame(OUTREACH, ROWS), folder / "outreach contacts.csv")
    return _ingest(folder, data)


@case(3, "`.xls` file instead of csv", REFUSED)
def _xls(work: Path):
    data = work / "data"
    _previous(work, data)
    folder = _quarter(work / "q2", {"deaths": None})
    write_csv(valid_frame(CONTRACTS["deaths"], ROWS, seed=1), folder / "deaths.xls")
    return _ingest(folder, data)


@case(4, "file left out of extract.yaml's `files:` list", REFUSED)
def _left_out(work: Path):
    data = work / "data"
    _previous(work, data)
    manifest = MANIFEST + "files:\n  - path: outreach_contacts.csv\n    source: outreach_contacts\n"
    # deaths.csv is in the folder, but not in the list
    return _ingest(_quarter(work / "q2", manifest=manifest), data)


@case(5, "header-only file", REFUSED)
def _header_only(work: Path):
    data = work / "data"
    _previous(work, data)
    folder = _quarter(work / "q2")
    write_csv(valid_frame(CONTRACTS["deaths"], ROWS).iloc[:0], folder / "deaths.csv")
    return _ingest(folder, data)


@case(6, "every row quarantined", REFUSED)
def _all_quarantined(work: Path):
    data = work / "data"
    _previous(work, data)
    folder = _quarter(work / "q2")
    frame = valid_frame(CONTRACTS["deaths"], ROWS, seed=1)
    frame["date_of_death"] = "not a date"
    write_csv(frame, folder / "deaths.csv")
    return _ingest(folder, data)


@case(7, "file not UTF-8 (cp1252 bytes)", REFUSED)
def _cp1252(work: Path):
    folder = _quarter(work / "q1")
    frame = valid_frame(CONTRACTS["deaths"], ROWS, seed=1)
    frame.loc[2, "first_name"] = "Zo\u00eb"
    (folder / "deaths.csv").write_bytes(frame.to_csv(index=False).encode("cp1252"))
    return _ingest(folder, work / "data")


@case(8, "every file header-only on a first ingest", REFUSED)
def _all_header_only(work: Path):
    folder = _quarter(work / "q1")
    for name in SOURCES:
        write_csv(valid_frame(CONTRACTS[name], 3).iloc[:0], folder / f"{name}.csv")
    return _ingest(folder, work / "data")


@case(9, "unclosed quote 20 lines before the end of a CSV", REFUSED)
def _unclosed_quote(work: Path):
    folder = _quarter(work / "q1")
    lines = _csv_lines(valid_frame(OUTREACH, 40))
    fields = lines[-20].split(",")
    at = OUTREACH.field_names.index("given_name")
    fields[at] = '"' + fields[at]
    lines[-20] = ",".join(fields)
    (folder / "outreach_contacts.csv").write_text("\n".join(lines) + "\n")
    return _ingest(folder, work / "data")


@case(10, "US MM/DD/YYYY dates", REFUSED)
def _us_dates(work: Path):
    folder = _quarter(work / "q1")
    frame = valid_frame(OUTREACH, 12)
    frame["contact_date"] = [d.strftime("%m/%d/%Y") for d in pd.to_datetime(frame["contact_date"])]
    write_csv(frame, folder / "outreach_contacts.csv")
    return _ingest(folder, work / "data")


def _outreach_edited(work: Path, edit: Callable[[pd.DataFrame], None]) -> tuple[int, str]:
    """A first quarter whose outreach contacts are valid but for ``edit`` (made in place)."""
    folder = _quarter(work / "q1")
    frame = valid_frame(OUTREACH, ROWS)
    edit(frame)
    write_csv(frame, folder / "outreach_contacts.csv")
    return _ingest(folder, work / "data")


@case(11, "NUL byte inside a name (row quarantined)", QUARANTINED)
def _nul(work: Path):
    def edit(frame: pd.DataFrame) -> None:
        frame.loc[2, "family_name"] = "Smi\0th"
    return _outreach_edited(work, edit)


@case(12, "two undeclared files for one source", REFUSED)
def _two_undeclared(work: Path):
    folder = _outreach_only(work / "q1")
    _two_outreach_files(folder, 101)  # no record id in common
    return _ingest(folder, work / "data")


@case(13, "two declared files for one source whose record ids repeat", REFUSED)
def _declared_repeat(work: Path):
    manifest = MANIFEST + ("files:\n"
                           "  - path: outreach_contacts.csv\n    source: outreach_contacts\n"
                           "  - path: outreach_contacts_2.csv\n    source: outreach_contacts\n")
    folder = _outreach_only(work / "q1", manifest)
    _two_outreach_files(folder, 6)  # ids 6, 7 and 8 are in both files
    return _ingest(folder, work / "data")


@case(14, "exact duplicate column name", REFUSED)
def _duplicate_column(work: Path):
    return _outreach_edited(work, lambda frame: frame.insert(3, "district", "cherwell", allow_duplicates=True))


@case(15, "1900-01-01 in a date field (row quarantined)", QUARANTINED)
def _date_1900(work: Path):
    folder = _quarter(work / "q1")
    frame = valid_frame(CONTRACTS["institutional_discharges"], ROWS)
    frame.loc[3, "admission_date"] = "1900-01-01"
    write_csv(frame, folder / "institutional_discharges.csv")
    return _ingest(folder, work / "data")


@case(16, f"a field over {FIELD_LIMIT:,} characters", REFUSED)
def _oversized(work: Path):
    def edit(frame: pd.DataFrame) -> None:
        frame.loc[4, "family_name"] = "x" * (FIELD_LIMIT + 1)
    return _outreach_edited(work, edit)


@case(17, "extract.yaml files entry without `path`", REFUSED)
def _no_path(work: Path):
    folder = _outreach_only(work / "q1", MANIFEST + "files:\n  - source: outreach_contacts\n")
    write_csv(valid_frame(OUTREACH, ROWS), folder / "outreach_contacts.csv")
    return _ingest(folder, work / "data")


@case(18, "extract.yaml extract_date month 13", REFUSED)
def _month_13(work: Path):
    folder = _quarter(work / "q1", manifest="extract_date: 2026-13-01\nsynthetic: true\n")
    return _ingest(folder, work / "data")


@case(19, "extract symlinked to /etc/passwd", REFUSED)
def _symlink(work: Path):
    folder = _quarter(work / "q1", {"outreach_contacts": None})
    (folder / "outreach_contacts.csv").symlink_to("/etc/passwd")
    return _ingest(folder, work / "data")


@case(20, "manifest path outside the quarter's folder", REFUSED)
def _outside(work: Path):
    secret = work / "elsewhere" / "outreach_contacts.csv"
    secret.parent.mkdir(parents=True)
    write_csv(valid_frame(OUTREACH, 3).assign(given_name="Secretname"), secret)
    manifest = MANIFEST + ("files:\n  - path: ../elsewhere/outreach_contacts.csv\n"
                           "    source: outreach_contacts\n")
    return _ingest(_outreach_only(work / "q1", manifest), work / "data")


@case(21, "surname typed into `gender` (row quarantined, value withheld)", QUARANTINED)
def _surname_in_gender(work: Path):
    def edit(frame: pd.DataFrame) -> None:
        frame.loc[1, "gender"] = "Smith"
    return _outreach_edited(work, edit)


@case(22, "CSV missing its header row", REFUSED)
def _headerless(work: Path):
    folder = _quarter(work / "q1")
    lines = _csv_lines(valid_frame(OUTREACH, ROWS))
    (folder / "outreach_contacts.csv").write_text("\n".join(lines[1:]) + "\n")
    return _ingest(folder, work / "data")


@case(23, "a second ingest while one runs (data directory locked)", USAGE)
def _locked(work: Path):
    data = work / "data"
    folder = _quarter(work / "q1")
    holder = "workbench ingest /srv/extracts/2026-Q2 (held by benchmarks/ingest_cases.py)"
    with data_dir_lock(data, holder):  # this process holds the lock while the command runs
        return _ingest(folder, data)


@case(24, "next quarter ingested with a different key (`--key-file`)", USAGE)
def _different_key(work: Path):
    data = work / "data"
    old = write_new_key(work / "keys" / "old.key")
    _previous(work, data, "--key-file", str(old), key=None, manifest=REAL_MANIFEST)
    other = write_new_key(work / "keys" / "other.key")
    folder = _quarter(work / "q2", {"deaths": ROWS + 1}, manifest=REAL_MANIFEST)
    return _ingest(folder, data, "--key-file", str(other), key=None)


@case(25, "environment key differs from `--key-file`", USAGE)
def _env_and_file(work: Path):
    key_file = write_new_key(work / "keys" / "oxon.key")
    folder = _quarter(work / "q1", manifest=REAL_MANIFEST)
    return _ingest(folder, work / "data", "--key-file", str(key_file), key=TEST_KEY)


@case(26, "a semicolon-delimited file", REFUSED)
def _semicolons(work: Path):
    folder = _quarter(work / "q1")
    valid_frame(OUTREACH, ROWS).to_csv(folder / "outreach_contacts.csv", sep=";", index=False)
    return _ingest(folder, work / "data")


@case(27, "clean next quarter", OK)
def _clean_next(work: Path):
    data = work / "data"
    _previous(work, data)
    return _ingest(_quarter(work / "q2", {"outreach_contacts": ROWS + 1}), data)


@case(28, "a missing source with `--carry-forward deaths`", OK)
def _carry_forward(work: Path):
    data = work / "data"
    _previous(work, data)
    folder = _quarter(work / "q2", {"deaths": None, "outreach_contacts": ROWS + 4})
    return _ingest(folder, data, "--carry-forward", "deaths")


# ------------------------------------------------------------------------- the table


def _lines(output: str, tmp: str) -> list[str]:
    """The first two non-empty lines (where rows were quarantined, the second is that file's), the
    temporary directory as $TMP, cut to ``CUT`` characters."""
    lines = [line.strip().replace(tmp, "$TMP") for line in output.splitlines() if line.strip()]
    # A stored ingest lists every file's counts: the next line shown is the file with quarantined rows.
    quarantined = [line for line in lines[1:] if re.search(r"quarantined [1-9]", line)]
    if quarantined:
        lines = [lines[0], quarantined[0]]
    lines = [line if len(line) <= CUT else line[:CUT - 1] + "\u2026" for line in lines[:2]]
    return lines + [""] * (2 - len(lines))


def _cell(text: str, code: bool = False) -> str:
    """A table cell: ``|`` escaped; in output, backticks (which could pair up) as quotes."""
    text = text.replace("|", "\\|")
    return text.replace("`", "'") if code else text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        help="Also write the table (with a short header) to this file.")
    parser.add_argument("--case", type=int, action="append", dest="cases",
                        help="Run only this case (repeatable); default: all.")
    args = parser.parse_args(argv)
    chosen = [c for c in CASES if not args.cases or c.number in args.cases]
    rows = ["| case | exit | first line | next line |", "|---|---|---|---|"]
    mismatches: list[str] = []
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ingest-cases-") as tmp:
        for c in chosen:
            work = Path(tmp) / f"case{c.number:02d}"
            work.mkdir()
            t0 = time.perf_counter()
            try:
                code, output = c.run(work)
            except PreviousFailed as exc:
                code, output = -1, f"(not run: {exc})"
            first, second = _lines(output, tmp)
            rows.append(f"| {c.number}. {_cell(c.title)} | {code} | {_cell(first, True)} | "
                        f"{_cell(second, True)} |")
            status = "ok" if code == c.expected else "MISMATCH"
            print(f"case {c.number:2d}: exit {code} (expected {c.expected}) {status}, "
                  f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
            if code != c.expected:
                mismatches.append(f"MISMATCH case {c.number} ({c.title}): "
                                  f"expected exit {c.expected}, got {code}")
    elapsed = time.perf_counter() - started
    table = "\n".join(rows)
    print(table)
    for line in mismatches:
        print(line)
    print(f"{len(chosen)} case(s) in {elapsed:.0f} s; {len(mismatches)} mismatch(es).",
          file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        command = " ".join(["python benchmarks/ingest_cases.py", *(argv or sys.argv[1:])])
        header = (
            "# Issue 16: damaged quarters through `workbench ingest`\n\n"
            f"Made by `{command}` on {dt.date.today().isoformat()}: {len(chosen)} case(s) in "
            f"{elapsed:.0f} s wall time ({os.cpu_count()} CPUs, load average {load:.1f} at the "
            "start). Each case is a small quarter ingested with `python -m workbench.cli ingest "
            "FOLDER --data-dir DIR --linkage deterministic --no-progress` in a subprocess (a clean "
            "quarter first where the case needs a previous snapshot). The columns are the exit "
            "code (0 stored clean, 1 stored with rows quarantined, 2 usage or environment error, "
            "3 refused, nothing stored) and the first two non-empty lines of the command's output "
            "(stdout and stderr), each cut to 160 characters, the temporary directory shown as "
            "`$TMP`. Every exit code was checked against the expected one: "
            f"{len(mismatches)} mismatch(es).\n\n"
        )
        args.out.write_text(header + table + "\n" + "".join(f"\n{line}\n" for line in mismatches))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
