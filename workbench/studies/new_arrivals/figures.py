"""The new arrivals study's figures: the common paths into rough sleeping as an alluvial (Sankey-like)
diagram, shares with intervals, time from the earlier contact to arrival, and the monthly counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

# Figures are made without pyplot: nothing is kept open between runs, and no backend is chosen for
# the caller (notebooks show them as PNG; see notebooks/new_arrivals.ipynb).
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from workbench.cohorts import rough_sleeping as rs
from workbench.definitions import definition, definitions, disclosure_definition, district_label

#: Colour-blind-safe palette (Okabe-Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]


def flow_outcome(source: object, outcome: object) -> str:
    """How a contact ended, grouped for the flow diagram and the last-contact table."""
    if source is None or (isinstance(source, float) and np.isnan(source)):
        return "No earlier contact"
    if outcome == "open_at_arrival":
        return "Still open at arrival"
    if source == "statutory_cases":
        return {"contact_lost": "Contact lost", "days_56_elapsed": "56 days elapsed", "not_eligible": "Not eligible",
                "intentionally_homeless": "Intentionally homeless", "refused_offer": "Refused an offer",
                "refused_final_offer": "Refused an offer", "local_connection_referral": "Referred to another council",
                "withdrew_or_died": "Withdrew", "refused_cooperate": "Refused to cooperate",
                "secured_6_months": "Accommodation secured", "secured_6_months_moved": "Accommodation secured",
                "secured_6_months_stayed": "Accommodation secured", "not_threatened": "Not threatened or homeless",
                }.get(str(outcome), "Other ending")
    if source == "institutional_discharges":
        return ("Released with no fixed abode" if outcome in definition("new_arrivals", "no_fixed_abode_on_release")
                else "Released, other")
    if source == "supported_accommodation":
        return {"evicted": "Evicted", "abandoned": "Abandoned"}.get(str(outcome), "Other ending")
    if source == "settled_tenancies":
        return "Tenancy ended"
    return "Other ending"


def flow_source(source: object, duty_to_refer: bool = False) -> str:
    if source is None or (isinstance(source, float) and np.isnan(source)):
        return "No earlier contact"
    return {"statutory_cases": "Council (Duty to Refer)" if duty_to_refer else "Council",
            "institutional_discharges": "Hospital or prison", "supported_accommodation": "Supported accommodation",
            "settled_tenancies": "Settled tenancy"}.get(str(source), "Other")


def _smooth(t: np.ndarray) -> np.ndarray:
    return t * t * (3 - 2 * t)


def alluvial_figure(frame: pd.DataFrame, stages: list[str], titles: list[str] | None = None,
                    min_people: int = 5, title: str = "") -> Figure:
    """A simple alluvial (Sankey-like) diagram of people through ``stages`` (columns of ``frame``).

    Categories with fewer than ``min_people`` people at a stage are merged into "Other (small)" so
    that small flows are neither drawn nor identifiable. Flows are coloured by the first stage.
    """
    f = frame[stages].astype(str).copy()
    for s in stages:
        small = f[s].map(f[s].value_counts()) < min_people
        f.loc[small, s] = "Other (small)"
    n = len(f)
    fig = Figure(figsize=(11, 6.5))
    ax = fig.subplots()
    if n == 0:
        ax.text(0.5, 0.5, "No new arrivals in the period", ha="center", va="center")
        ax.axis("off")
        return fig
    gap = 0.02 * n
    width = 0.12
    positions: dict[tuple[int, str], list[float]] = {}  # (stage, category) -> [bottom, top, out_cursor, in_cursor]
    orders = []
    for i, s in enumerate(stages):
        order = f[s].value_counts().index.tolist()
        order = [c for c in order if c not in ("No earlier contact", "Other (small)")] + \
                [c for c in ("Other (small)", "No earlier contact") if c in order]
        orders.append(order)
        y = 0.0
        for c in reversed(order):  # first category on top
            k = int((f[s] == c).sum())
            positions[(i, c)] = [y, y + k, y + k, y + k]
            y += k + gap
    colours = {c: PALETTE[j % len(PALETTE)] for j, c in enumerate(orders[0])}
    colours["No earlier contact"] = "#BBBBBB"
    x = np.linspace(0, 1, 50)
    for i in range(len(stages) - 1):
        pairs = f.groupby([stages[0], stages[i], stages[i + 1]]).size()
        # Draw in the order of the target so bands do not cross more than they must.
        for (origin, a, b), k in sorted(pairs.items(), key=lambda kv: (orders[i].index(kv[0][1]),
                                                                      orders[i + 1].index(kv[0][2]))):
            src, dst = positions[(i, a)], positions[(i + 1, b)]
            y0_top, y1_top = src[2], dst[3]
            src[2] -= k
            dst[3] -= k
            xs = i + width / 2 + x * (1 - width)
            top = y0_top + (y1_top - y0_top) * _smooth(x)
            ax.fill_between(xs, top - k, top, color=colours.get(origin, "#999999"), alpha=0.45, linewidth=0)
    for (i, c), (lo, hi, _, _) in positions.items():
        ax.add_patch(Rectangle((i - width / 2, lo), width, hi - lo, color="#333333"))
        label = f"{district_label(c)} ({int(hi - lo)})"
        ha, xo = ("right", i - width / 2 - 0.02) if i == 0 else ("left", i + width / 2 + 0.02)
        ax.text(xo, (lo + hi) / 2, label, ha=ha, va="center", fontsize=8,
                bbox=dict(facecolor="white", alpha=0.75, edgecolor="none", pad=0.5))
    for i, t in enumerate(titles or stages):
        ax.text(i, -0.04 * n, t, ha="center", va="top", fontsize=9, fontweight="bold")
    ax.set_xlim(-0.9, len(stages) - 0.2)
    ax.set_ylim(-0.09 * n, max(p[1] for p in positions.values()) * 1.02)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def interval_bars(table: pd.DataFrame, label_col: str, est: str, lo: str, hi: str, title: str, xlabel: str) -> Figure:
    fig = Figure(figsize=(8, 0.45 * max(len(table), 3) + 1.2))
    ax = fig.subplots()
    y = np.arange(len(table))[::-1]
    e, low, high = (table[c].to_numpy(dtype=float) for c in (est, lo, hi))
    ax.barh(y, np.nan_to_num(e), color=PALETTE[0], alpha=0.8)
    ax.errorbar(np.nan_to_num(e), y, xerr=np.nan_to_num([e - low, high - e]), fmt="none", ecolor="#333333", capsize=3)
    ax.set_yticks(y, table[label_col].astype(str).tolist())
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    top = np.nanmax(high) if len(high) and np.isfinite(high).any() else 1.0
    ax.set_xlim(0, min(1.0, float(top) * 1.15))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _finish(fig: Figure, ax, legend_fontsize: int) -> Figure:
    """A line figure's common ending: a legend when anything is labelled, a light grid."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=legend_fontsize)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def monthly_figure(county: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(9, 4))
    ax = fig.subplots()
    if len(county):
        x = pd.PeriodIndex(county["period"], freq="M").to_timestamp()
        for i, col in enumerate(["new", "stock", "returner", "living_on_streets"]):
            ax.plot(x, county[col], color=PALETTE[i], label=col.replace("_", " "),
                    linestyle="--" if col == "living_on_streets" else "-")
    ax.set_ylabel("People seen bedded down")
    ax.set_title("People seen sleeping rough each month (CHAIN categories)")
    return _finish(fig, ax, legend_fontsize=8)


def timing_figure(paths: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(8, 4.2))
    ax = fig.subplots()
    pres = paths[paths["presented"]]
    for i, r in enumerate(rs.ROUTE_PRIORITY):
        d = np.sort(pres.loc[pres["route"] == r, "days_before_arrival"].dropna().to_numpy())
        if len(d) < 10:
            continue
        ax.step(d, np.arange(1, len(d) + 1) / len(d), where="post", color=PALETTE[i % len(PALETTE)],
                label=rs.ROUTE_LABELS[r])
    ax.axvline(definitions()["new_arrivals"]["institution_window_days"], color="#999999", linestyle=":")
    ax.set_xscale("log")  # days are at least 1: earlier contacts are before the arrival day
    ax.set_xlim(left=1)
    ax.set_xlabel("Days from the contact to being first seen rough sleeping")
    ax.set_ylabel("Share of the route's arrivals")
    ax.set_title("How long before arrival the earlier contact was, by route")
    return _finish(fig, ax, legend_fontsize=7)


def study_figures(complete: pd.DataFrame, shares: pd.DataFrame, routes: pd.DataFrame,
                  county: pd.DataFrame) -> dict[str, Figure]:
    """The study's figures from its arrivals with full contact history, their tables and the
    monthly counts. Small categories are merged at the disclosure threshold."""
    flow = complete.assign(
        stage_source=[flow_source(s, d is True) for s, d in zip(complete["last_source"],
                                                                complete["last_duty_to_refer"], strict=True)],
        stage_outcome=[flow_outcome(s, o) for s, o in zip(complete["last_source"], complete["last_outcome"],
                                                          strict=True)],
        stage_district=complete["arrival_district"].map(_district_or_missing),
    )
    return {
        "paths_into_rough_sleeping": alluvial_figure(
            flow, ["stage_source", "stage_outcome", "stage_district"],
            ["Last contact before arrival", "How it ended", "Where first seen rough sleeping"],
            min_people=disclosure_definition().threshold,
            title="Paths into rough sleeping: last contact, how it ended, and where people were first seen"),
        "presented_share": interval_bars(
            shares.assign(label=shares["meaning"].str.replace("presented ", "").str.replace(" arrival", "")),
            "label", "share", "lower", "upper", "Share of new arrivals who had presented before", "Share (95% CI)"),
        "routes": interval_bars(routes, "label", "share", "simultaneous_lower", "simultaneous_upper",
                                "Route into rough sleeping, among those who presented",
                                "Share (Goodman simultaneous 95% CI)"),
        "time_before_arrival": timing_figure(complete),
        "rough_sleeping_by_month": monthly_figure(county),
    }


def _district_or_missing(code: object) -> object:
    """A district's name; a missing district stays missing."""
    return district_label(code) if isinstance(code, str) else code
