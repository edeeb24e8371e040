"""Property-based tests: random corruption of a valid extract never raises and always reconciles."""

from __future__ import annotations

import pandas as pd
from factories import EXTRACT_DATE, valid_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from workbench.contracts import load_contracts
from workbench.ingest.validate import validate_file

CONTRACTS = load_contracts()
SOURCES = sorted(CONTRACTS.contracts)
NASTY = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "NA", "null", "2021-02-29", "31/12/1899", "9999-99-99", "-1", "1e9",
                     "yes;no", "🏠", "\u0000", '"', "a,b", "\n", "=cmd|' /C calc'!A0", "OR-1", "TN-00001"]),
)


@st.composite
def corrupted(draw):
    source = draw(st.sampled_from(SOURCES))
    contract = CONTRACTS[source]
    frame = valid_frame(contract, draw(st.integers(1, 15)), seed=draw(st.integers(0, 1000)))
    for _ in range(draw(st.integers(0, 8))):
        row = draw(st.integers(0, len(frame) - 1))
        col = draw(st.sampled_from(contract.field_names))
        frame.loc[row, col] = draw(NASTY)
    if draw(st.booleans()):
        frame = frame.drop(columns=draw(st.sampled_from(contract.field_names)))
    if draw(st.booleans()):
        frame[draw(st.text(min_size=1, max_size=8))] = "extra"
    return contract, frame, draw(st.sampled_from(["csv", "xlsx", "parquet"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=corrupted())
def test_random_corruption_never_raises_and_reconciles(tmp_path_factory, case):
    contract, frame, fmt = case
    path = tmp_path_factory.mktemp("c") / f"{contract.name}.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "xlsx":
        # Excel cannot hold control characters at all: a real workbook never contains them.
        clean = frame.map(lambda v: ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v)
        clean.columns = [ILLEGAL_CHARACTERS_RE.sub("", c) or "blank" for c in clean.columns]
        clean.to_excel(path, index=False)
    else:
        frame.astype(str).to_parquet(path)
    result = validate_file(path, contract, EXTRACT_DATE)  # must not raise, whatever the content
    if result.refused:
        assert result.refusal_reason and result.rows_accepted == 0
        return
    assert result.reconciles
    assert result.rows_accepted + result.rows_quarantined == result.rows_read
    # Every quarantined row has a reason, and every reason points at a real row of the file.
    assert result.quarantined["reasons"].notna().all()
    assert set(result.issues.row_number) == set(result.quarantined.row_number)
    assert isinstance(result.accepted, pd.DataFrame)
