"""The headline as a function of a linkage (for compare_linkage): same linkage, same answer; splitting
or merging people moves it the way the bounds' reasoning says."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.definitions import record_id
from workbench.synthetic.evaluation import presented_share_headline


@pytest.fixture(scope="module")
def tables(county_tables):
    return county_tables


@pytest.fixture(scope="module")
def own_ids(tables) -> pd.Series:
    parts = [pd.Series(t["person_id"].to_numpy(), index=pd.MultiIndex.from_arrays(
        [[s] * len(t), t[record_id(s)].astype(str).to_numpy()])) for s, t in tables.items()]
    return pd.concat(parts)


@pytest.fixture(scope="module")
def headline(county_period, tables):
    start, end = county_period
    return presented_share_headline(tables, period_start=start, period_end=end)


def test_same_linkage_same_headline(county_result, headline, own_ids):
    assert headline(own_ids) == pytest.approx(county_result.estimates["presented_share"]["any"][0])


def test_missed_links_hide_earlier_contacts(headline, own_ids):
    # Detach every discharge record from its person (a missed link each): fewer have presented.
    ids = own_ids.copy()
    disch = ids.index.get_level_values(0) == "institutional_discharges"
    ids[disch] = ["split-" + r for r in ids.index.get_level_values(1)[disch]]
    assert headline(ids) < headline(own_ids)


def test_a_false_link_invents_an_earlier_contact(county_paths, tables, headline, own_ids):
    # Link one council case of someone never seen rough sleeping to a new arrival who had not
    # presented, dated before the arrival: that arrival now "presented" (one more in N).
    paths = county_paths[county_paths["contact_history_complete"]]
    target = paths[~paths["presented"]].iloc[0]
    cases = tables["statutory_cases"]
    never_rough = ~cases["person_id"].isin(tables["outreach_contacts"]["person_id"])
    in_window = ((cases["approach_date"] < target["arrival_date"])
                 & (cases["approach_date"] > target["arrival_date"] - pd.Timedelta(days=300)))
    stray = cases[never_rough & in_window].iloc[0]
    ids = own_ids.copy()
    ids.loc[("statutory_cases", str(stray["case_id"]))] = target["person_id"]
    assert headline(ids) == pytest.approx(headline(own_ids) + 1 / len(paths))
