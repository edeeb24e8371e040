"""What the returns study says when its assumptions fail (issue 17 item 5).

- **Proportional hazards**: where the check (R's ``cox.zph``) finds a term's hazard ratio changing
  over follow-up, a single hazard ratio is an average over the follow-up of this cohort and should
  not be quoted alone. The term's hazard ratio is estimated separately for the first year after the
  move-in and after it (episode splitting, the other terms as in the main model, robust by person).
  Housing First, the term the strategy asks about, is always estimated both ways.
- **Definitions**: the 12-month share returning under the neighbouring transfer grace windows and
  under narrower definitions of a return, beside the standard definition.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd

from workbench.cohorts.returns import returns_cohort
from workbench.definitions import definitions
from workbench.statistics.cox import CoxPH
from workbench.statistics.multiplicity import holm
from workbench.statistics.time_split import split_at

#: Where the hazard ratio is split: the first year after the move-in, and after it.
SPLIT_DAYS = 365
#: Terms always estimated by period (the strategy's question), whatever the check says.
ALWAYS_BY_PERIOD = ("housing_first",)
#: Holm-adjusted p-value below which a term's hazard ratio is taken to change over follow-up.
PH_ALPHA = 0.05
#: Grace windows (days) beside the standard one; and narrower definitions of a return.
GRACE_ALTERNATIVES = (0, 28, 90)
NARROWER_RETURNS = {
    "rough sleeping only": ["verified_rough_sleeping"],
    "rough sleeping or a council duty (no supported accommodation entry)": [
        "verified_rough_sleeping", "relief_duty", "main_duty_accepted"],
}


def terms_not_proportional(ph_table: pd.DataFrame) -> list[str]:
    """Terms of the check (first column; GLOBAL left out) taken to change over follow-up: a
    pre-specified term (ALWAYS_BY_PERIOD) when its own p is below PH_ALPHA, any other when its
    Holm-adjusted p is (so four or five terms checked at once do not flag one by chance)."""
    t = ph_table.set_index(ph_table.columns[0]).drop(index="GLOBAL", errors="ignore")
    primary = t.index.isin(ALWAYS_BY_PERIOD)
    others = t.loc[~primary, "p"]
    flagged = list(t.index[primary & (t["p"] < PH_ALPHA)])
    return flagged + list(others.index[holm(others) < PH_ALPHA]) if len(others) else flagged


def hazard_ratios_by_period(frame: pd.DataFrame, terms: list[str], by_period: list[str],
                            entry_col: str | None) -> pd.DataFrame:
    """Each term of ``by_period``: its hazard ratio in the first year and after, from one Cox model
    on the split data holding the other terms fixed (Efron ties, robust by person)."""
    split = split_at(frame[["person_id", "time_days", "returned", *([entry_col] if entry_col else []), *terms]],
                     [SPLIT_DAYS], duration_col="time_days", event_col="returned", entry_col=entry_col)
    rows = []
    for term in by_period:
        pieces = {f"first {SPLIT_DAYS} days": f"{term}__first_year", f"after {SPLIT_DAYS} days": f"{term}__after"}
        data = split.assign(**{col: split[term] * (split["interval"] == k) for k, col in enumerate(pieces.values())})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cox = CoxPH(ties="efron").fit(data, duration_col="time_days", event_col="returned",
                                          entry_col=entry_col or "entry", covariates=[t for t in terms if t != term]
                                          + list(pieces.values()), cluster_col="person_id")
        s = cox.summary
        for period, col in pieces.items():
            rows.append({"term": term, "period": period, "hazard_ratio": float(s.loc[col, "exp(coef)"]),
                         "lower": float(s.loc[col, "lower .95"]), "upper": float(s.loc[col, "upper .95"]),
                         "p": float(s.loc[col, "p"]),
                         "events_with_term": int(data.loc[data[col] != 0, "returned"].sum())})
    return pd.DataFrame(rows)


def definition_sensitivity(tables: dict[str, pd.DataFrame], extract_date: dt.date, standard: pd.DataFrame,
                           period: tuple[dt.date | None, dt.date | None]) -> pd.DataFrame:
    """The 12-month cumulative incidence of return under each alternative definition, beside the
    standard one (``standard``: the study's own cumulative_incidence table); ``tables`` as
    ``cohorts.returns.source_tables`` reads them."""
    # the study's own functions (imported here: the study imports this module)
    from workbench.studies.returns import cumulative_incidence, in_period, model_frame

    cfg = definitions()["returns"]
    rows = [_row("standard", cfg["grace_days"], "any of the standard kinds", standard)]
    variants = [(f"grace window of {g} days", g, None) for g in GRACE_ALTERNATIVES]
    variants += [(name, cfg["grace_days"], kinds) for name, kinds in NARROWER_RETURNS.items()]
    for name, grace, kinds in variants:
        cohort = returns_cohort(tables=tables, extract_date=extract_date, grace_days=grace, return_events=kinds)
        table = cumulative_incidence(model_frame(in_period(cohort, *period)))
        rows.append(_row(name, grace, "any of the standard kinds" if kinds is None else ", ".join(kinds), table))
    return pd.DataFrame(rows)


def _row(name: str, grace: int, kinds: str, table: pd.DataFrame) -> dict:
    """One definition's row: its 12-month estimate, or zeros when no return was counted at all."""
    at_12 = table[table["months"] == 12] if len(table) else table
    r = at_12.iloc[0] if len(at_12) else pd.Series(0, index=["cumulative_incidence", "lower", "upper",
                                                              "people_at_risk", "move_ins"])
    return {"definition": name, "grace_days": grace, "return_kinds": kinds,
            "cumulative_incidence": float(r.cumulative_incidence), "lower": float(r.lower),
            "upper": float(r.upper), "people_at_risk": int(r.people_at_risk), "move_ins": int(r.move_ins)}
