"""Read an extract (CSV, Excel or Parquet) into text columns, with each row's number as it stands in the file.

Everything is read as text so that validation, not the reader, decides what a value means: a
reader that guessed types would silently turn "01/02/2021" into a number or drop leading zeros.
A file that cannot be read at all (empty, not UTF-8, no recognisable header) raises
:class:`FileRefused` with a message a non-programmer can act on.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.contracts.model import Contract
from workbench.ingest.integrity import (
    NUL_STAND_IN,
    RecordScan,
    divergence_line,
    first_line,
    other_delimiter,
    scan_records,
)

SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".parquet")
#: How many rows at the top of a spreadsheet are searched for the header row.
HEADER_SEARCH_ROWS = 20


class FileRefused(Exception):
    """The whole file is refused; the message says why in plain words."""


@dataclass
class RawExtract:
    """An extract read as text, before validation."""

    path: Path
    frame: pd.DataFrame  # one column per contract field (missing optional ones all-blank), text or NA
    row_numbers: np.ndarray  # the row (line) number of each record as it stands in the file
    notes: list[str] = field(default_factory=list)  # file-level remarks (extra columns ignored...)
    malformed_rows: list[tuple[int, str]] = field(default_factory=list)  # (row number, problem)
    header_row: int = 1

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.malformed_rows)


def _normalise_header(name: object) -> str:
    return "_".join(str(name).strip().lower().replace("-", " ").split())


def _decode(path: Path, data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex().upper()
        raise FileRefused(
            f"{path.name} is not readable as {encoding.upper()} text: the byte 0x{bad} on line {line} "
            "is not valid. Save the file as 'CSV UTF-8 (Comma delimited)' from Excel, or tell the "
            "workbench the file's encoding with --encoding (for example --encoding cp1252)."
        ) from None


def _conform_columns(
    path: Path, frame: pd.DataFrame, contract: Contract, header_line: int = 1
) -> tuple[pd.DataFrame, list[str]]:
    """Match the file's header to the contract: refuse unusable headers, name missing and extra columns."""
    where = f"the header (line {header_line})" if header_line else "the header"
    notes: list[str] = []
    original = list(frame.columns)
    normalised = [_normalise_header(c) for c in original]
    expected = contract.field_names
    found = [c for c in normalised if c in expected]
    if not found:
        # The row's values are not shown: with the header missing, it is a person's record.
        raise FileRefused(
            f"{path.name}: the first row is not a usable header for {contract.title.lower()}: none of the "
            f"expected columns ({', '.join(expected[:5])}, ...) were found among its {len(original)} values "
            "(not shown, as they may be a person's record). Add the header row and send the file again."
        )
    dupes = sorted({c for c in normalised if normalised.count(c) > 1 and c})
    if dupes:
        raise FileRefused(
            f"{path.name}: {where} names these columns more than once: {', '.join(dupes)}; the workbench "
            "cannot tell which one holds the data. Remove or rename the extra column(s) and send the file again."
        )
    frame = frame.set_axis(normalised, axis=1)
    missing_required = [f.name for f in contract.fields if f.required and f.name not in normalised]
    if missing_required:
        raise FileRefused(
            f"{path.name}: required column(s) missing from the header: {', '.join(missing_required)}. "
            "The file was not loaded; add the column(s) and send it again."
        )
    missing_optional = [c for c in expected if c not in normalised]
    if missing_optional:
        notes.append(
            "Optional column(s) missing, treated as blank: " + ", ".join(missing_optional) + "."
        )
    extra = [o for o, n in zip(original, normalised, strict=True) if n not in expected]
    if extra:
        # Extra columns are never stored: they could carry identifiers the contract does not allow.
        notes.append("Unexpected column(s) ignored and not stored: " + ", ".join(map(str, extra)) + ".")
    renamed = [o for o, n in zip(original, normalised, strict=True) if n in expected and o != n]
    if renamed:
        notes.append("Column names matched ignoring case and spaces: " + ", ".join(map(str, renamed)) + ".")
    for c in missing_optional:
        frame[c] = pd.NA
    return frame[expected], notes


def _blank_to_na(frame: pd.DataFrame) -> pd.DataFrame:
    # Whitespace-only cells are missing values; keep everything else as the exact text sent.
    # Arrow-backed strings: the strip and compare run as vectorised kernels, not a Python loop.
    # By position: a header may repeat a column name until it is refused.
    out = {}
    for j in range(frame.shape[1]):
        s = frame.iloc[:, j].astype("string[pyarrow]").str.strip()
        out[j] = s.mask(s == "").astype("string")
    return pd.DataFrame(out, index=frame.index).set_axis(frame.columns, axis=1)


def _refuse_damage(path: Path, text: str, contract: Contract) -> RecordScan:
    """Refuse a CSV whose physical layout is wrong; return the independent scan of its records."""
    delimiter = other_delimiter(first_line(text), set(contract.field_names), _normalise_header)
    if delimiter:
        raise FileRefused(
            f"{path.name}: the values on line 1 are separated by {delimiter}, not commas. Save the file as "
            "'CSV UTF-8 (Comma delimited)' and send it again."
        )
    scan = scan_records(text)
    if scan.damage:
        raise FileRefused(f"{path.name}: {scan.damage}. The file was not loaded; repair it there and send it again.")
    return scan


def _refuse_miscount(path: Path, scan: RecordScan, records_read: int, parsed_first: list[str]) -> None:
    """The parser must find exactly the records the independent line scan found."""
    if records_read == scan.records:
        return
    raise FileRefused(
        f"{path.name}: a line-by-line count finds {scan.records:,} records but the parser read "
        f"{records_read:,}; the difference starts at line {divergence_line(scan, parsed_first)}. "
        "The file was not loaded; check it there."
    )


def _read_csv(path: Path, contract: Contract, encoding: str) -> RawExtract:
    data = path.read_bytes()
    if not data.strip():
        raise FileRefused(f"{path.name} is empty: it has no header and no rows.")
    text = _decode(path, data, "utf-8-sig" if encoding.lower().replace("-", "") in ("utf8", "utf8sig") else encoding)
    scan = _refuse_damage(path, text, contract)
    text = text.replace("\x00", NUL_STAND_IN)  # pandas would end the value at a NUL byte
    malformed: list[tuple[int, str]] = []
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False
        )
        # pandas renames a repeated column ("a", "a.1"): put back the names as written so they are refused.
        header = next(csv.reader(io.StringIO(first_line(text))), [])
        if len(header) == frame.shape[1]:
            frame.columns = header
        # With no quoted line breaks, record i sits on line i + 2 (the header is line 1).
        row_numbers = np.arange(2, len(frame) + 2)
    except pd.errors.EmptyDataError:
        raise FileRefused(f"{path.name} is empty: it has no header and no rows.") from None
    except pd.errors.ParserError:
        # Some lines have the wrong number of values: read line by line so they can be quarantined.
        try:
            frame, row_numbers, malformed = _read_ragged_csv(text)
        except csv.Error as exc:  # e.g. a bare carriage return inside a value: this file's problem only
            raise FileRefused(f"{path.name}: {exc}; the file cannot be split into values there. It was not loaded.") from None
    # Fully blank lines are not records.
    keep = ~(_blank_to_na(frame).isna().all(axis=1)) if len(frame) else np.ones(0, bool)
    frame, row_numbers = frame[keep].reset_index(drop=True), np.asarray(row_numbers)[np.asarray(keep)]
    if not malformed and scan.records == len(frame):
        row_numbers = np.asarray(scan.record_lines)  # exact even when a quoted value spans lines
    parsed_first = frame.iloc[:, 0].str.strip().tolist() if frame.shape[1] else []
    _refuse_miscount(path, scan, len(frame) + len(malformed), parsed_first)
    frame, notes = _conform_columns(path, frame, contract)
    return RawExtract(path, _blank_to_na(frame), row_numbers, notes, malformed)


def _read_ragged_csv(text: str) -> tuple[pd.DataFrame, np.ndarray, list[tuple[int, str]]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    rows, numbers, malformed = [], [], []
    try:
        for record in reader:
            # reader.line_num is the file line on which this record ends.
            if len(record) == len(header):
                rows.append(record)
                numbers.append(reader.line_num)
            elif any(v.strip() for v in record):
                malformed.append(
                    (reader.line_num, f"the line has {len(record)} values but the header has {len(header)}")
                )
    except csv.Error as exc:
        problem = "a line break inside a value that is not in quotes" if "new-line" in str(exc) else str(exc)
        raise csv.Error(f"line {reader.line_num + 1}: {problem}") from None
    return pd.DataFrame(rows, columns=header, dtype=str), np.asarray(numbers, dtype=int), malformed


def _excel_cell_to_text(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return pd.NA
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _find_header(sheet: pd.DataFrame, expected: set[str]) -> int | None:
    """The index of the first of the top rows of a sheet in which at least half the names are expected columns."""
    for i in range(min(HEADER_SEARCH_ROWS, len(sheet))):
        names = [_normalise_header(v) for v in sheet.iloc[i].tolist() if v is not None and not pd.isna(v)]
        if names and sum(n in expected for n in names) >= max(1, len(names) // 2):
            return i
    return None


def _read_excel(path: Path, contract: Contract) -> RawExtract:
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise FileRefused(f"{path.name} could not be opened as an Excel workbook ({type(exc).__name__}).") from None
    notes: list[str] = []
    expected = set(contract.field_names)
    headers = {name: _find_header(sheet, expected) for name, sheet in sheets.items()}
    sheet_name, raw = next(iter(sheets.items())) if sheets else (None, pd.DataFrame())
    elsewhere = [name for name, at in headers.items() if at is not None and name != sheet_name]
    if headers.get(sheet_name) is None and elsewhere:
        listed = ", ".join(f"'{name}'" for name in sheets)
        raise FileRefused(
            f"{path.name}: the first sheet, '{sheet_name}', does not hold the {contract.title.lower()} (none of "
            f"the expected column headings); they appear to be on sheet '{elsewhere[0]}'. The workbook's sheets "
            f"are {listed}. Move that sheet to the front, or save it as its own file, and send it again."
        )
    if len(sheets) > 1:
        notes.append(f"The workbook has {len(sheets)} sheets; only the first, '{sheet_name}', was read.")
    if raw.dropna(how="all").empty:
        raise FileRefused(f"{path.name} is empty: its first sheet has no header and no rows.")
    header_idx = headers[sheet_name]
    if header_idx is None:
        header_idx = int(np.flatnonzero(raw.notna().any(axis=1).to_numpy())[0])
    elif header_idx > 0:
        notes.append(
            f"The header was found on row {header_idx + 1} of the sheet; the {header_idx} row(s) above it "
            "(a title or notes) were ignored."
        )
    header = [str(v) if v is not None and not pd.isna(v) else f"unnamed_{j + 1}" for j, v in enumerate(raw.iloc[header_idx])]
    body = raw.iloc[header_idx + 1 :]
    body = body[body.notna().any(axis=1)]
    # Row numbers as Excel shows them (1-based, counting the title rows above the header).
    row_numbers = body.index.to_numpy() + 1
    frame = body.map(_excel_cell_to_text).set_axis(header, axis=1).reset_index(drop=True)
    frame = frame.loc[:, [not h.startswith("unnamed_") or frame[h].notna().any() for h in header]]
    frame, more = _conform_columns(path, frame.astype("string"), contract, header_idx + 1)
    return RawExtract(path, _blank_to_na(frame), row_numbers, notes + more, header_row=header_idx + 1)


def _read_parquet(path: Path, contract: Contract) -> RawExtract:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise FileRefused(f"{path.name} could not be read as a Parquet file ({type(exc).__name__}).") from None
    if frame.shape[1] == 0:
        raise FileRefused(f"{path.name} is empty: it has no columns.")
    text = {}
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            text[c] = s.dt.strftime("%Y-%m-%d").astype("string")
        elif pd.api.types.is_bool_dtype(s):
            text[c] = s.map({True: "yes", False: "no"}).astype("string")
        elif pd.api.types.is_float_dtype(s):
            whole = s.dropna().apply(float.is_integer).all()
            text[c] = (s.astype("Int64") if whole else s).astype("string")
        else:
            text[c] = s.map(_excel_cell_to_text).astype("string")
    frame = pd.DataFrame(text)
    frame, notes = _conform_columns(path, frame, contract, header_line=0)
    # Parquet has no line numbers: row 1 is the first record.
    return RawExtract(path, _blank_to_na(frame), np.arange(1, len(frame) + 1), notes, header_row=0)


def read_extract(path: str | Path, contract: Contract, *, encoding: str = "utf-8") -> RawExtract:
    """Read ``path`` as text columns matched to ``contract``; raise FileRefused if it cannot be used."""
    path = Path(path)
    if path.is_symlink():
        # A link can lead anywhere the user can read; the extract itself must be handed over.
        raise FileRefused(f"{path.name} is a symbolic link; it was not read. Copy the file itself and check that.")
    if not path.exists():
        raise FileRefused(f"{path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, contract, encoding)
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path, contract)
    if suffix == ".parquet":
        return _read_parquet(path, contract)
    raise FileRefused(
        f"{path.name}: files of type '{suffix or 'none'}' are not read; send CSV (UTF-8), Excel (.xlsx) or Parquet."
    )
