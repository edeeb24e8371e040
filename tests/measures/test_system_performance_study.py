"""The system performance study: planted truths through run(), findings, protected tables, export,
and robustness on a tiny hand-made county."""

from __future__ import annotations

import numpy as np
import pandas as pd
from test_by_name_list import _hand_made  # noqa: I001  (tests/measures is on sys.path under pytest)

from workbench.definitions import COUNTY, district_label
from workbench.reporting import export
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.system_performance import protected_tables
from workbench.studies import entry_point
from workbench.studies.system_performance import run


def test_registered():
    assert entry_point("system_performance").__wrapped__ is run  # with the store's caveats added


def test_planted_truths_through_the_study(county_result, planted):
    r = county_result
    e = r.estimates
    assert e["bnl_identity_holds"] is True
    outlier = planted["district_prevention_success"]["outlier_district"]
    assert e["funnel_outliers"]["prevention_success"]["robust county rate"] == [outlier]
    assert outlier in e["funnel_outliers"]["prevention_success"]["county rate"]
    ratio, lo, hi = e["case_mix_adjusted"]["prevention_success"][outlier]
    assert hi < 1
    p = planted["equality_prevention_success"]
    found = [d for d in e["disparities"] if d["outcome"] == p["outcome"] and d["characteristic"] == p["characteristic"]
             and d["group"] == p["group"] and d["reference"] == p["reference_group"]]
    assert len(found) == 1 and (found[0]["upper"] < 1) == (p["risk_ratio"] < 1)
    text = " ".join(r.findings)
    assert district_label(outlier) in text and "holds exactly" in text
    # every table is tidy and non-empty
    for name, t in r.tables.items():
        assert len(t), name


def test_protected_tables_show_no_small_counts(county_result):
    policy = DisclosurePolicy(threshold=5)
    prot = protected_tables(county_result, policy)
    assert {"bnl_active", "bnl_inflow", "district_indicators", "duty_outcomes", "equality_outcomes"} <= set(prot)
    for name, pt in prot.items():
        for col in pt.mask.columns:
            shown = pt.numeric.loc[~pt.mask[col], col]
            if col in ("people", "count", "started", "active_end", "numerator", "denominator", "housed",
                       "within_brief", "successes", "n"):
                vals = pd.to_numeric(shown, errors="coerce").dropna()
                assert not ((vals >= 1) & (vals < 5)).any(), (name, col)
    # a rate is never shown where its count is hidden
    di = prot["district_indicators"]
    assert not (di.mask["numerator"] & ~di.mask["rate"]).any()


def test_export(county_result, tmp_path):
    out = export(county_result, tmp_path / "sp", excel=False, kind="research")
    assert (out / "summary.research-only.md").exists() and (out / "bnl_monthly.research-only.csv").exists()
    assert (out / "funnel_prevention_success.research-only.png").exists()


def test_tiny_county_runs_and_filters():
    r = run(_hand_made(), period_start="2021-02-01", period_end="2021-05-31", districts=["cherwell"])
    assert r.estimates["bnl_identity_holds"] is True
    m = r.tables["bnl_monthly"]
    assert set(m["district"]) <= {"cherwell", COUNTY}
    assert m["period"].min() == "2021-02" and m["period"].max() == "2021-05"
    assert np.isfinite(m["active_end"]).all()
    prot = protected_tables(r)
    assert "bnl_active" in prot
