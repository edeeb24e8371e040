"""Quantitative bias analysis for an unmeasured binary confounder (Lin, Psaty and Kronmal 1998;
Schneeweiss 2006), beside the E-value.

An unmeasured factor U present in a share ``p_treated`` of the treated and ``p_control`` of the
comparison group, raising the outcome's risk by ``rr_outcome`` (the same in both groups), biases the
observed risk ratio by the factor

    B = (1 + (rr_outcome - 1) * p_treated) / (1 + (rr_outcome - 1) * p_control),

so the risk ratio adjusted for U as well is RR_observed / B, and so are its confidence limits (the
parameters are taken as known: the interval is conditional on them). Each row of the grid is one
"what if" a reader can judge against what is known about the service; the E-value says how strong U
would have to be to move the estimate to no effect at all."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

#: The default grid: how common the factor is in each group, and how strongly it changes the outcome
#: (a risk ratio below 1: it makes the good outcome less likely).
DEFAULT_SCENARIOS: tuple[tuple[float, float, float], ...] = tuple(
    (pt, pc, rr) for pt, pc in ((0.3, 0.15), (0.4, 0.2), (0.5, 0.2), (0.2, 0.4)) for rr in (0.5, 0.67)
)


def bias_factor(p_treated: float, p_control: float, rr_outcome: float) -> float:
    """Lin-Psaty-Kronmal bias factor of the observed risk ratio."""
    for p in (p_treated, p_control):
        if not 0 <= p <= 1:
            raise ValueError(f"a prevalence must be between 0 and 1, not {p}")
    if rr_outcome <= 0:
        raise ValueError(f"the factor's risk ratio with the outcome must be positive, not {rr_outcome}")
    return (1 + (rr_outcome - 1) * p_treated) / (1 + (rr_outcome - 1) * p_control)


def adjusted_for_unmeasured(risk_ratio: float, lower: float, upper: float,
                            scenarios: Iterable[tuple[float, float, float]] = DEFAULT_SCENARIOS) -> pd.DataFrame:
    """One row per scenario: the factor's prevalence in each group, its risk ratio with the outcome,
    the bias factor and the risk ratio (with limits) adjusted for it."""
    rows = []
    for pt, pc, rr in scenarios:
        b = bias_factor(pt, pc, rr)
        rows.append({"share_with_factor_treated": pt, "share_with_factor_control": pc, "factor_risk_ratio": rr,
                     "bias_factor": b, "adjusted_risk_ratio": risk_ratio / b,
                     "adjusted_lower": lower / b, "adjusted_upper": upper / b})
    return pd.DataFrame(rows)
