"""Checks across the files of one source: several files only when expected, and record ids unique.

A source arrives as one file, except that a district-supplied source may send one file per
district, named ``<source>_<district>`` (``statutory_cases_cherwell.csv``, ...). Any other set of
several files for one source (``outreach_contacts.csv`` and ``outreach_contacts_2.csv``; a left-over
``deaths_old.csv``) is refused unless ``extract.yaml`` declares it: a ``files:`` list names every
file with its source, so naming a source more than once there is the declaration.

Whether expected or declared, the files of one source must not share a record id: the store keeps
one row per record id, so a repeated id would be stored twice (1,193 times in one probe) or one copy
silently chosen. Within one file a repeated id is a row problem (quarantined, see ``validate``);
across files it refuses every file involved, naming the files, the column, how many ids repeat and
the first rows, never the ids' values.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pandas as pd

from workbench.contracts.model import Contract, ContractSet
from workbench.ingest.validate import WITHHELD, ValidationResult

#: How many repeated ids a message points to by their rows.
ROWS_NAMED = 3


def district_file(file: str, contract: Contract) -> bool:
    """Whether ``file`` is named ``<source>_<district>`` for a district code of the contract."""
    if "district" not in contract.field_names:
        return False
    stem = Path(file).stem.lower()
    return stem.startswith(contract.name + "_") and stem[len(contract.name) + 1 :] in contract.field("district").allowed


def accepted_columns_for(sources: list[str]) -> dict[str, str]:
    """What validation keeps of each source's accepted rows for these checks: record ids where the
    source comes as several files (their ids are compared), only a count where it comes as one."""
    counts = Counter(sources)
    return {source: "record_id" if n > 1 else "none" for source, n in counts.items()}


def _ids(result: ValidationResult, record_id: str) -> pd.DataFrame:
    """Each record id of a file (first row it is on), accepted or quarantined; blanks and withheld ids left out."""
    parts = []
    if len(result.accepted):
        parts.append(pd.DataFrame({"id": result.accepted[record_id].astype("string").to_numpy(),
                                   "row": result.accepted["_row_number"].to_numpy()}))
    if len(result.quarantined) and record_id in result.quarantined.columns:
        parts.append(pd.DataFrame({"id": result.quarantined[record_id].astype("string").to_numpy(),
                                   "row": result.quarantined["row_number"].to_numpy()}))
    if not parts:
        return pd.DataFrame({"id": pd.Series(dtype="string"), "row": pd.Series(dtype="int64")})
    ids = pd.concat(parts, ignore_index=True)
    ids = ids[ids["id"].notna() & (ids["id"] != WITHHELD)]
    return ids.sort_values("row", kind="stable").drop_duplicates("id")


def _undeclared(files: list[str], contract: Contract) -> str:
    listed = ", ".join(files)
    return (f"{listed} are {'both' if len(files) == 2 else 'all'} {contract.title.lower()} ({contract.name}), but a source is sent as one file "
            f"(a district-supplied source as one per district, named {contract.name}_<district>). A second "
            "file may be a copy or an older extract. Remove the extra file(s), or, if each holds different "
            f"records, list every file in extract.yaml under 'files:' with 'source: {contract.name}'.")


def _repeats(ids: pd.DataFrame, others: dict[str, pd.DataFrame], contract: Contract) -> str | None:
    sentences = []
    for other, theirs in others.items():
        both = ids.merge(theirs, on="id", suffixes=("_here", "_there")).sort_values("row_here", kind="stable")
        if not len(both):
            continue
        rows = ", ".join(f"row {h} here and row {t} there" for h, t in both[["row_here", "row_there"]].head(ROWS_NAMED)
                         .itertuples(index=False))
        more = ", ..." if len(both) > ROWS_NAMED else ""
        sentences.append(f"{len(both):,} record id(s) in column {contract.record_id} also appear in {other} "
                         f"({rows}{more})")
    if not sentences:
        return None
    return (f"{'; '.join(sentences)}. Record ids must be unique across all files of one source "
            f"({contract.name}), because the store keeps one row per record id. Remove the repeated records "
            "from one of the files, or send the source as one file, and ingest again.")


def refuse_across_files(results: list[ValidationResult], contracts: ContractSet, *, declared: bool) -> list[ValidationResult]:
    """``results`` with every file refused that breaks a rule across the files of its source.

    ``declared`` says that the files were listed one by one (``extract.yaml``'s ``files:``, or named
    on the command line), so several files for a source are intended. A refused file keeps its row
    counts; it is refused like any other (the ingest stores nothing, validate reports it).
    """
    by_source: dict[str, list[int]] = {}
    for i, r in enumerate(results):
        by_source.setdefault(r.source, []).append(i)
    reasons: dict[int, str] = {}
    for source, positions in by_source.items():
        if len(positions) < 2 or source not in contracts.contracts:
            continue
        contract = contracts[source]
        files = [results[i].file for i in positions]
        one_per_district = (all(district_file(f, contract) for f in files)
                            and len({Path(f).stem.lower() for f in files}) == len(files))
        if not declared and not one_per_district:
            for i in positions:
                reasons[i] = _undeclared(files, contract)
            continue
        ids = {i: _ids(results[i], contract.record_id) for i in positions if not results[i].refused}
        for i, mine in ids.items():
            others = {results[j].file: theirs for j, theirs in ids.items() if j != i}
            reason = _repeats(mine, others, contract)
            if reason:
                reasons[i] = reason
    # A file refused already keeps its own reason (the other files' messages name it).
    return [dataclasses.replace(r, refused=True, refusal_reason=f"{r.file}: {reasons[i]}")
            if i in reasons and not r.refused else r for i, r in enumerate(results)]
