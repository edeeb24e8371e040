"""Read an extract (CSV, Excel or Parquet) into text columns, with each row's number as it stands in the file.

Everything is read as text so that validation, not the reader, decides what a value means: a
reader that guessed types would silently turn "01/02/2021" into a number or drop leading zeros.
A file that cannot be read at all (empty, not UTF-8, no recognisable header) raises
:class:`FileRefused` with a message a non-programmer can act on.

A CSV is read in chunks of rows (:func:`open_csv`), so that a file of hundreds of megabytes is
validated without holding it, or a frame of it, whole:

1. a first pass decodes the file in blocks of whole lines and runs the independent line scan
   (``integrity.scan_lines``), keeping only each record's line and a hash of its first value;
2. a second pass cuts the text into pieces at records the scan found, and parses each piece with
   the header and the record before it (which pandas does not check against the header's width, as
   it does not check a file's first record) in front. A piece parsed without error ends outside any
   quoted value, so the pieces together are parsed exactly as the whole file would be. Where that
   cannot be shown (a quote the parser and the scan read differently, records that do not line up,
   a first record wider than the header) the file is read whole instead, as before: only damaged
   files pay that price.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.contracts.model import Contract
from workbench.ingest.integrity import (
    NUL_STAND_IN,
    RecordScan,
    agreeing_records,
    divergence_line,
    divergence_line_at,
    first_line,
    other_delimiter,
    parsed_first_hashes,
    scan_lines,
    scan_records,
)

SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".parquet")
#: How many rows at the top of a spreadsheet are searched for the header row.
HEADER_SEARCH_ROWS = 20
#: A CSV is decoded in blocks of about this many bytes (cut after a line end).
BLOCK_BYTES = 1 << 23
#: A CSV is parsed and validated in pieces of about this many characters of text: the memory a
#: piece needs while it is checked is some ten times this (pandas holds each cell as an object).
PIECE_CHARACTERS = 1 << 22


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


def _codec(encoding: str) -> str:
    """The codec a CSV is decoded with: UTF-8 with or without a byte order mark, or as given."""
    return "utf-8-sig" if encoding.lower().replace("-", "") in ("utf8", "utf8sig") else encoding


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
        out[j] = s.mask(s == "")
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
    if records_read != scan.records:
        _miscount(path, scan, records_read, divergence_line(scan, parsed_first))


def _miscount(path: Path, scan: RecordScan, records_read: int, line: int) -> None:
    raise FileRefused(
        f"{path.name}: a line-by-line count finds {scan.records:,} records but the parser read "
        f"{records_read:,}; the difference starts at line {line}. "
        "The file was not loaded; check it there."
    )


def _read_csv_whole(path: Path, contract: Contract, encoding: str) -> RawExtract:
    """The whole file at once: the fallback of :class:`CsvStream` when pieces cannot be shown to
    parse as the whole file would (damaged quoting, records that do not line up)."""
    data = path.read_bytes()
    if not data.strip():
        raise FileRefused(f"{path.name} is empty: it has no header and no rows.")
    text = _decode(path, data, _codec(encoding))
    scan = _refuse_damage(path, text, contract)
    text = text.replace("\x00", NUL_STAND_IN)  # pandas would end the value at a NUL byte
    malformed: list[tuple[int, str]] = []
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False
        )
        # pandas renames a repeated column ("a", "a.1"): put back the names as written so they are refused.
        header = _header_values(path, first_line(text))
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


def _header_values(path: Path, line: str) -> list[str]:
    """The header line's values; a file whose header cannot be split into values is refused."""
    try:
        return next(csv.reader(io.StringIO(line)), [])
    except csv.Error as exc:  # e.g. a bare carriage return inside a column name
        problem = "a line break inside a value that is not in quotes" if "new-line" in str(exc) else str(exc)
        raise FileRefused(f"{path.name}: the header (line 1): {problem}; the file cannot be split into values "
                          "there. It was not loaded.") from None


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


# ---------------------------------------------------------------------------------------------
# A CSV read in pieces (see the module docstring)
# ---------------------------------------------------------------------------------------------

#: Yielded by :meth:`CsvStream.chunks` when what was yielded before must be forgotten: the file is
#: read again another way (line by line for ragged rows, or whole).
RESTART = object()
_READ_OPTIONS = dict(dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False)


class _ReadWhole(Exception):
    """The pieces cannot be shown to parse as the whole file would: read it whole."""


class _Ragged(Exception):
    """The parser found a line with more values than the header: read line by line, as before."""


def _byte_blocks(path: Path, whole: bool) -> Iterator[bytes]:
    """The file in blocks of whole lines (cut after a line end), or whole."""
    with path.open("rb") as fh:
        if whole:
            yield fh.read()
            return
        rest = b""
        while True:
            data = fh.read(BLOCK_BYTES)
            if not data:
                if rest:
                    yield rest
                return
            data = rest + data if rest else data
            cut = data.rfind(b"\n") + 1
            rest, data = (data, b"") if cut == 0 else (data[cut:], data[:cut])
            if data:
                yield data


class _Decoded:
    """The text of a CSV in blocks of whole lines, decoded as the whole file would be.

    A byte that is not valid in the encoding refuses the file naming its line, as before. Blocks are
    cut after a line-feed byte, which is a line feed in every encoding that writes ASCII as ASCII; any
    other encoding (UTF-16) is decoded whole.
    """

    def __init__(self, path: Path, encoding: str):
        self.path = path
        self.codec = _codec(encoding)
        self.name = "utf-8" if self.codec == "utf-8-sig" else self.codec
        self.whole = codecs.encode('\n,"\r', self.name) != b'\n,"\r'
        self.nonblank = False  # any byte that is not white space (bytes.strip)
        self.has_nul = False

    def blocks(self, nul_stand_in: bool = False) -> Iterator[str]:
        lines_before = 0
        first = True
        for block in _byte_blocks(self.path, self.whole):
            if first and self.codec == "utf-8-sig" and block.startswith(codecs.BOM_UTF8):
                block = block[len(codecs.BOM_UTF8):]
            first = False
            self.nonblank = self.nonblank or bool(block.strip())
            try:
                text = block.decode(self.name)
            except UnicodeDecodeError as exc:
                line = lines_before + block[: exc.start].count(b"\n") + 1
                bad = block[exc.start : exc.start + 1].hex().upper()
                raise FileRefused(
                    f"{self.path.name} is not readable as {self.codec.upper()} text: the byte 0x{bad} on line {line} "
                    "is not valid. Save the file as 'CSV UTF-8 (Comma delimited)' from Excel, or tell the "
                    "workbench the file's encoding with --encoding (for example --encoding cp1252)."
                ) from None
            lines_before += block.count(b"\n")
            if "\x00" in text:
                self.has_nul = True
                if nul_stand_in:
                    text = text.replace("\x00", NUL_STAND_IN)  # pandas would end the value at a NUL byte
            yield text


def _physical_lines(blocks: Iterator[str]) -> Iterator[str]:
    """``integrity.physical_lines`` of the concatenated blocks (each block ends after a line feed)."""
    last = ""
    for block in blocks:
        parts = block.split("\n")
        last = parts.pop()
        for part in parts:
            yield part.rstrip("\r")
    yield last.rstrip("\r")


def _lines_with_ends(blocks: Iterator[str]) -> Iterator[str]:
    """The lines of the concatenated blocks with their line feeds, as iterating ``io.StringIO`` gives."""
    for block in blocks:
        start = 0
        while True:
            end = block.find("\n", start) + 1
            if end == 0:
                if start < len(block):
                    yield block[start:]
                break
            yield block[start:end]
            start = end


class CsvStream:
    """A CSV extract read in chunks of rows; see :func:`open_csv` and the module docstring."""

    def __init__(self, path: Path, contract: Contract, encoding: str, piece_characters: int):
        self.path, self.contract, self.encoding = path, contract, encoding
        self.piece_characters = max(1, piece_characters)
        self.notes: list[str] = []
        self.malformed_rows: list[tuple[int, str]] = []
        self.rows_read = 0
        self.header_row = 1
        self._first_pass()

    # -- the first pass: decoding and the independent scan -------------------------------------

    def _first_pass(self) -> None:
        path = self.path
        decoded = _Decoded(path, self.encoding)
        self.characters = 0
        header_line: list[str] = []

        def counted(blocks: Iterator[str]) -> Iterator[str]:
            for block in blocks:
                self.characters += len(block)
                if not header_line:
                    found = first_line(block)
                    if found:
                        header_line.append(found)
                yield block

        blocks = counted(decoded.blocks())
        scan = scan_lines(_physical_lines(blocks))
        for _ in blocks:  # a scan that stopped at damage: the rest must still decode, as before
            pass
        if not decoded.nonblank:
            raise FileRefused(f"{path.name} is empty: it has no header and no rows.")
        delimiter = other_delimiter(header_line[0] if header_line else "", set(self.contract.field_names),
                                    _normalise_header)
        if delimiter:
            raise FileRefused(
                f"{path.name}: the values on line 1 are separated by {delimiter}, not commas. Save the file as "
                "'CSV UTF-8 (Comma delimited)' and send it again."
            )
        if scan.damage:
            raise FileRefused(f"{path.name}: {scan.damage}. The file was not loaded; repair it there and send it again.")
        self.scan, self.header_line = scan, header_line[0] if header_line else ""
        self.decoded = decoded

    # -- the second pass ------------------------------------------------------------------------

    def _cuts(self) -> np.ndarray:
        """The records at which pieces start (after the first): each right after a one-line record.

        The record before a cut is parsed twice (last of one piece, first of the next): pandas does
        not check a piece's first record against the header's width, so that one must have been
        checked already, and must be a single line so the next piece starts cleanly.
        """
        lines = self.scan.lines.astype(np.int64)
        if len(lines) < 2:
            return np.zeros(0, np.int64)
        per_piece = max(2, int(self.piece_characters * len(lines) / max(self.characters, 1)))
        eligible = np.flatnonzero(np.diff(lines) == 1) + 1  # record r follows a one-line record r - 1
        targets = np.arange(per_piece, len(lines), per_piece)
        at = np.searchsorted(eligible, targets)
        return np.unique(eligible[at[at < len(eligible)]])

    def _pieces(self) -> Iterator[tuple[int, str]]:
        """(first record, text) of each piece: the first from the file's start, later ones after the
        header and the record before the cut."""
        cuts = self._cuts()
        cut_lines = self.scan.lines[cuts].astype(np.int64).tolist() + [0]
        header_end = self.scan.header_end
        preamble: list[str] = []
        parts: list[str] = []
        previous = ""
        first_record, k = 0, 0
        for number, line in enumerate(_lines_with_ends(self.decoded.blocks(nul_stand_in=True)), start=1):
            if number == cut_lines[k]:
                yield first_record, "".join(parts)
                first_record, k = int(cuts[k]), k + 1
                parts = [*preamble, previous]
            parts.append(line)
            if number <= header_end:
                preamble.append(line)
            previous = line
        yield first_record, "".join(parts)

    def chunks(self) -> Iterator[object]:
        """The file's records as (text frame matched to the contract, row numbers), chunk by chunk.

        May yield :data:`RESTART`: forget what came before, the file is being read another way.
        Raises :class:`FileRefused` at the end for what refuses the file only once it is all read
        (a record count that differs from the scan, an unusable header).
        """
        try:
            yield from self._piece_chunks()
            return
        except _Ragged:
            yield RESTART
            self.notes, self.rows_read = [], 0
            yield from self._ragged_chunks()
            return
        except _ReadWhole:
            pass
        yield RESTART
        raw = _read_csv_whole(self.path, self.contract, self.encoding)
        self.notes, self.malformed_rows, self.rows_read = raw.notes, raw.malformed_rows, raw.rows_read
        yield raw.frame, np.asarray(raw.row_numbers)

    def _conform(self, frame: pd.DataFrame, state: dict, blanked: bool = False) -> tuple[pd.DataFrame | None, list[str]]:
        """The chunk matched to the contract; a header problem is kept to refuse the file at the end.
        ``blanked``: the frame's blanks are missing already (:func:`_blank_to_na`)."""
        if state.get("refusal") is not None:
            return None, []
        try:
            conformed, notes = _conform_columns(self.path, frame, self.contract)
        except FileRefused as exc:
            state["refusal"] = exc
            return None, []
        if not blanked:
            return _blank_to_na(conformed), notes
        added = [c for c in conformed.columns if conformed[c].dtype != "string"]  # optional columns not sent
        return (conformed.astype(dict.fromkeys(added, "string")) if added else conformed), notes

    def _piece_chunks(self) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        scan = self.scan
        header = _header_values(self.path, self.header_line)
        state: dict = {}
        done = 0  # records read so far
        for first_record, text in self._pieces():
            try:
                frame = pd.read_csv(io.StringIO(text), **_READ_OPTIONS)
            except pd.errors.EmptyDataError:
                if first_record:
                    raise _ReadWhole from None
                raise FileRefused(f"{self.path.name} is empty: it has no header and no rows.") from None
            except pd.errors.ParserError as exc:
                # A line wider than the header: the whole file would fail the same way, at that line.
                raise (_Ragged if "Expected" in str(exc) else _ReadWhole) from None
            del text
            if not isinstance(frame.index, pd.RangeIndex):
                raise _ReadWhole  # pandas took the first column as an index: a first record too wide
            if first_record:
                frame = frame.iloc[1:].reset_index(drop=True)  # the record before the cut, read already
            if len(header) == frame.shape[1]:
                frame.columns = header
            # Blanks made missing once, for both the blank-row test and the contract's columns.
            blanked = _blank_to_na(frame)
            keep = ~(blanked.isna().all(axis=1)).to_numpy() if len(frame) else np.ones(0, bool)
            frame = frame[keep].reset_index(drop=True)
            blanked = blanked[keep].reset_index(drop=True)
            expected = (self._next_cut(first_record) or scan.records) - first_record
            first = frame.iloc[:, 0].str.strip() if frame.shape[1] else pd.Series([], dtype=object)
            del frame
            if (first_record != done or len(blanked) != expected
                    or agreeing_records(scan, parsed_first_hashes(first), done) != len(blanked)):
                raise _ReadWhole  # the pieces do not line up with the scan: read whole to say where
            rows = scan.lines[done : done + len(blanked)].astype(np.int64)
            done += len(blanked)
            conformed, notes = self._conform(blanked, state, blanked=True)
            if not self.notes:
                self.notes = notes
            del blanked
            if conformed is not None:
                yield conformed, rows
        self.rows_read = done
        if done != scan.records:
            raise _ReadWhole
        if state.get("refusal") is not None:
            raise state["refusal"]

    def _next_cut(self, first_record: int) -> int | None:
        cuts = getattr(self, "_cut_list", None)
        if cuts is None:
            cuts = self._cut_list = self._cuts().tolist()
        at = np.searchsorted(cuts, first_record, side="right")
        return int(cuts[at]) if at < len(cuts) else None

    def _ragged_rows(self) -> Iterator[tuple[list[str], int | None, str | None]]:
        """(record, line number, None) for each record with the header's width, (None, line, problem)
        for each that has another width and is not blank; the header first, with line None."""
        reader = csv.reader(_lines_with_ends(self.decoded.blocks(nul_stand_in=True)))
        try:
            header = next(reader)
        except StopIteration:
            header = []
        yield header, None, None
        try:
            for record in reader:
                # reader.line_num is the file line on which this record ends.
                if len(record) == len(header):
                    yield record, reader.line_num, None
                elif any(v.strip() for v in record):
                    yield None, reader.line_num, f"the line has {len(record)} values but the header has {len(header)}"
        except csv.Error as exc:  # e.g. a bare carriage return inside a value: this file's problem only
            problem = "a line break inside a value that is not in quotes" if "new-line" in str(exc) else str(exc)
            raise FileRefused(f"{self.path.name}: line {reader.line_num + 1}: {problem}; the file cannot be split "
                              "into values there. It was not loaded.") from None

    def _ragged_chunks(self) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """Some lines have the wrong number of values: read line by line so they can be quarantined.

        Read twice: first to learn whether any line is malformed (which decides how rows are
        numbered, as before), then in chunks."""
        scan = self.scan
        malformed = [(line, problem) for record, line, problem in self._ragged_rows() if record is None]
        by_scan = not malformed
        per_chunk = max(1, int(self.piece_characters * max(scan.records, 1) / max(self.characters, 1)))
        state: dict = {}
        done, agree = 0, None
        rows_iter = self._ragged_rows()
        header = next(rows_iter)[0]

        def frames() -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
            batch, numbers = [], []
            for record, line, _ in rows_iter:
                if record is None:
                    continue
                batch.append(record)
                numbers.append(line)
                if len(batch) == per_chunk:
                    yield pd.DataFrame(batch, columns=header, dtype=str), np.asarray(numbers, dtype=np.int64)
                    batch, numbers = [], []
            if batch or not done:
                yield pd.DataFrame(batch, columns=header, dtype=str), np.asarray(numbers, dtype=np.int64)

        for frame, numbers in frames():
            keep = ~(_blank_to_na(frame).isna().all(axis=1)).to_numpy() if len(frame) else np.ones(0, bool)
            frame, numbers = frame[keep].reset_index(drop=True), numbers[keep]
            first = frame.iloc[:, 0].str.strip() if frame.shape[1] else pd.Series([], dtype=object)
            if agree is None:
                agreed = agreeing_records(scan, parsed_first_hashes(first), done)
                if agreed < len(frame):
                    agree = done + agreed
            if by_scan:
                numbers = scan.lines[done : done + len(frame)].astype(np.int64)
            done += len(frame)
            conformed, notes = self._conform(frame, state)
            if not self.notes:
                self.notes = notes
            if conformed is not None and (not by_scan or done <= scan.records):
                yield conformed, numbers
        self.malformed_rows = malformed
        self.rows_read = done + len(malformed)
        if self.rows_read != scan.records:
            agreed = min(done if agree is None else agree, scan.records)
            _miscount(self.path, scan, self.rows_read, divergence_line_at(scan, agreed))
        if state.get("refusal") is not None:
            raise state["refusal"]


def open_csv(path: str | Path, contract: Contract, *, encoding: str = "utf-8",
             piece_characters: int = PIECE_CHARACTERS) -> CsvStream:
    """Read a CSV extract in chunks: the first pass (decoding, the line scan) runs now and raises
    :class:`FileRefused` for what it finds; :meth:`CsvStream.chunks` yields the rows."""
    path = Path(path)
    _refuse_unreadable(path)
    return CsvStream(path, contract, encoding, piece_characters)


def _refuse_unreadable(path: Path) -> None:
    if path.is_symlink():
        # A link can lead anywhere the user can read; the extract itself must be handed over.
        raise FileRefused(f"{path.name} is a symbolic link; it was not read. Copy the file itself and check that.")
    if not path.exists():
        raise FileRefused(f"{path} does not exist.")


def read_extract(path: str | Path, contract: Contract, *, encoding: str = "utf-8") -> RawExtract:
    """Read ``path`` as text columns matched to ``contract``; raise FileRefused if it cannot be used."""
    path = Path(path)
    _refuse_unreadable(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv_whole(path, contract, encoding)
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path, contract)
    if suffix == ".parquet":
        return _read_parquet(path, contract)
    raise FileRefused(
        f"{path.name}: files of type '{suffix or 'none'}' are not read; send CSV (UTF-8), Excel (.xlsx) or Parquet."
    )
