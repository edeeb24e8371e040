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
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

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
    control_character_cells,
    date_order_problem,
    excel_serial_date,
    strip_midnight,
)
from workbench.ingest.readers import FileRefused, RawExtract, read_extract

WITHHELD = "[withheld]"
ISSUE_COLUMNS = ["file", "row_number", "column", "rule", "message", "value"]


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
    """The pandera schema for a parsed extract. Each check's ``error`` is the rule name reported."""
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
    file = raw.path.name
    text = raw.frame.reset_index(drop=True)
    rows = np.asarray(raw.row_numbers)
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

    schema = build_schema(contract, extract_date)
    failures = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            schema.validate(typed, lazy=True)
        except pa.errors.SchemaErrors as exc:
            failures = exc.failure_cases
    if failures is not None and len(failures):
        issues.extend(_translate_failures(failures, contract, text, typed, rows, file, extract_date))

    issue_frame = _issues_frame(issues)
    for line, problem in raw.malformed_rows:
        issue_frame.loc[len(issue_frame)] = dict(
            file=file, row_number=line, column="(whole row)", rule="row_shape",
            message=f"The row could not be split into columns: {problem}.", value="")
    issue_frame = issue_frame.sort_values(["row_number", "column"], kind="stable").reset_index(drop=True)

    bad_rows = set(issue_frame["row_number"].astype(int))
    is_bad = np.isin(rows, list(bad_rows))
    accepted = typed[~is_bad].copy()
    accepted.insert(0, "_row_number", rows[~is_bad])
    quarantined = _quarantine_frame(contract, text, rows, is_bad, issue_frame, raw.malformed_rows)
    return ValidationResult(
        file=file, source=contract.name, contract_version=contract.version, extract_date=extract_date,
        rows_read=raw.rows_read, accepted=accepted.reset_index(drop=True), quarantined=quarantined,
        issues=issue_frame, notes=list(raw.notes),
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


def _quarantine_frame(contract, text, rows, is_bad, issues, malformed) -> pd.DataFrame:
    """Failing rows with their reasons; direct identifiers, and offending values that may not be
    shown (:func:`shown_value`), are withheld."""
    reasons = (
        issues.assign(reason=issues["column"] + ": " + issues["message"] + " [" + issues["rule"] + "]")
        .groupby("row_number")["reason"].agg(" | ".join)
    )
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
    extra = pd.DataFrame({"row_number": [m[0] for m in malformed]})
    out = pd.concat([bad, extra], ignore_index=True) if malformed else bad.reset_index(drop=True)
    out.insert(1, "reasons", out["row_number"].map(reasons))
    return out.sort_values("row_number", kind="stable").reset_index(drop=True)


def validate_file(
    path: str | Path, contract: Contract, extract_date: dt.date | None = None, *, encoding: str = "utf-8"
) -> ValidationResult:
    """Read and validate one extract. Never raises for bad input: a refused file is reported as such."""
    path = Path(path)
    extract_date = extract_date or dt.date.today()
    try:
        raw = read_extract(path, contract, encoding=encoding)
        dates = [f.name for f in contract.fields if f.type == "date"]
        order = date_order_problem(raw.frame, dates, raw.row_numbers)
        if order:
            raise FileRefused(f"{path.name}: {order}")
    except FileRefused as exc:
        return ValidationResult(
            file=path.name, source=contract.name, contract_version=contract.version,
            extract_date=extract_date, refused=True, refusal_reason=str(exc),
        )
    return validate_raw(raw, contract, extract_date)

