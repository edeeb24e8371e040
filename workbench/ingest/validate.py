"""Validate an extract against its data contract, collecting every problem in one pass.

Two stages:
1. *Parsing* turns each text cell into its contract type (date, whole number, yes/no, category
   code). A cell that cannot be parsed is a ``type`` problem.
2. *Checking*: a pandera schema built from the contract checks required values, allowed codes,
   formats, ranges, unique record ids, dates not after the extract date, and the contract's
   cross-field rules (an end not before its start...), lazily so every failure is reported.

Each problem becomes one row of ``ValidationResult.issues`` (file, row number as it stands in the
file, column, rule, plain-English message, offending value). A row with any problem is quarantined
with its reasons; the others are accepted. ``rows_read == rows_accepted + rows_quarantined`` always.

A CSV is validated in chunks of rows as it is read (``readers.open_csv``), so its memory is that of
one chunk plus what is kept: the problems, the quarantined rows, the accepted rows in compact form
(text as Arrow strings) and, for the record id, a 16-byte fingerprint of each id seen so far. A
repeated record id is found across chunks: the rows of its first occurrence in earlier chunks are
put in front of the chunk for the uniqueness check (and their own problems dropped), so the check,
its order among the other problems and the "first used on row" it names are those of the whole file.

Which values are echoed (:func:`shown_value`). Messages, ``issues.csv``, the console, the report
and the quarantine files show an offending value only where it cannot be an identifier; otherwise
it shows as ``[withheld]`` and the message still names the row, the column and the rule:

- values of direct-identifier fields (names, dates of birth, NI numbers, client references) are
  always withheld;
- a value in any other field is shown only if it is (case, spaces, ``_`` and ``-`` ignored) a code
  or label of any vocabulary of the contracts, or one edit (a letter added, dropped, changed or two
  swapped) from a code or label of the field's own vocabulary (a mistyped code: ``Femal``), or has
  no letters, at most 12 characters and at most 8 digits (a mistyped date or number:
  ``31/13/2020``; an NHS or phone number has more digits), or is a record id in the contract's
  format (the store keeps it anyway);
- anything else (a surname typed into ``gender``, an NI number into ``ethnicity``, a name into a
  date field, free text) and any value holding a control character is withheld.
"""

from __future__ import annotations

import datetime as dt
import gc
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow

from workbench.contracts.model import (
    DATE_FORMATS,
    FALSE_WORDS,
    LIST_SEPARATOR,
    TRUE_WORDS,
    Contract,
    FieldSpec,
    load_contracts,
)
from workbench.ingest.integrity import (
    CONTROL_CHARACTERS,
    DateOrder,
    control_character_cells,
    excel_serial_date,
    strip_midnight,
)
from workbench.ingest.readers import (
    PIECE_CHARACTERS,
    RESTART,
    FileRefused,
    RawExtract,
    open_csv,
    read_extract,
)

WITHHELD = "[withheld]"
#: A full garbage collection after this many rows validated (about one default piece; see validate_file).
COLLECT_EVERY_ROWS = 20_000
#: What a result keeps of the accepted rows: every value, the row number and record id, or the count.
ACCEPTED_COLUMNS = ("all", "record_id", "none")
ISSUE_COLUMNS = ["file", "row_number", "column", "rule", "message", "value"]
_ISSUE_SCHEMA = pyarrow.schema([(c, pyarrow.int64() if c == "row_number" else pyarrow.string()) for c in ISSUE_COLUMNS])


@dataclass
class ValidationResult:
    """What validating one file found. Counts always reconcile: read = accepted + quarantined."""

    file: str
    source: str
    contract_version: str
    extract_date: dt.date
    refused: bool = False
    refusal_reason: str | None = None
    rows_read: int = 0
    accepted: pd.DataFrame = field(default_factory=pd.DataFrame)
    quarantined: pd.DataFrame = field(default_factory=pd.DataFrame)
    issues: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ISSUE_COLUMNS))
    notes: list[str] = field(default_factory=list)

    @property
    def rows_accepted(self) -> int:
        return len(self.accepted)

    @property
    def rows_quarantined(self) -> int:
        return len(self.quarantined)

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_accepted + self.rows_quarantined

    def counts_line(self) -> str:
        if self.refused:
            return f"{self.file}: REFUSED - {self.refusal_reason}"
        return (
            f"{self.file}: rows read {self.rows_read:,} = accepted {self.rows_accepted:,} "
            f"+ quarantined {self.rows_quarantined:,}"
        )


# ---------------------------------------------------------------------------------------------
# Parsing text into contract types
# ---------------------------------------------------------------------------------------------


def _parse_dates(text: pd.Series) -> pd.Series:
    text = strip_midnight(text)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    todo = text.notna()
    for fmt in DATE_FORMATS:
        if not todo.any():
            break
        attempt = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        parsed[attempt.index] = parsed[attempt.index].fillna(attempt)
        todo = todo & parsed.isna()
    return parsed


def _parse_integers(text: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(text, errors="coerce")
    whole = numbers.notna() & (numbers == np.floor(numbers.fillna(0)))
    return numbers.where(whole).astype("Int64")


def _parse_booleans(text: pd.Series) -> pd.Series:
    lowered = text.str.lower()
    out = pd.Series(pd.NA, index=text.index, dtype="boolean")
    out[lowered.isin(TRUE_WORDS).fillna(False).astype(bool)] = True
    out[lowered.isin(FALSE_WORDS).fillna(False).astype(bool)] = False
    return out


def _type_hint(spec: FieldSpec) -> str:
    return {
        "date": "is not a valid date (write dates as YYYY-MM-DD, e.g. 2021-03-31)",
        "integer": "is not a whole number",
        "boolean": "is not yes or no",
    }[spec.type]


def parse_column(spec: FieldSpec, text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (typed values, mask of cells whose text could not be parsed)."""
    if spec.type == "date":
        typed = _parse_dates(text)
    elif spec.type == "integer":
        typed = _parse_integers(text)
    elif spec.type == "boolean":
        typed = _parse_booleans(text)
    else:
        return text.astype("string"), pd.Series(False, index=text.index)
    return typed, text.notna() & typed.isna()


# ---------------------------------------------------------------------------------------------
# The pandera schema built from a contract
# ---------------------------------------------------------------------------------------------


def _limit(spec: FieldSpec, value: object) -> object:
    return pd.Timestamp(value) if spec.type == "date" else value


def _codes_all_allowed(allowed: frozenset[str]):
    def check(series: pd.Series) -> pd.Series:
        codes = series.str.split(LIST_SEPARATOR).explode().str.strip()
        ok = codes.isna() | codes.isin(allowed) | (codes == "")
        return ok.groupby(level=0).all().reindex(series.index, fill_value=True)

    return check


def build_schema(contract: Contract, extract_date: dt.date) -> pa.DataFrameSchema:
    """The pandera schema for a parsed extract. Each check's ``error`` is the rule name reported.

    Uniqueness (``unique: true`` in the contract) is checked within the frame given; across the
    chunks of a file :class:`_Validation` puts earlier first occurrences in front."""
    extract_ts = pd.Timestamp(extract_date)
    columns: dict[str, pa.Column] = {}
    for spec in contract.fields:
        checks: list[pa.Check] = []
        if spec.type == "category":
            checks.append(pa.Check.isin(list(spec.allowed), error="allowed_values"))
        if spec.type == "category_list":
            checks.append(pa.Check(_codes_all_allowed(frozenset(spec.allowed)), error="allowed_values"))
        if spec.pattern:
            checks.append(pa.Check.str_matches(spec.pattern, error="pattern"))
        if spec.max_length:
            checks.append(pa.Check.str_length(max_value=spec.max_length, error="max_length"))
        if spec.min is not None:
            checks.append(pa.Check.ge(_limit(spec, spec.min), error="min"))
        if spec.max is not None:
            checks.append(pa.Check.le(_limit(spec, spec.max), error="max"))
        if spec.type == "date":
            checks.append(pa.Check.le(extract_ts, error="not_after_extract_date"))
        columns[spec.name] = pa.Column(
            nullable=not spec.required,
            checks=checks,
            unique=spec.unique,
            report_duplicates="exclude_first",
            required=True,
            coerce=False,
        )
    frame_checks = []
    for rule in contract.rules:
        if rule.kind == "not_before":

            def not_before(df: pd.DataFrame, f=rule.field, r=rule.reference) -> pd.Series:
                return ~(df[f] < df[r]).fillna(False).astype(bool)

            frame_checks.append(pa.Check(not_before, error=f"rule:{rule.id}"))
        elif rule.kind == "requires":

            def requires(df: pd.DataFrame, f=rule.field, r=rule.reference) -> pd.Series:
                return ~(df[f].notna() & df[r].isna())

            frame_checks.append(pa.Check(requires, error=f"rule:{rule.id}"))
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, name=contract.name)


# ---------------------------------------------------------------------------------------------
# Plain-English messages
# ---------------------------------------------------------------------------------------------


_LETTER = re.compile(r"[^\W\d_]")  # a letter of any alphabet
_CONTROL = re.compile(CONTROL_CHARACTERS)
#: A letter-free value is shown up to this length and this many digits: a date (8 digits) or a
#: number, but not an NHS number (10 digits) or a phone number (11).
SHOWN_MAX_CHARACTERS, SHOWN_MAX_DIGITS = 12, 8
#: Why a value of an ordinary field is not shown, said once in its message.
NOT_SHOWN = "The value (not shown, as it may identify a person)"


def _normal(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


@lru_cache(maxsize=8)
def _vocabulary_terms(folder: Path | None) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """Every code and label of every vocabulary (normalised), and those of each vocabulary."""
    each = {name: frozenset(_normal(t) for pair in v.codes.items() for t in pair)
            for name, v in load_contracts(folder).vocabularies.items()}
    return frozenset().union(*each.values()), each


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether ``a`` becomes ``b`` by adding, dropping or changing one character, or swapping two
    neighbours (optimal string alignment distance at most 1)."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) <= 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1 :]


def _is_term(part: str, spec: FieldSpec, terms: frozenset[str], own: frozenset[str]) -> bool:
    word = _normal(part)
    if word in terms:
        return True
    # A mistyped code of the field's own vocabulary; four letters at least, so one edit is a slip.
    return spec.vocabulary is not None and len(word) >= 4 and any(_one_edit_apart(word, t) for t in own)


def _harmless(text: str) -> bool:
    """A value with no letters, short, and with too few digits for an NHS or phone number."""
    return (not _LETTER.search(text) and len(text) <= SHOWN_MAX_CHARACTERS
            and sum(c.isdigit() for c in text) <= SHOWN_MAX_DIGITS)


def shown_value(contract: Contract, spec: FieldSpec | None, value: object) -> str:
    """``value`` as it may be echoed about ``spec`` of ``contract``, or ``[withheld]`` (module docstring)."""
    if spec is not None and spec.is_identifier:
        return WITHHELD
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()  # a parsed date: no free text can hide in it
    text = str(value)
    if _CONTROL.search(text):
        return WITHHELD
    if _harmless(text.strip()):
        return text
    if spec is None:
        return WITHHELD
    if spec.name == contract.record_id and spec.pattern and re.search(spec.pattern, text):
        return text
    terms, each = _vocabulary_terms(contract.path.parent if contract.path else None)
    own = each.get(spec.vocabulary or "", frozenset())
    parts = [p for p in text.split(LIST_SEPARATOR) if p.strip()] if spec.type == "category_list" else [text]
    return text if parts and all(_is_term(p, spec, terms, own) for p in parts) else WITHHELD


def _subject(spec: FieldSpec | None, value: str) -> str:
    """How a message names the offending value: quoted, or said to be withheld."""
    if value == WITHHELD:
        return "The value" if spec is not None and spec.is_identifier else NOT_SHOWN
    return f'"{value}"' if value else "The value"


def _message(contract: Contract, rule: str, column: str, value: str, extra: str = "") -> str:
    spec = contract.field(column) if column in contract.field_names else None
    quoted = _subject(spec, value)
    if rule == "required":
        return "A value is required here but the cell is blank."
    if rule == "allowed_values" and spec is not None:
        codes = list(spec.allowed)
        listed = ", ".join(codes) if len(codes) <= 8 else ", ".join(codes[:8]) + ", ... (see the data dictionary)"
        return f"{quoted} is not an allowed code for {column}. Allowed: {listed}."
    if rule == "pattern" and spec is not None:
        return f"{quoted} does not have the required format for {column} (see the data dictionary: {spec.description})"
    if rule == "max_length" and spec is not None:
        return f"The value is longer than the {spec.max_length} characters allowed."
    if rule == "min" and spec is not None:
        return f"{quoted} is below the lowest allowed value, {spec.min}."
    if rule == "max" and spec is not None:
        return f"{quoted} is above the highest allowed value, {spec.max}."
    if rule == "not_after_extract_date":
        return f"{quoted} is after the extract date ({extra}); a record cannot describe the future."
    if rule == "unique":
        which = f"The record id {quoted}" if quoted.startswith('"') else f"{quoted}, a record id,"
        return f"{which} is used more than once in this file ({extra}); record ids must be unique."
    return extra


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _issues_frame(records: list[dict]) -> pd.DataFrame:
    if not records:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    return pd.DataFrame.from_records(records, columns=ISSUE_COLUMNS)


def validate_raw(raw: RawExtract, contract: Contract, extract_date: dt.date) -> ValidationResult:
    """Validate an already-read extract (see :func:`validate_file`)."""
    validation = _Validation(contract, extract_date, raw.path.name, compact=False)
    validation.add(raw.frame, raw.row_numbers)
    return validation.result(raw.rows_read, raw.notes, raw.malformed_rows)


class _FirstSeen:
    """The first row of each value of a unique field seen in earlier chunks, in compact form.

    Each value is kept as two independent hashes (SipHash with two keys; 64 and 32 bits) and its row,
    16 bytes: two different record ids share both hashes with a chance of about n^2 / 2^97 (1 in
    10^16 for 3.5 million ids), far below any other failure. Runs of values sorted by the first hash are
    searched with binary search and merged while small, so no run is ever copied whole late on.
    """

    KEYS = ("0123456789123456", "workbench-hash-2")

    def __init__(self, expected: int = 0):
        self.runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.cap = max(expected // 4, 1 << 16)

    @classmethod
    def hashes(cls, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return tuple(pd.util.hash_array(values, hash_key=key, categorize=False) for key in cls.KEYS)

    def first_rows(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """The first row of each value, or -1 if not seen."""
        out = np.full(len(h1), -1, dtype=np.int64)
        for run_h1, run_h2, run_rows in self.runs:
            left = np.searchsorted(run_h1, h1, side="left")
            right = np.searchsorted(run_h1, h1, side="right")
            for i in np.flatnonzero((right > left) & (out < 0)):
                for j in range(left[i], right[i]):  # almost always one
                    if run_h2[j] == np.uint32(h2[i] & 0xFFFFFFFF):
                        out[i] = run_rows[j]
                        break
        return out

    def add(self, h1: np.ndarray, h2: np.ndarray, rows: np.ndarray) -> None:
        if not len(h1):
            return
        order = np.argsort(h1, kind="stable")
        self.runs.append((h1[order], h2[order].astype(np.uint32), rows[order].astype(np.uint32)))
        while (len(self.runs) >= 2 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0])
               and len(self.runs[-2][0]) + len(self.runs[-1][0]) <= self.cap):
            (a1, a2, ar), (b1, b2, br) = self.runs.pop(), self.runs.pop()
            m1 = np.concatenate([b1, a1])
            order = np.argsort(m1, kind="stable")
            self.runs.append((m1[order], np.concatenate([b2, a2])[order], np.concatenate([br, ar])[order]))


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as Arrow strings: a few bytes a value instead of a Python object each."""
    out = frame.copy(deep=False)
    for c in out.columns:
        if isinstance(out[c].dtype, pd.StringDtype) and out[c].dtype.storage == "python":
            out[c] = out[c].astype("string[pyarrow]")
    return out


class AcceptedSink(Protocol):
    """Where the accepted rows of a file go, piece by piece, when the caller keeps them elsewhere
    (the ingest stages them in DuckDB): ``add`` each piece (typed, with ``_row_number``), in file
    order; ``restart`` forgets what was added (the file is being read again another way)."""

    def add(self, piece: pd.DataFrame) -> None: ...

    def restart(self) -> None: ...


class _Validation:
    """Validate a file chunk by chunk, in file order, keeping only what the result needs."""

    def __init__(self, contract: Contract, extract_date: dt.date, file: str, *, compact: bool = True,
                 accepted_columns: str = "all", expected_rows: int = 0, sink: AcceptedSink | None = None):
        if accepted_columns not in ACCEPTED_COLUMNS:
            raise ValueError(f"accepted_columns must be one of {', '.join(ACCEPTED_COLUMNS)}, not {accepted_columns!r}.")
        self.contract, self.extract_date, self.file = contract, extract_date, file
        self.compact = compact
        self.accepted_columns = accepted_columns
        self.sink = sink
        self.schema = build_schema(contract, extract_date)
        self.unique = {spec.name: _FirstSeen(expected_rows) for spec in contract.fields if spec.unique}
        self.issues: list[pyarrow.Table] = []
        self.accepted: list[pd.DataFrame] = []
        self.bad: list[pd.DataFrame] = []
        self.template: pd.DataFrame | None = None  # no failing rows: the quarantine frame's columns

    def add(self, text: pd.DataFrame, rows) -> None:
        """Validate the next chunk: ``text`` matched to the contract, ``rows`` its row numbers."""
        contract, file = self.contract, self.file
        text = text.reset_index(drop=True)
        rows = np.asarray(rows)
        issues: list[dict] = []
        for i, column in control_character_cells(text):
            # The value is never shown: it is damaged, and may be an identifier.
            issues.append(dict(file=file, row_number=int(rows[i]), column=column, rule="control_character",
                               message="The value contains a control character (such as a NUL byte), which no valid "
                                       "value holds: the file is damaged here.", value=WITHHELD))

        typed_cols = {}
        for spec in contract.fields:
            typed, bad = parse_column(spec, text[spec.name])
            typed_cols[spec.name] = typed
            for i in np.flatnonzero(bad.to_numpy()):
                value = shown_value(contract, spec, text.at[i, spec.name])
                message = f"{_subject(spec, value)} {_type_hint(spec)}."
                serial = excel_serial_date(text.at[i, spec.name]) if spec.type == "date" else None
                if serial is not None:
                    message += (" It looks like an Excel date serial number (a count of days from 1899-12-30"
                                + (f", here {serial.isoformat()}" if value != WITHHELD else "")
                                + "): format the column as dates in the workbook and export it again.")
                issues.append(dict(file=file, row_number=int(rows[i]), column=spec.name, rule="type",
                                   message=message, value=value))
        typed = pd.DataFrame(typed_cols)

        # Values of unique fields first used in an earlier chunk: those first rows go in front.
        seen = {}
        context = []
        for name, first_seen in self.unique.items():
            values = text[name]
            present = values.notna().to_numpy()
            h1, h2 = _FirstSeen.hashes(values.to_numpy(dtype=object, na_value=None)[present])
            firsts = np.full(len(values), -1, dtype=np.int64)
            firsts[present] = first_seen.first_rows(h1, h2)
            seen[name] = (present, h1, h2, firsts)
            earlier = firsts >= 0
            if earlier.any():
                at = pd.Series(np.flatnonzero(earlier)).groupby(values[earlier].to_numpy()).first()
                part_text, part_typed = text.iloc[at.to_numpy()].copy(), typed.iloc[at.to_numpy()].copy()
                for other in self.unique:
                    if other != name:
                        part_text[other], part_typed[other] = pd.NA, pd.NA
                context.append((part_text, part_typed, firsts[at.to_numpy()]))
        offset = sum(len(c[0]) for c in context)
        if offset:
            all_text = pd.concat([c[0] for c in context] + [text], ignore_index=True)
            all_typed = pd.concat([c[1] for c in context] + [typed], ignore_index=True)
            all_rows = np.concatenate([c[2] for c in context] + [rows.astype(np.int64)])
        else:
            all_text, all_typed, all_rows = text, typed, rows

        failures = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self.schema.validate(all_typed, lazy=True)
            except pa.errors.SchemaErrors as exc:
                failures = exc.failure_cases
        if failures is not None and offset:
            index = pd.to_numeric(failures["index"], errors="coerce")
            failures = failures[index.isna() | (index >= offset)]  # the earlier rows' own problems are theirs
        if failures is not None and len(failures):
            issues.extend(_translate_failures(failures, contract, all_text, all_typed, all_rows, file,
                                              self.extract_date))
        del all_text, all_typed

        for name, (present, h1, h2, firsts) in seen.items():
            # Remember each value first used in this chunk (not earlier, not twice here).
            fresh = (firsts[present] < 0) & ~text[name][present].duplicated(keep="first").to_numpy()
            self.unique[name].add(h1[fresh], h2[fresh], rows[present][fresh])

        if self.template is None:
            self.template = _withheld_rows(contract, text.iloc[:0], rows[:0], np.zeros(0, bool), _issues_frame([]))
        if issues:
            # Kept as Arrow, not as Python objects: a few long-lived objects made among a chunk's
            # millions of short-lived ones would pin the memory they sit in (and the process grow).
            self.issues.append(pyarrow.Table.from_pylist(issues, schema=_ISSUE_SCHEMA))
        bad_rows = {d["row_number"] for d in issues}
        is_bad = np.isin(rows, list(bad_rows))
        if self.sink is not None:  # every value of the accepted rows goes to the sink, in file order
            whole = typed[~is_bad].reset_index(drop=True)
            whole.insert(0, "_row_number", rows[~is_bad])
            self.sink.add(_compact(whole))
            del whole
        if self.accepted_columns == "none":  # only how many: an index, no values
            self.accepted.append(pd.DataFrame(index=pd.RangeIndex(int((~is_bad).sum()))))
        else:
            accepted = typed[~is_bad]
            if self.accepted_columns != "all":
                accepted = accepted[[contract.record_id]]
            accepted = accepted.reset_index(drop=True)
            accepted.insert(0, "_row_number", rows[~is_bad])
            self.accepted.append(_compact(accepted) if self.compact else accepted)
        if is_bad.any():
            self.bad.append(_compact(_withheld_rows(contract, text, rows, is_bad, _issues_frame(issues))))

    def result(self, rows_read: int, notes: list[str], malformed_rows: list[tuple[int, str]]) -> ValidationResult:
        file = self.file
        issue_frame = _issues_frame([record for table in self.issues for record in table.to_pylist()])
        for line, problem in malformed_rows:
            issue_frame.loc[len(issue_frame)] = dict(
                file=file, row_number=line, column="(whole row)", rule="row_shape",
                message=f"The row could not be split into columns: {problem}.", value="")
        issue_frame = issue_frame.sort_values(["row_number", "column"], kind="stable").reset_index(drop=True)
        if not self.accepted:  # nothing was read (a file refused before its rows): an empty result
            self.add(pd.DataFrame({name: pd.array([], dtype="string") for name in self.contract.field_names}),
                     np.zeros(0, np.int64))
        accepted = pd.concat(self.accepted, ignore_index=True) if len(self.accepted) > 1 else self.accepted[0]
        accepted = accepted if isinstance(accepted.index, pd.RangeIndex) else accepted.reset_index(drop=True)
        self.accepted = []
        bad = None
        if self.bad:  # back to the column types of a failing row as read
            bad = pd.concat(self.bad, ignore_index=True).astype(self.template.dtypes.to_dict())
        return ValidationResult(
            file=file, source=self.contract.name, contract_version=self.contract.version,
            extract_date=self.extract_date, rows_read=rows_read, accepted=accepted,
            quarantined=_quarantine_frame(self.contract, bad, self.template, issue_frame, malformed_rows),
            issues=issue_frame, notes=list(notes),
        )


def _translate_failures(failures, contract, text, typed, rows, file, extract_date) -> list[dict]:
    out: list[dict] = []
    rules = {f"rule:{r.id}": r for r in contract.rules}
    record_col = contract.record_id
    first_row_of_id: dict = {}
    seen_frame_failures: set = set()
    for rec in failures.itertuples(index=False):
        check, column, index = str(rec.check), rec.column, rec.index
        if index is None or (isinstance(index, float) and np.isnan(index)):
            continue
        i = int(index)
        spec = contract.field(column) if column in contract.field_names else None
        if check in rules:
            if (i, check) in seen_frame_failures:
                continue  # pandera lists a frame-level failure once per column; report it once
            seen_frame_failures.add((i, check))
            rule = rules[check]
            fs, rs = contract.field(rule.field), contract.field(rule.reference)
            fv, rv = shown_value(contract, fs, typed.at[i, rule.field]), shown_value(contract, rs, typed.at[i, rule.reference])
            detail = (f"{rule.field} ({fv}) is before {rule.reference} ({rv})" if rule.kind == "not_before"
                      else f"{rule.field} is filled in ({fv}) but {rule.reference} is blank")
            out.append(dict(file=file, row_number=int(rows[i]), column=rule.field, rule=rule.id,
                            message=f"{rule.description} Here {detail}.", value=fv))
            continue
        if check == "not_nullable":
            if text.at[i, column] is not pd.NA and pd.notna(text.at[i, column]):
                continue  # the text was there but unparseable: already reported as a type problem
            out.append(dict(file=file, row_number=int(rows[i]), column=column, rule="required",
                            message=_message(contract, "required", column, ""), value=""))
            continue
        if check == "field_uniqueness":
            if not first_row_of_id:
                ids = text[record_col] if column == record_col else text[column]
                firsts = ids.reset_index().drop_duplicates(subset=column, keep="first")
                first_row_of_id.update(zip(firsts[column], rows[firsts["index"].to_numpy()], strict=True))
            value = shown_value(contract, spec, text.at[i, column])
            extra = f"first used on row {first_row_of_id.get(text.at[i, column], '?')}"
            out.append(dict(file=file, row_number=int(rows[i]), column=column, rule="unique",
                            message=_message(contract, "unique", column, value, extra), value=value))
            continue
        rule = check
        value = shown_value(contract, spec, text.at[i, column])  # the text exactly as sent, if it may be shown
        out.append(dict(file=file, row_number=int(rows[i]), column=column, rule=rule,
                        message=_message(contract, rule, column, value, extract_date.isoformat()), value=value))
    return out


def _withheld_rows(contract, text, rows, is_bad, issues) -> pd.DataFrame:
    """The failing rows of a chunk as text, with their row number first; direct identifiers, and
    offending values that may not be shown (:func:`shown_value`), are withheld."""
    bad = text[is_bad].copy()
    for name in contract.identifier_fields:
        bad[name] = bad[name].where(bad[name].isna(), WITHHELD)
    # The cells a problem points at hold what failed: a surname in gender, a name in a date field.
    position = dict(zip(rows[is_bad], bad.index, strict=True))
    flagged = issues[issues["column"].isin(contract.field_names)][["row_number", "column"]].drop_duplicates()
    for row, column in flagged.itertuples(index=False):
        at = position.get(row)
        if at is not None and shown_value(contract, contract.field(column), bad.at[at, column]) == WITHHELD:
            bad.at[at, column] = WITHHELD
    bad.insert(0, "row_number", rows[is_bad])
    return bad


def _quarantine_frame(contract, bad, empty, issues, malformed) -> pd.DataFrame:
    """Failing rows (``bad``, from :func:`_withheld_rows`, or None: ``empty``) with their reasons."""
    reasons = (
        issues.assign(reason=issues["column"] + ": " + issues["message"] + " [" + issues["rule"] + "]")
        .groupby("row_number")["reason"].agg(" | ".join)
    )
    bad = empty if bad is None else bad
    extra = pd.DataFrame({"row_number": [m[0] for m in malformed]})
    out = pd.concat([bad, extra], ignore_index=True) if malformed else bad.reset_index(drop=True)
    out.insert(1, "reasons", out["row_number"].map(reasons))
    return out.sort_values("row_number", kind="stable").reset_index(drop=True)


def validate_file(
    path: str | Path, contract: Contract, extract_date: dt.date | None = None, *, encoding: str = "utf-8",
    accepted_columns: str = "all", piece_characters: int = PIECE_CHARACTERS, sink: AcceptedSink | None = None,
) -> ValidationResult:
    """Read and validate one extract. Never raises for bad input: a refused file is reported as such.

    A CSV is read and validated in chunks (``piece_characters`` of text each). ``accepted_columns``
    ``"record_id"`` keeps of the accepted rows only their row number and record id (what the check
    of record ids across the files of one source needs), not every value; ``"none"`` keeps only
    how many were accepted (a source sent as one file: its ids were some 90 MB at 3.5 million
    records, a seventh of the ingest's peak). Text values of accepted rows are Arrow strings. ``sink``, if
    given, receives every accepted row with all its values, piece by piece (``AcceptedSink``).
    """
    path = Path(path)
    extract_date = extract_date or dt.date.today()
    dates = [f.name for f in contract.fields if f.type == "date"]
    order = DateOrder(dates)
    try:
        if path.suffix.lower() == ".csv":
            stream = open_csv(path, contract, encoding=encoding, piece_characters=piece_characters)

            def fresh() -> _Validation:
                return _Validation(contract, extract_date, path.name, accepted_columns=accepted_columns,
                                   expected_rows=stream.scan.records, sink=sink)

            validation = fresh()
            uncollected = 0
            # Objects alive now (the libraries and modules, some 200,000) are set aside from the
            # collections below, which then walk only what this file's validation makes: a full
            # collection took 0.1 s, some 7 s over a 300 MB file. Undone however the loop ends. A
            # collection first, so no garbage is frozen with them (an earlier file's last piece);
            # not where a caller froze objects itself (unfreeze would undo its freeze too). Nor for a
            # file too small to reach a collection: the freeze only serves those, and the collection
            # before it cost 0.2-1 s a file in a process holding many objects (a test run, a notebook).
            freeze = gc.get_freeze_count() == 0 and stream.scan.records >= COLLECT_EVERY_ROWS
            if freeze:
                gc.collect()
                gc.freeze()
            try:
                for chunk in stream.chunks():
                    if chunk is RESTART:
                        if sink is not None:
                            sink.restart()
                        validation, order = fresh(), DateOrder(dates)
                        continue
                    text, rows = chunk
                    order.add(text, rows)
                    validation.add(text, rows)
                    del chunk, text
                    uncollected += len(rows)
                    if uncollected >= COLLECT_EVERY_ROWS:
                        # pandas and pandera leave each piece's frames in reference cycles, so a
                        # piece's million Python strings stay alive until the cyclic collector's rare
                        # full pass: several pieces' worth at once (measured: 120-170 bytes a record
                        # at 300 MB). A full collection frees them now.
                        gc.collect()
                        uncollected = 0
            finally:
                if freeze:
                    gc.unfreeze()
            rows_read, notes, malformed = stream.rows_read, stream.notes, stream.malformed_rows
        else:
            raw = read_extract(path, contract, encoding=encoding)
            order.add(raw.frame, raw.row_numbers)
            validation = _Validation(contract, extract_date, path.name, accepted_columns=accepted_columns, sink=sink)
            validation.add(raw.frame, raw.row_numbers)
            rows_read, notes, malformed = raw.rows_read, raw.notes, raw.malformed_rows
        problem = order.problem()
        if problem:
            raise FileRefused(f"{path.name}: {problem}")
    except FileRefused as exc:
        return ValidationResult(
            file=path.name, source=contract.name, contract_version=contract.version,
            extract_date=extract_date, refused=True, refusal_reason=str(exc),
        )
    return validation.result(rows_read, notes, malformed)
