"""Checks that an extract is physically what it claims to be, independently of the parser.

The reader (pandas, with the ``csv`` module for ragged files) can be fooled by damage it does not
report: an unclosed quote makes it swallow the following lines into one value, a NUL byte cuts a
value short, a file split by semicolons reads as one column. The checks here look at the text
themselves, so their findings do not depend on how the parser recovered:

- :func:`scan_records` (:func:`scan_lines` for a file read line by line) counts a CSV's physical
  records with a strict, quote-aware line scan;
- :func:`control_character_cells` finds cells holding control characters;
- :func:`date_order_problem` (:class:`DateOrder` for a file read in chunks) detects a file's date
  order (day-first, month-first or mixed).

What a scan keeps is compact (4 bytes per record for its line, 4 for a hash of its first value), so
a file of millions of records is checked without holding its text: see ``workbench.ingest.readers``.
"""

from __future__ import annotations

import datetime as dt
import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: The longest field a CSV may hold. Python's ``csv`` module stops at this size with "field larger
#: than field limit"; no contract field comes near it, so a longer field is damage, not data.
FIELD_LIMIT = 131_072
#: pandas' C parser ends a value at a NUL byte (``Smi\0th`` is read as ``Smi``); the reader puts this
#: visible stand-in (U+2400, SYMBOL FOR NULL) in its place so the cell can be refused whole.
NUL_STAND_IN = "\u2400"
#: C0 controls except tab and line breaks, DEL, C1 controls, and the NUL stand-in. No name, code or
#: date contains them; they come from binary corruption or copy-paste from other systems.
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + NUL_STAND_IN + "]"
_CONTROL = re.compile(CONTROL_CHARACTERS)
#: Delimiters other than the comma that spreadsheets and case systems export, as users call them.
OTHER_DELIMITERS = {";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}


def first_value_hash(value: str) -> int:
    """A 32-bit hash of a record's first value: enough to find where the scan and the parser part
    (a chance of 1 in 4 billion per record of missing the first difference by one record)."""
    return hash(value) & 0xFFFFFFFF


@dataclass(frozen=True)
class RecordScan:
    """What the strict line scan found: record starts (file line numbers) and the first damage."""

    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint32))  # each record's first line
    damage: str | None = None  # a sentence naming the line, or None
    #: a hash of each record's first value (:func:`first_value_hash`), to align with the parser
    first_hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint32))
    header_end: int = 0  # the last line of the header record (0: no header found)

    @property
    def record_lines(self) -> list[int]:
        return self.lines.tolist()

    @property
    def records(self) -> int:
        return len(self.lines)


def _fields(line: str, in_quote: bool, delimiter: str) -> tuple[list[int], bool]:
    """Field lengths of one physical line, continuing a quoted value if ``in_quote``.

    Returns the lengths and whether the line ends inside a quoted value.
    """
    if not in_quote and '"' not in line:  # the common case, without a per-character loop
        return [len(f) for f in line.split(delimiter)], False
    lengths, current = [], 0
    i = 0
    while i < len(line):
        ch = line[i]
        if in_quote:
            if ch == '"' and line[i + 1 : i + 2] == '"':
                current += 1
                i += 1
            elif ch == '"':
                in_quote = False
            else:
                current += 1
        elif ch == '"':
            in_quote = True
        elif ch == delimiter:
            lengths.append(current)
            current = 0
        else:
            current += 1
        i += 1
    lengths.append(current)
    return lengths, in_quote


def _is_blank(line: str, delimiter: str) -> bool:
    return not line.replace(delimiter, "").replace('"', "").strip()


def physical_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time, without their line ends (no copy of the whole text)."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        yield text[start:end].rstrip("\r")
        start = end + 1


def first_line(text: str) -> str:
    """The first line of ``text`` that is not blank (the header of a CSV)."""
    return next((line for line in physical_lines(text) if line.strip()), "")


def scan_records(text: str, delimiter: str = ",", field_limit: int = FIELD_LIMIT) -> RecordScan:
    """Count the records of CSV ``text`` (header excluded, blank lines skipped) line by line."""
    return scan_lines(physical_lines(text), delimiter, field_limit)


def scan_lines(physical: Iterable[str], delimiter: str = ",", field_limit: int = FIELD_LIMIT) -> RecordScan:
    """Count the records of a CSV given as its physical lines (without line ends), one at a time.

    A quoted value may span lines, but a continuation line that would on its own be a whole record
    (as many fields as the header) means a quote was left open: the scan reports the line where the
    quote opened instead of letting it swallow the records below, as a lenient parser does.
    """
    starts = array("I")
    firsts = array("I")

    def result(damage: str | None = None) -> RecordScan:
        return RecordScan(np.frombuffer(starts, np.uint32) if starts else np.zeros(0, np.uint32), damage,
                          np.frombuffer(firsts, np.uint32) if firsts else np.zeros(0, np.uint32), header_end)

    blank_starts = {delimiter, '"'}
    width = None  # the header's number of fields; the header is scanned like a record, then not counted
    header_end = 0
    lines = enumerate(physical, start=1)
    for start, line in lines:
        # A line starting with a letter or digit is not blank (most lines: no per-line replace).
        if (not line or line[0] in blank_starts or line[0].isspace()) and _is_blank(line, delimiter):
            continue
        if width is not None and '"' not in line and len(line) <= field_limit:
            # The common record: one line, no quotes, so no field is longer than the line; its
            # field lengths are not needed (they were most of the scan's time).
            starts.append(start)
            firsts.append(first_value_hash(line.split(delimiter, 1)[0].strip().strip('"').strip()))
            continue
        end = start
        lengths, in_quote = _fields(line, False, delimiter)
        while in_quote:
            number, more = next(lines, (None, None))
            if more is None:
                return result(f"line {start}: a quoted value opens there and is never closed, so "
                              "every line after it would be read as part of that one value")
            end = number
            alone, open_alone = _fields(more, False, delimiter)
            if len(alone) == width and not open_alone:
                return result(f"line {start}: a quoted value opens there and is not closed on that "
                              f"line, so line {number} and the records after it would be swallowed into it")
            cont, in_quote = _fields(more, True, delimiter)
            lengths[-1] += 1 + cont[0]  # the line break is part of the quoted value
            lengths.extend(cont[1:])
        if max(lengths) > field_limit:
            return result(f"line {start}: a value is {max(lengths):,} characters long, more than "
                          f"the {field_limit:,} allowed (the file is probably damaged)")
        if width is None:
            width, header_end = len(lengths), end
        else:
            starts.append(start)
            firsts.append(first_value_hash(line.split(delimiter, 1)[0].strip().strip('"').strip()))
    return result()


def parsed_first_hashes(values: Iterable[object]) -> np.ndarray:
    """:func:`first_value_hash` of each record's first value as the parser read it (a value spanning
    lines is compared by its first line, as the scan keeps only that)."""
    return np.fromiter((first_value_hash(str(v).split("\n", 1)[0].strip()) for v in values), np.uint32)


def agreeing_records(scan: RecordScan, parsed: np.ndarray, offset: int = 0) -> int:
    """How many of the parsed records ``parsed`` (first-value hashes, the first being record
    ``offset``) agree with the scan before the first difference."""
    theirs = parsed[: max(scan.records - offset, 0)]
    differ = np.flatnonzero(scan.first_hashes[offset : offset + len(theirs)] != theirs)
    return int(differ[0]) if len(differ) else len(theirs)


def divergence_line_at(scan: RecordScan, agree: int) -> int:
    """The line of the last record on which the scan and the parser agree (``agree`` records)."""
    return int(scan.lines[max(agree - 1, 0)]) if scan.records else 1


def divergence_line(scan: RecordScan, parsed_first: list[str]) -> int:
    """The line of the last record on which the scan and the parser still agree before they part.

    Both list each record's first value (the record id in every contract); the first position where
    they differ follows the record the parser misread (split in two, or merged with the next ones).
    """
    return divergence_line_at(scan, agreeing_records(scan, parsed_first_hashes(parsed_first)))


def other_delimiter(header_line: str, expected: set[str], normalise) -> str | None:
    """The name of the delimiter that splits ``header_line`` into expected columns, if not the comma."""
    if "," in header_line:
        return None
    for delimiter, name in OTHER_DELIMITERS.items():
        parts = [normalise(p.strip('"')) for p in header_line.split(delimiter)]
        if len(parts) > 1 and any(p in expected for p in parts):
            return name
    return None


def control_character_cells(text: pd.DataFrame) -> list[tuple[int, str]]:
    """(position, column) of every cell holding a control character, in column order."""
    out: list[tuple[int, str]] = []
    for column in text.columns:
        values = text[column].astype("string").to_numpy(dtype=object, na_value="")
        if not _CONTROL.search("".join(values)):  # one scan of the column's text: the usual, clean case
            continue
        hit = text[column].astype("string").str.contains(CONTROL_CHARACTERS, regex=True).fillna(False)
        out += [(int(i), column) for i in hit.to_numpy().nonzero()[0]]
    return out


#: A date written with slashes, captured as (first part, second part).
_SLASH_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/\d{4}\s*$")
#: A time of midnight after a date, as spreadsheets add when they export a date as date-time.
_MIDNIGHT = re.compile(r"^(\S+)[ T]00:00(?::00(?:\.0+)?)?$")


def strip_midnight(text: pd.Series) -> pd.Series:
    """``2021-03-04 00:00:00`` is the date 2021-03-04; any other time of day is left for the parser to refuse."""
    text = text.astype("string")
    timed = text.str.contains(":", regex=False).fillna(False).to_numpy()
    if not timed.any():  # most files: no times at all, nothing to rewrite
        return text
    out = text.copy()
    out[timed] = text[timed].str.replace(_MIDNIGHT, r"\1", regex=True)
    return out


class DateOrder:
    """The date order of a file read in chunks, in order: :func:`date_order_problem` of all of them.

    Per date column it keeps the first line whose slash date can only be read day first, and the
    first that can only be read month first; nothing else.
    """

    def __init__(self, date_columns: list[str]):
        self.columns = list(date_columns)
        self.day_first: dict[str, int] = {}
        self.month_first: dict[str, int] = {}

    def add(self, text: pd.DataFrame, row_numbers) -> None:
        for column in self.columns:
            if column in self.day_first and column in self.month_first:
                continue
            values = text[column].astype("string")
            slashed = values.str.contains("/", regex=False).fillna(False).to_numpy().nonzero()[0]
            if not len(slashed):  # ISO dates only: nothing to tell
                continue
            parts = strip_midnight(values.iloc[slashed]).str.extract(_SLASH_DATE).astype("Float64")
            first, second = (parts[k].to_numpy(dtype=float, na_value=float("nan")) for k in (0, 1))
            only_day_first = slashed[(first > 12) & (second <= 12)]
            only_month_first = slashed[(second > 12) & (first <= 12)]
            if column not in self.day_first and len(only_day_first):
                self.day_first[column] = int(row_numbers[only_day_first[0]])
            if column not in self.month_first and len(only_month_first):
                self.month_first[column] = int(row_numbers[only_month_first[0]])

    def problem(self) -> str | None:
        # The first column (in contract order) that shows an order names it, as for a whole file.
        day_first = next(((self.day_first[c], c) for c in self.columns if c in self.day_first), None)
        month_first = next(((self.month_first[c], c) for c in self.columns if c in self.month_first), None)
        if month_first is None:
            return None
        us = f"line {month_first[0]}, column {month_first[1]}, can only be read month first (MM/DD/YYYY)"
        fix = ("The workbench will not guess which dates have day and month swapped; export the file with "
               "dates as YYYY-MM-DD (or DD/MM/YYYY throughout) and send it again.")
        if day_first is not None:
            return (f"the file mixes day-first and month-first dates: {us}, but line {day_first[0]}, column "
                    f"{day_first[1]}, can only be read day first (DD/MM/YYYY). {fix}")
        return f"the dates are written month first, US style: {us}. {fix}"


def date_order_problem(text: pd.DataFrame, date_columns: list[str], row_numbers) -> str | None:
    """A plain sentence if the file's slash dates are month-first or mix orders, else None.

    A date such as 03/04/2021 reads either way; only a part above 12 shows the order. The file's
    order is taken from those telling dates, and must be day-first throughout: month-first (US)
    dates would otherwise be stored with day and month swapped wherever both are 12 or less.
    Values are not shown (dates of birth are identifiers): the message names line and column.
    """
    order = DateOrder(date_columns)
    order.add(text, row_numbers)
    return order.problem()


#: Excel counts days from 1899-12-30; serials 10000 to 99999 are the years 1927 to 2173, the only
#: range in which a whole number in a date column is plausibly an unformatted Excel date.
EXCEL_EPOCH = dt.date(1899, 12, 30)
_SERIAL = re.compile(r"^\s*[1-9]\d{4}(?:\.0+)?\s*$")


def excel_serial_date(value: object) -> dt.date | None:
    """The date an Excel serial number such as ``44197`` stands for, or None if ``value`` is not one.

    It is used only for a hint in the message: a serial is never converted silently, because the
    same digits in a CSV could be anything.
    """
    if not isinstance(value, str) or not _SERIAL.match(value):
        return None
    return EXCEL_EPOCH + dt.timedelta(days=int(float(value)))
