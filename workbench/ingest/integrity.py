"""Checks that an extract is physically what it claims to be, independently of the parser.

The reader (pandas, with the ``csv`` module for ragged files) can be fooled by damage it does not
report: an unclosed quote makes it swallow the following lines into one value, a NUL byte cuts a
value short, a file split by semicolons reads as one column. The checks here look at the text
themselves, so their findings do not depend on how the parser recovered:

- :func:`scan_records` counts a CSV's physical records with a strict, quote-aware line scan;
- :func:`control_character_cells` finds cells holding control characters;
- :func:`date_order_problem` detects a file's date order (day-first, month-first or mixed).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class RecordScan:
    """What the strict line scan found: record starts (file line numbers) and the first damage."""

    record_lines: list[int]
    damage: str | None = None  # a sentence naming the line, or None
    first_values: list[str] = field(default_factory=list)  # each record's first value, to align with the parser

    @property
    def records(self) -> int:
        return len(self.record_lines)


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
    """Count the records of CSV ``text`` (header excluded, blank lines skipped) line by line.

    A quoted value may span lines, but a continuation line that would on its own be a whole record
    (as many fields as the header) means a quote was left open: the scan reports the line where the
    quote opened instead of letting it swallow the records below, as a lenient parser does.
    """
    starts: list[int] = []
    firsts: list[str] = []
    width = None  # the header's number of fields; the header is scanned like a record, then not counted
    lines = enumerate(physical_lines(text), start=1)
    for start, line in lines:
        if _is_blank(line, delimiter):
            continue
        lengths, in_quote = _fields(line, False, delimiter)
        while in_quote:
            number, more = next(lines, (None, None))
            if more is None:
                return RecordScan(starts, f"line {start}: a quoted value opens there and is never closed, so "
                                          "every line after it would be read as part of that one value")
            alone, open_alone = _fields(more, False, delimiter)
            if len(alone) == width and not open_alone:
                return RecordScan(starts, f"line {start}: a quoted value opens there and is not closed on that "
                                          f"line, so line {number} and the records after it would be swallowed into it")
            cont, in_quote = _fields(more, True, delimiter)
            lengths[-1] += 1 + cont[0]  # the line break is part of the quoted value
            lengths.extend(cont[1:])
        if max(lengths) > field_limit:
            return RecordScan(starts, f"line {start}: a value is {max(lengths):,} characters long, more than "
                                      f"the {field_limit:,} allowed (the file is probably damaged)")
        if width is None:
            width = len(lengths)
        else:
            starts.append(start)
            firsts.append(line.split(delimiter, 1)[0].strip().strip('"').strip())
    return RecordScan(starts, None, firsts)


def divergence_line(scan: RecordScan, parsed_first: list[str]) -> int:
    """The line of the last record on which the scan and the parser still agree before they part.

    Both list each record's first value (the record id in every contract); the first position where
    they differ follows the record the parser misread (split in two, or merged with the next ones).
    """
    agree = 0
    for ours, theirs in zip(scan.first_values, parsed_first, strict=False):
        if ours != theirs.split("\n", 1)[0].strip():  # the scan keeps only a value's first line
            break
        agree += 1
    return scan.record_lines[max(agree - 1, 0)] if scan.record_lines else 1


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


def date_order_problem(text: pd.DataFrame, date_columns: list[str], row_numbers) -> str | None:
    """A plain sentence if the file's slash dates are month-first or mix orders, else None.

    A date such as 03/04/2021 reads either way; only a part above 12 shows the order. The file's
    order is taken from those telling dates, and must be day-first throughout: month-first (US)
    dates would otherwise be stored with day and month swapped wherever both are 12 or less.
    Values are not shown (dates of birth are identifiers): the message names line and column.
    """
    day_first = month_first = None
    for column in date_columns:
        values = text[column].astype("string")
        slashed = values.str.contains("/", regex=False).fillna(False).to_numpy().nonzero()[0]
        if not len(slashed):  # ISO dates only: nothing to tell
            continue
        parts = strip_midnight(values.iloc[slashed]).str.extract(_SLASH_DATE).astype("Float64")
        first, second = (parts[k].to_numpy(dtype=float, na_value=float("nan")) for k in (0, 1))
        only_day_first = slashed[(first > 12) & (second <= 12)]
        only_month_first = slashed[(second > 12) & (first <= 12)]
        if day_first is None and len(only_day_first):
            day_first = (int(row_numbers[only_day_first[0]]), column)
        if month_first is None and len(only_month_first):
            month_first = (int(row_numbers[only_month_first[0]]), column)
    if month_first is None:
        return None
    us = f"line {month_first[0]}, column {month_first[1]}, can only be read month first (MM/DD/YYYY)"
    fix = ("The workbench will not guess which dates have day and month swapped; export the file with "
           "dates as YYYY-MM-DD (or DD/MM/YYYY throughout) and send it again.")
    if day_first is not None:
        return (f"the file mixes day-first and month-first dates: {us}, but line {day_first[0]}, column "
                f"{day_first[1]}, can only be read day first (DD/MM/YYYY). {fix}")
    return f"the dates are written month first, US style: {us}. {fix}"


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
