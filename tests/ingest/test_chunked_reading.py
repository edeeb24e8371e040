"""A CSV validated in many small pieces gives exactly what it gives read as one piece (the file whole).

Large extracts are read and validated in pieces of text (``readers.open_csv``) so that memory stays
near the file's size; these tests cut small files into pieces of a few records to show that every
finding (problems, their order and row numbers, quarantined rows, accepted rows, refusals, notes) is
the same, including repeated record ids across pieces, quoted line breaks, blank lines, ragged rows,
NUL bytes, CRLF line ends, a byte order mark, and damage that makes the reader fall back to the
whole file.
"""

from __future__ import annotations

import pandas as pd
import pytest
from factories import EXTRACT_DATE, valid_frame

from workbench.ingest.readers import RESTART, open_csv
from workbench.ingest.validate import validate_file

WHOLE, SMALL = 10**9, 150  # characters per piece: the whole file, or two or three records


@pytest.fixture
def outreach(contracts):
    return contracts["outreach_contacts"]


def _messy(outreach) -> pd.DataFrame:
    frame = valid_frame(outreach, 60)
    frame.loc[40, "contact_id"] = frame.loc[3, "contact_id"]  # repeated id, pieces apart
    frame.loc[41, "contact_id"] = frame.loc[3, "contact_id"]  # and again
    frame.loc[55, "contact_id"] = frame.loc[54, "contact_id"]  # repeated within a piece
    frame.loc[44, "contact_id"] = "bad id"  # fails its pattern...
    frame.loc[45, "contact_id"] = "bad id"  # ...and repeats: both problems on one cell, in order
    frame.loc[7, "family_name"] = "Smith\nJones"  # a quoted line break
    frame.loc[12, "family_name"] = "Smi\0th"  # a NUL byte
    frame.loc[20, "gender"] = "Femal"
    frame.loc[21, "approximate_age"] = "thirty"
    frame.loc[22, "contact_date"] = "31/02/2021"
    frame.loc[30, "district"] = ""
    return frame


def _text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def _variants(outreach) -> dict[str, bytes]:
    text = _text(_messy(outreach))
    lines = text.split("\n")
    blank = "\n".join(lines[:10] + ["", ",,,,", "  "] + lines[10:])
    ragged = list(lines)
    ragged[25] += ",surplus"
    wide_first = list(lines)
    wide_first[1] += ",surplus"  # pandas takes the first column as an index: read whole, as before
    miscount = list(lines)
    miscount[33] = miscount[33].replace(",", ",\r", 1)  # pandas ends a record at a bare carriage return
    us = _messy(outreach)
    us.loc[50, "contact_date"] = "03/25/2021"
    return {
        "messy": text.encode(),
        "crlf": text.replace("\n", "\r\n").encode(),
        "bom": b"\xef\xbb\xbf" + text.encode(),
        "blank lines": blank.encode(),
        "no final line end": text.rstrip("\n").encode(),
        "ragged": "\n".join(ragged).encode(),
        "wide first record": "\n".join(wide_first).encode(),
        "bare carriage return": "\n".join(miscount).encode(),
        "us dates": _text(us).encode(),
        "header only": (lines[0] + "\n").encode(),
        "not utf-8": text.replace("Alex", "Zoë").encode("cp1252"),
        "unclosed quote": "\n".join(lines[:-8] + ['"' + lines[-8]] + lines[-7:]).encode(),
    }


def _same(a, b) -> None:
    assert (a.refused, a.refusal_reason, a.rows_read, a.notes) == (b.refused, b.refusal_reason, b.rows_read, b.notes)
    pd.testing.assert_frame_equal(a.issues, b.issues)
    pd.testing.assert_frame_equal(a.quarantined, b.quarantined)
    pd.testing.assert_frame_equal(a.accepted, b.accepted)


@pytest.mark.parametrize("variant", ["messy", "crlf", "bom", "blank lines", "no final line end", "ragged",
                                     "wide first record", "bare carriage return", "us dates", "header only",
                                     "not utf-8", "unclosed quote"])
def test_pieces_give_what_the_whole_file_gives(tmp_path, outreach, variant):
    path = tmp_path / "outreach_contacts.csv"
    path.write_bytes(_variants(outreach)[variant])
    whole = validate_file(path, outreach, EXTRACT_DATE, piece_characters=WHOLE)
    pieces = validate_file(path, outreach, EXTRACT_DATE, piece_characters=SMALL)
    _same(whole, pieces)
    if not whole.refused:  # only the record ids of accepted rows, for validate: the same rows
        ids = validate_file(path, outreach, EXTRACT_DATE, piece_characters=SMALL, accepted_columns="record_id")
        pd.testing.assert_frame_equal(ids.accepted, whole.accepted[["_row_number", "contact_id"]])
        # ... or only how many (a source sent as one file): the same count, the same problems, no values
        counted = validate_file(path, outreach, EXTRACT_DATE, piece_characters=SMALL, accepted_columns="none")
        assert counted.rows_accepted == whole.rows_accepted and counted.accepted.columns.empty
        pd.testing.assert_frame_equal(counted.issues, whole.issues)
        pd.testing.assert_frame_equal(counted.quarantined, whole.quarantined)


def test_what_validation_keeps_of_accepted_rows_is_one_of_three(tmp_path, outreach):
    path = tmp_path / "outreach_contacts.csv"
    path.write_bytes(_variants(outreach)["messy"])
    with pytest.raises(ValueError, match="accepted_columns"):
        validate_file(path, outreach, EXTRACT_DATE, accepted_columns="record_ids")


def test_the_messy_file_is_really_read_in_pieces_and_its_repeats_found_across_them(tmp_path, outreach):
    path = tmp_path / "outreach_contacts.csv"
    path.write_bytes(_variants(outreach)["messy"])
    chunks = [c for c in open_csv(path, outreach, piece_characters=SMALL).chunks()]
    assert RESTART not in chunks and len(chunks) > 10
    result = validate_file(path, outreach, EXTRACT_DATE, piece_characters=SMALL)
    unique = result.issues[result.issues.rule == "unique"]
    # Data row 3 sits on line 5; rows 40 and 41 on lines 43 and 44 (one quoted line break above).
    assert list(unique.row_number) == [43, 44, 48, 58]
    assert unique.message.str.contains("first used on row 5)", regex=False).sum() == 2
    cell = result.issues[result.issues.row_number == 48]
    assert list(cell.rule) == ["unique", "pattern"]  # the order of the whole file: uniqueness first


def test_wide_rows_are_found_at_the_start_of_a_piece(tmp_path, outreach):
    """pandas does not check a piece's first record against the header's width; the piece before
    has checked it. A wide line at every position is quarantined, never cut short."""
    lines = _text(valid_frame(outreach, 12)).split("\n")
    for at in (2, 5, 6, 9):
        wide = list(lines)
        wide[at] += ",surplus"
        path = tmp_path / "outreach_contacts.csv"
        path.write_text("\n".join(wide))
        for piece in (150, 250, WHOLE):
            result = validate_file(path, outreach, EXTRACT_DATE, piece_characters=piece)
            assert list(result.issues.rule) == ["row_shape"] and list(result.issues.row_number) == [at + 1], piece
            assert result.rows_accepted == 11


def test_validation_leaves_the_collector_as_it_found_it(tmp_path, outreach):
    """Pieces are validated with earlier objects frozen out of the collector (speed); afterwards
    nothing stays frozen, and a caller's own freeze is left alone."""
    import gc

    path = tmp_path / "outreach_contacts.csv"
    path.write_bytes(_variants(outreach)["messy"])
    assert gc.get_freeze_count() == 0
    validate_file(path, outreach, EXTRACT_DATE, piece_characters=SMALL)
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        validate_file(path, outreach, EXTRACT_DATE, piece_characters=SMALL)
        # still frozen (a frozen object freed by its last reference leaves the count, hence not ==)
        assert gc.get_freeze_count() > frozen - 100
    finally:
        gc.unfreeze()
