"""The joins page (strategy action 1.1): how long people wait at each handover between services -
hospital or prison release to accommodation, the street to accommodation, supported accommodation
to a settled home, a duty to its end - as :mod:`workbench.measures.joins` measures them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.dashboards.aggregates import Aggregates
from workbench.dashboards.charts import bar_chart
from workbench.dashboards.filters import FilterState
from workbench.dashboards.format import during, fmt_count, period_label
from workbench.dashboards.pages.common import area_rows, not_available, place_name
from workbench.dashboards.pages.district_benchmarking import with_column
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import cell, crosstab, protect, true_counts, with_shares
from workbench.dashboards.tables import TableSpec
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.rates import protect_rate


def settings() -> dict:
    """The joins' definitions. The measures are imported when the page is built, not when the
    pages are registered: through Kaplan-Meier they load scipy.stats, which the landing page's
    kernel does not need."""
    from workbench.measures.joins import settings as joins_settings

    return joins_settings()

#: The handovers in plain words: (filter label, what starts it, what ends it). What people "had"
#: done by then is in :data:`DONE`.
HANDOVER_WORDS: dict[str, tuple[str, str, str]] = {
    "hospital_discharge_to_accommodation": ("Hospital discharge to accommodation", "discharges from hospital of people homeless or at risk",
                                            "a stay in supported accommodation or a settled tenancy began"),
    "prison_release_to_accommodation": ("Prison release to accommodation", "releases from prison or approved premises of people homeless or at risk",
                                        "a stay in supported accommodation or a settled tenancy began"),
    "first_outreach_contact_to_accommodation": ("Street to accommodation", "street episodes (first outreach contact)",
                                                "a stay in supported accommodation or a settled tenancy began"),
    "supported_accommodation_to_move_on": ("Supported accommodation to a settled home", "stays in supported accommodation",
                                           "the person moved into a settled home"),
    "prevention_duty_to_outcome": ("Prevention duty to its end", "prevention duties", "the duty ended"),
    "relief_duty_to_outcome": ("Relief duty to its end", "relief duties", "the duty ended"),
}
DONE = {
    "hospital_discharge_to_accommodation": "had moved into supported accommodation or a settled home",
    "prison_release_to_accommodation": "had moved into supported accommodation or a settled home",
    "first_outreach_contact_to_accommodation": "had moved into supported accommodation or a settled home",
    "supported_accommodation_to_move_on": "had moved on to a settled home",
    "prevention_duty_to_outcome": "had ended",
    "relief_duty_to_outcome": "had ended",
}
HANDOVERS: tuple[tuple[str, str], ...] = tuple((w[0], k) for k, w in HANDOVER_WORDS.items())
BANDS: tuple[tuple[str, int, int], ...] = (("Within 7 days", 0, 7), ("8 to 28 days", 8, 28), ("29 to 91 days", 29, 91),
                                          ("92 days or more", 92, 10**9))
STATUS_WORDS = {"waiting at extract date": "Not yet: still waiting on the extract date",
                "duty still open": "Not yet: duty still open on the extract date",
                "stay ended without move-on": "Stay ended without a move to a settled home",
                "died": "Died before a handover"}
MEDIAN, MED_LO, MED_HI = "Median wait (days)", "Median 95% interval from", "Median 95% interval to"


def _outcome(df: pd.DataFrame, window: int) -> pd.Series:
    """Each row's line in the outcome table: a band of days for a handover made, else why not."""
    out = pd.Series("", index=df.index, dtype=object)
    made = df["event"] == 1
    for name, lo, hi in BANDS:
        out[made & (df["days"] >= lo) & (df["days"] <= hi)] = name
    words = {**STATUS_WORDS, f"not within {window} days": f"Not within {window} days"}
    out[~made] = df.loc[~made, "status"].map(lambda s: words.get(s, str(s).capitalize()))
    return out


def km_figures(df: pd.DataFrame, within: list[int]) -> dict[str, float]:
    """Kaplan-Meier figures (as :func:`workbench.measures.joins.handover_summary` gives them) from
    counts of (days, event): exact, as each count stands for that many people."""
    if not len(df) or df["n"].sum() == 0:
        return {}
    rows = df.loc[df.index.repeat(df["n"].to_numpy())][["days", "event"]].reset_index(drop=True)
    from workbench.measures.survival import km_summary

    s = km_summary(rows, "days", "event", within)
    out = {k: float(v) for k, v in s.items() if k != "method"}
    for t in within:
        out[f"within_{t}"] = 1 - out[f"surv_{t:g}"]
    return out


def band_table(agg: Aggregates, df: pd.DataFrame, handover: str, policy: DisclosurePolicy):
    """Handovers started by what happened (a band of days, or why not made), protected, with shares."""
    window = int(settings()["window_days"])
    every = agg["handovers"][agg["handovers"]["handover"] == handover]
    lines = [b[0] for b in BANDS] + sorted(set(_outcome(every, window)) - {b[0] for b in BANDS})
    d = df.assign(line=_outcome(df, window))
    t = crosstab(d, "line", None, row_order=lines, col_name="Handovers started")
    return with_shares(protect(t, policy, col_total=True, index_name="What happened"), "Handovers started"), lines


def _bands_shown(pt, t: int) -> bool:
    """Whether every band of days up to ``t`` is shown in the band table: only then is the share
    handed over within ``t`` days stated (it would otherwise narrow a hidden band down)."""
    return all(cell(pt, name, "Handovers started") is not None for name, lo, _hi in BANDS if lo <= t)


def _handover_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, handover: str) -> PanelContent:
    name, starts, ends = HANDOVER_WORDS[handover]
    key, title = "joins-handover", name
    where, when = place_name(state), period_label(state.period)
    window = int(settings()["window_days"])
    df = area_rows(agg, "handovers", state, handover=handover)
    pt, lines = band_table(agg, df, handover, policy)
    total = cell(pt, "Total", "Handovers started")
    within = [int(x) for x in settings()["within_days"]]
    km = km_figures(df, within)
    if total is None or total == 0:
        head = f"No {starts} that began {during(state.period)} in {where} can be shown."
    else:
        head = f"Of the {fmt_count(total)} {starts} that began {during(state.period)} in {where}"
        t28 = max(within)
        share = _km_share(km, t28, policy) if _bands_shown(pt, t28) else None
        med = _km_median(km, policy)
        if share is None:
            head += f", the share that {DONE[handover]} within {t28} days is hidden or not known yet."
        else:
            head += f", {share:.0f}% {DONE[handover]} within {t28} days"
            head += (f"; half had waited {med:.0f} days or less." if med is not None else
                     "; the median wait is not shown (too few handovers made, or fewer than half made yet).")
    labels = lines
    chart = bar_chart(key, state.key, labels, [cell(pt, lab, "Share (%)") for lab in labels], unit="percent",
                      title=f"{name}: what happened, {where}, {when}", desc=head)
    defs = (f"Counts {starts} that began in the chosen period, by how long until {ends} (the same day counts as 0 "
            f"days). A handover not made is counted by why: still waiting on the extract date, not made within "
            f"{window} days (a move later than that is not this handover), death, or (for supported accommodation) "
            "the stay ending another way. The shares within days and the median are Kaplan-Meier estimates over "
            "everyone who started, as the system performance study gives them, so people still waiting count for "
            "the time they have waited; they are worked out from the true counts. Offers of accommodation are not in "
            "the data, so the wait is measured to entry.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs, tables=[
        TableSpec(pt, f"{name}: handovers that began {when}, by what happened, {where}", f"joins_{handover}",
                  rate_columns=("Share (%)",))])


def _km_share(km: dict[str, float], t: int, policy: DisclosurePolicy) -> float | None:
    """The Kaplan-Meier share handed over within ``t`` days, shown only where a rate of the people
    handed over by then among those who started could be shown (protect_rate's rules)."""
    if not km or np.isnan(km.get(f"within_{t}", np.nan)):
        return None
    made = round(km[f"within_{t}"] * km["n"])
    if protect_rate(made, km["n"], policy, per=100, proportion=True).suppressed:
        return None
    return km[f"within_{t}"] * 100


def _km_median(km: dict[str, float], policy: DisclosurePolicy) -> float | None:
    """The Kaplan-Meier median, shown for groups of ``min_group_for_summary`` handovers made or more."""
    if not km or np.isnan(km.get("km_median", np.nan)):
        return None
    if km["events"] < (policy.min_group_for_summary or policy.threshold or 0):
        return None
    return km["km_median"]


def within_col(days: int) -> str:
    # a Kaplan-Meier estimate, not a count over the row's total: not written "(%)"
    return f"Within {days} days, % (Kaplan-Meier)"


def _all_handovers_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> PanelContent:
    key, title = "joins-summary", "Every handover: how long people waited"
    where, when = place_name(state), period_label(state.period)
    within = [int(x) for x in settings()["within_days"]]
    df = area_rows(agg, "handovers", state)
    d = df.assign(result=np.where(df["event"] == 1, "Handed over", "Not handed over (yet)"))
    names = {k: w[0] for k, w in HANDOVER_WORDS.items()}
    t = crosstab(d, "handover", "result", row_order=list(names), col_order=["Handed over", "Not handed over (yet)"])
    t.index = [names.get(i, i) for i in t.index]
    # each row is a different handover: no column total
    pt = protect(t, policy, row_total=True, index_name="Handover")
    true = true_counts(pt)
    reached: dict[str, bool] = {}
    cols: dict[str, list[float]] = {MEDIAN: [], MED_LO: [], MED_HI: [], **{within_col(w): [] for w in within}}
    for code, lab in names.items():
        shown = cell(pt, lab, "Total") is not None and not pd.isna(true.loc[lab, "Total"])
        mine = df[df["handover"] == code]
        km = km_figures(mine, within) if shown else {}
        bands, _lines = band_table(agg, mine, code, policy)
        med = _km_median(km, policy)
        cols[MEDIAN].append(med if med is not None else np.nan)
        ok = med is not None
        # an interval bound Kaplan-Meier cannot reach yet is shown as "not reached", not hidden
        cols[MED_LO].append(km["km_median_lower"] if ok else np.nan)
        cols[MED_HI].append(km["km_median_upper"] if ok else np.nan)
        reached[lab] = ok
        for w in within:
            s = _km_share(km, w, policy) if _bands_shown(bands, w) else None
            cols[within_col(w)].append(round(s) if s is not None else np.nan)
    for col, vals in cols.items():
        vals = [round(v) if not np.isnan(v) and col != MEDIAN else v for v in vals]
        vals = [float(v) if not np.isnan(v) else np.nan for v in vals]
        bound = col in (MED_LO, MED_HI)
        shown_as = ["not reached" if np.isnan(v) and bound and reached[lab] else policy.suppressed_marker if np.isnan(v)
                    else (int(v) if float(v).is_integer() else round(v, 1)) for lab, v in zip(names.values(), vals, strict=True)]
        pt = with_column(pt, col, shown_as, vals, [bool(np.isnan(v)) and s != "not reached" for v, s in zip(vals, shown_as, strict=True)])
    labels = list(names.values())
    meds = {lab: cell(pt, lab, MEDIAN) for lab in labels}
    shown = {k: v for k, v in meds.items() if v is not None}
    if shown:
        longest = max(shown.values())
        which = [k for k, v in shown.items() if v == longest]
        head = (f"For handovers that began {during(state.period)} in {where}, the longest median wait was "
                f"{longest:.0f} days" + (f" ({which[0].lower()})." if len(which) == 1 else "."))
    else:
        head = f"No median wait can be shown for handovers that began {during(state.period)} in {where}."
    chart = bar_chart(key, state.key, labels, [meds[lab] for lab in labels], unit="count",
                      title=f"Median wait at each handover (days), {where}, {when}", desc=head)
    defs = ("Kaplan-Meier median wait from the start of each handover to its end, with its 95% interval, and the share "
            f"handed over within {' and '.join(str(w) for w in within)} days (the study's definitions). People still "
            "waiting count for the time they have waited. A median or share is shown only where it is safe: a median "
            f"needs {policy.min_group_for_summary} or more handovers made; a share needs the counts behind it to be shown.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs, tables=[
        TableSpec(pt, f"Handovers that began {when}: waits, {where}", "joins_all_handovers",
                  rate_columns=tuple(cols), plain_columns=(MEDIAN, MED_LO, MED_HI))])


def joins_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> list[PanelContent]:
    if not agg.available("handovers"):
        return [not_available("joins-summary", "Handovers between services", "Figures on handovers")]
    handover = state.group or HANDOVERS[0][1]
    return [_all_handovers_panel(agg, state, policy), _handover_panel(agg, state, policy, handover)]

