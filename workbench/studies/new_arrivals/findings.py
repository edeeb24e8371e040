"""The new arrivals study in words: the definitions it used, and its findings with their intervals."""

from __future__ import annotations

import datetime as dt
import math

from workbench.cohorts import rough_sleeping as rs
from workbench.definitions import history_start


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _ci(lo: float, hi: float) -> str:
    return f"95% CI {_pct(lo)} to {_pct(hi)}"


def definitions_text(lookback_months: int, short_history: str, contact_months: int, cfg: dict,
                      hist_start: dt.date) -> list[str]:
    window = cfg["institution_window_days"]
    return [
        "Seen rough sleeping: an outreach contact where a worker saw the person bedded down (verified). Other "
        "contacts (walking, begging) do not count; several contacts on one day are one sighting.",
        f"New arrival: seen rough sleeping with no earlier sighting in the {lookback_months} months before (England's "
        "Ending Rough Sleeping Data Framework; 24 months is HUD Measure 5). A sighting exactly "
        f"{lookback_months} months earlier counts (not new); one a day earlier does not (new).",
        "Short history: people whose lookback starts before the outreach data begin ("
        f"{history_start().isoformat()}) are "
        + ("counted as new and flagged, as England's framework does for areas with shorter history."
           if short_history == "count_as_new" else "left out of the new arrivals."),
        "CHAIN categories per month: new (first sighting of the month is a new arrival), stock (also seen the month "
        "before), returner (seen before in the lookback but not the month before). Living on the streets: at least "
        f"{cfg.get('living_on_streets_min_contacts', 3)} sightings on different days in the month, the first and last "
        f"at least {cfg.get('living_on_streets_min_span_days', 21)} days apart.",
        f"Presented before: a council homelessness case, an institutional discharge, a supported accommodation stay "
        f"or a settled tenancy of the same person that began before the arrival day and whose last date before it "
        f"lies in the {contact_months} months before. Same-day records do not count (the order within a day is not "
        "recorded). Unverified outreach contacts are listed but are not presenting.",
        f"Windows: presented within {window} days or 6, 12, 24 months uses the record's last date before arrival "
        "(a duty or stay still open at arrival counts as the day before). Each share is over arrivals whose whole "
        f"window lies after the statutory data begin ({hist_start.isoformat()}).",
        "Route: one per person who presented, the first that applies of: " + "; ".join(
            rs.ROUTE_LABELS[r] for r in rs.ROUTE_PRIORITY) + ". Time before arrival is from the discharge, the end "
        "of the duty, the end of the stay, the approach to the other district, or otherwise the last date.",
        "Duty to Refer: a council case whose referral route is a dtr_ code (prison, probation, hospital, mental "
        "health, Jobcentre, social care, armed forces).",
        "Support needs and NRPF come from council cases and supported stays from 24 months before to 12 months after "
        "arrival, so that those who had not presented are described from the help they got afterwards.",
        "Intervals: Wilson for single shares, Goodman simultaneous for distributions over categories, Newcombe for "
        "differences in shares, percentile bootstrap (2,000 resamples) for medians and quartiles; Fisher's exact "
        "tests with Holm's adjustment for characteristics.",
        "Linkage sensitivity: false links can only invent earlier contacts and missed links can only hide them; the "
        "bounds place the expected numbers of each in the worst way (docs/assumptions/new_arrivals.md).",
    ]


def _pct1(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def headline_finding(h: dict, contact_months: int) -> str:
    """The finding the study leads with: the headline share, how it was obtained, and its interval."""
    what = (f"had presented to a council, been discharged from hospital or prison, or stayed in supported or settled "
            f"housing in the {contact_months} months before arriving")
    n = h["arrivals"]
    if h["method"] == "true linkage":
        return (f"Headline: {_pct1(h['estimate'])} of the {n:,} new arrivals with {contact_months} months of records "
                f"{what} (95% CI {_pct1(h['lower'])} to {_pct1(h['upper'])}); people were linked with the synthetic "
                "county's truth, so there is no linkage error to correct.")
    if h["method"] == "corrected by arrival review":
        return (f"Headline: {_pct1(h['estimate'])} of new arrivals {what} (95% interval {_pct1(h['lower'])} to "
                f"{_pct1(h['upper'])}, covering sampling error and the uncertainty of the measured linkage error). "
                f"Corrected for linkage error by a clerical review of {h['reviewed']} of the {n:,} arrivals: an "
                f"estimated {_pct(h['fragment_share'])} ({_pct(h['fragment_lower'])} to {_pct(h['fragment_upper'])}) "
                "of those the linkage counts as new arrivals are people seen sleeping rough before under another "
                "record, and presentations the linkage missed or invented are counted as the reviewers found them. "
                f"As linked, without the correction, the share is {_pct1(h['uncorrected'])}.")
    return (f"Headline, NOT corrected for linkage error ({h['why']}): as linked, {_pct1(h['estimate'])} of the {n:,} "
            f"new arrivals with {contact_months} months of records {what} (95% CI {_pct1(h['lower'])} to "
            f"{_pct1(h['upper'])}, sampling error only). Read it as a likely lower bound, not the answer: missed links "
            "make fragments of people seen before count as new arrivals and hide earlier presentations, which both "
            "push the share down (false links push it up). On the synthetic county it was 3 to 5 points too low with "
            "the outreach client reference and about 20 without. Review a sample of the arrivals "
            "(workbench.studies.new_arrivals.review) to correct it.")


def findings(arrivals, complete, shares, routes, t, bounds, lookback_months, contact_months, start, end) -> list[str]:
    out = []
    n = len(arrivals)
    short = int((~arrivals["lookback_complete"]).sum())
    out.append(f"{n:,} people were newly seen sleeping rough between {start} and {end} (no sighting in the "
               f"previous {lookback_months} months); {short:,} of them had less than {lookback_months} months of "
               "outreach history before them and are counted as new, as England's framework does.")
    h = shares.set_index("window")
    if len(complete):
        a = h.loc["any"]
        out.append(f"Of the {int(a['arrivals']):,} with {contact_months} months of records before arrival, "
                   f"{int(a['presented']):,} ({_pct(a['share'])}, {_ci(a['lower'], a['upper'])}) had presented to a "
                   "council, been discharged from hospital or prison, or stayed in supported or settled housing in "
                   "those months.")
        bits = [f"{_pct(r['share'])} within {w.replace('d', ' days').replace('m', ' months')} "
                f"({_ci(r['lower'], r['upper'])})" for w, r in h.drop(index="any").iterrows()]
        out.append("Presented shortly before: " + "; ".join(bits) + ".")
    if len(routes):
        top = routes.iloc[routes["people"].to_numpy().argmax()]
        out.append(f"The commonest route was '{top['label']}': {_pct(top['share'])} of those who presented "
                   f"({top['simultaneous_lower']:.0%} to {top['simultaneous_upper']:.0%}, simultaneous 95% interval), "
                   f"a median {top['median_days']:.0f} days before arrival (95% CI {top['median_lower']:.0f} to "
                   f"{top['median_upper']:.0f}).")
    last = t["last_contact_outcome"]
    if len(last):
        top = last.sort_values("people", ascending=False).head(3)
        out.append("The last contact before arrival most often ended: " + "; ".join(
            f"{r['last_contact_outcome']} ({_pct(r['share'])}, {_ci(r['lower'], r['upper'])})"
            for _, r in top.iterrows()) + ".")
    od = t["presented_other_district"].iloc[0]
    if od["presented_to_a_council"]:
        out.append(f"Of those who had a council case before arrival, {int(od['in_another_district']):,} "
                   f"({_pct(od['share'])}, {_ci(od['lower'], od['upper'])}) had approached a district other than the "
                   "one where they were first seen sleeping rough.")
    ch = t["characteristics"]
    sig = ch[(ch["p_holm"] < 0.05) & ch["is_characteristic"]]
    if len(sig):
        out.append("Those who had presented differed (Holm-adjusted p < 0.05) in: " + "; ".join(
            f"{r['variable']} {r['value']} ({_pct(r['presented_share'])} vs {_pct(r['not_presented_share'])}, "
            f"difference {100 * r['difference']:+.0f} points, 95% CI {100 * r['difference_lower']:+.0f} to "
            f"{100 * r['difference_upper']:+.0f})" for _, r in sig.iterrows()) + ".")
    elif len(ch) and complete["presented"].any() and not complete["presented"].all():
        out.append("No characteristic differed clearly between those who had and had not presented (no Holm-adjusted "
                   "p below 0.05); see the characteristics table for each difference and its interval.")
    exact = (bounds.get("precision") == 1 and bounds.get("recall") == 1
             and not bounds.get("spurious_arrival_share") and not bounds.get("hidden_arrival_share"))
    if exact:
        out.append("The linkage is taken as exact (precision and recall 1, no arrivals split or merged), so the "
                   "linkage bounds equal the estimate.")
    elif not math.isnan(bounds.get("lower_bound", math.nan)):
        s, h = bounds["spurious_arrival_share"], bounds["hidden_arrival_share"]
        text = (f"Allowing for linkage error (precision {bounds['precision']:.3f}, recall {bounds['recall']:.3f}"
                + (f"; {s:.0%} of arrivals fragments of people seen before, {h:.0%} of arrivals hidden" if s or h else "")
                + f"), the share who had presented lies between {_pct(bounds['lower_bound'])} and "
                f"{_pct(bounds['upper_bound'])} at worst ({_pct(bounds['bound_lower_ci'])} to "
                f"{_pct(bounds['bound_upper_ci'])} with sampling error)")
        if s or h:
            text += f"; counting the fragments as not having presented, it is {_pct(bounds['corrected_estimate'])}"
        out.append(text + ".")
        if not bounds.get("arrival_set_errors_given"):
            out.append("These bounds take the set of new arrivals as right. Missed links between one person's "
                       "outreach records make later sightings look like new arrivals (on the synthetic county the "
                       "probabilistic linkage did this for 6% of apparent arrivals); give spurious_arrival_share "
                       "and hidden_arrival_share, measured with arrival_linkage_errors, to cover it.")
    else:
        out.append("Linkage error bounds need the linkage's measured precision and recall "
                   "(pass linkage_precision and linkage_recall).")
    return out
