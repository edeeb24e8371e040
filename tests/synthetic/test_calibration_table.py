"""The calibration table's generator (benchmarks/bench_calibration.py): a rerun of one study keeps
the other studies' rows from the earlier file (``--carry``), and drops the rerun study's old rows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_calibration", ROOT / "benchmarks" / "bench_calibration.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _rows(study: str, estimate: str, true: float, values: list[float], scenario: str = "default") -> pd.DataFrame:
    return pd.DataFrame([{"study": study, "estimate": estimate, "kind": "estimate", "true": true, "value": v,
                          "lower": v - 0.1, "upper": v + 0.1, "finding": abs(v) > 0.1, "null": true == 0,
                          "note": "", "scenario": scenario, "seed": i, "scale": 0.2, "linkage": "true"}
                         for i, v in enumerate(values)])


def test_a_rerun_study_replaces_its_rows_and_the_others_are_carried(tmp_path):
    bench = _bench()
    earlier = pd.concat([_rows("returns", "log hazard ratio: female", 0.0, [0.0, 0.05, 0.5]),
                         _rows("supported_housing", "movers: ipw", 0.0, [0.3, 0.3, 0.3]),
                         _rows("supported_housing", "movers: ipw", 0.0, [0.0, 0.0], scenario="null_all")])
    old = tmp_path / "calibration.md"
    old.write_text(bench.markdown(earlier, 0.2, "2026-01-01T00:00"), encoding="utf-8")
    rerun = _rows("supported_housing", "movers: ipw", 0.0, [0.01, -0.02, 0.0, 0.02])
    text = bench.markdown(rerun, 0.2, "2026-02-02T00:00", bench.read_carried(old))
    default = text.split("## default: ")[1].split("\n## ")[0]
    # the rerun study's rows are the new ones only; the other study's are carried verbatim
    assert "| supported_housing | movers: ipw | 4 |" in default
    assert "| supported_housing | movers: ipw | 3 |" not in text
    assert "| returns | log hazard ratio: female | 3 |" in default
    assert "the run started 2026-01-01T00:00, carried: returns" in default
    # a section the rerun did not touch keeps every row, saying where they come from
    null_all = text.split("## null_all: ")[1].split("\n## ")[0]
    assert "| supported_housing | movers: ipw | 2 |" in null_all and "carried: supported_housing" in null_all
    # the closing list: the carried study's low coverage is kept, the rerun study's old one is gone
    closing = text.split("## Closing note")[1]
    assert "default, returns, log hazard ratio: female: 67%" in closing
    assert "default, supported_housing, movers: ipw" not in closing
