"""The calibration harness's arithmetic (issue 17 item 2): exact binomial bands and intervals, and
the summary of replicate rows (bias, RMSE, coverage, false-positive rates)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from workbench.cli import app
from workbench.synthetic.calibration import binomial_band, clopper_pearson, summarise


@pytest.mark.parametrize(("n", "p"), [(20, 0.95), (20, 0.05), (200, 0.95), (37, 0.9)])
def test_binomial_band_is_exact(n, p):
    lo, hi = binomial_band(n, p, alpha=0.01)
    dist = stats.binom(n, p)
    assert dist.cdf(lo - 1) <= 0.005 < dist.cdf(lo)  # the lowest count kept, and no lower
    assert dist.sf(hi) <= 0.005 < dist.sf(hi - 1)
    assert binomial_band(20, 0.95, alpha=0.01) == (16, 20)
    assert binomial_band(20, 0.05, alpha=0.01) == (0, 4)


def test_clopper_pearson_matches_the_beta_quantiles():
    assert clopper_pearson(19, 20) == pytest.approx((0.7513, 0.9987), abs=1e-4)  # R: binom.test(19, 20)
    assert clopper_pearson(0, 20)[0] == 0.0 and clopper_pearson(20, 20)[1] == 1.0


def test_summary_of_replicates():
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(10):
        est = 0.1 + rng.normal(0, 0.01)
        rows.append({"study": "s", "estimate": "effect", "kind": "estimate", "true": 0.1, "value": est,
                     "lower": est - 0.02 if seed else 0.2, "upper": est + 0.02 if seed else 0.3,
                     "finding": True, "null": False, "note": ""})
        rows.append({"study": "s", "estimate": "null effect", "kind": "estimate", "true": 0.0, "value": 0.01,
                     "lower": 0.005 if seed < 3 else -0.01, "upper": 0.05, "finding": seed < 3, "null": True, "note": ""})
    rows.append({"study": "s", "estimate": "(study failed)", "kind": "error", "note": "ValueError: x"})
    s = summarise(pd.DataFrame(rows)).set_index("estimate")
    assert "(study failed)" not in s.index
    e = s.loc["effect"]
    values = [r["value"] for r in rows if r.get("estimate") == "effect"]
    assert e.bias == pytest.approx(np.mean(values) - 0.1)
    assert e.rmse == pytest.approx(math.sqrt(np.mean((np.array(values) - 0.1) ** 2)))
    assert (e.covered, e.with_interval, e.coverage) == (9, 10, 0.9)
    assert not e.null
    z = s.loc["null effect"]
    assert z.null and z.finding_rate == pytest.approx(0.3) and z.covered == 7


def test_calibrate_command_refuses_unknown_study_and_scenario():
    runner = CliRunner()
    r = runner.invoke(app, ["calibrate", "new_arrivals"])
    assert r.exit_code == 2 and "no calibration for 'new_arrivals'" in r.output
    r = runner.invoke(app, ["calibrate", "returns", "--scenario", "no_such"])
    assert r.exit_code == 2 and "no_such" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["calibrate", "returns", "--linkage", "guess"])
    assert r.exit_code == 2 and "--linkage must be" in r.output and "Traceback" not in r.output


def test_a_replicate_can_be_linked_as_real_extracts_are():
    """linkage="deterministic" ingests from the identifiers (with their planted errors), not the truth:
    the same county gives other records per person, so the returns cohort differs."""
    from workbench.synthetic.calibration import run_replicate

    true = pd.DataFrame(run_replicate(["returns"], "default", seed=31, scale=0.1))
    linked = pd.DataFrame(run_replicate(["returns"], "default", seed=31, scale=0.1, linkage="deterministic"))
    assert set(true["linkage"]) == {"true"} and set(linked["linkage"]) == {"deterministic"}
    assert (true["kind"] != "error").all() and (linked["kind"] != "error").all()
    both = true.merge(linked, on="estimate", suffixes=("_true", "_linked"))
    assert len(both) == len(true) and (both["true_true"] == both["true_linked"]).all()  # the same truth
    assert not np.allclose(both["value_true"], both["value_linked"])  # linked differently
