"""The coefficient table every regression fitter reports (Cox, Fine-Gray, logistic), so their
``summary`` properties have the same columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["coefficient_table", "confidence_intervals"]


def coefficient_table(params: pd.Series, standard_errors: pd.Series, alpha: float) -> pd.DataFrame:
    """The summary table every regression fitter reports, from coefficients and their SEs:
    coef, exp(coef), se(coef), z, p (two-sided Wald) and the Wald interval of exp(coef)."""
    # imported here, not at the top: dashboard kernels import this module but never fit
    from scipy import stats

    z = params / standard_errors
    zcrit = stats.norm.ppf(1 - alpha / 2)
    lvl = f"{1 - alpha:.2f}".lstrip("0")
    out = pd.DataFrame({"coef": params, "exp(coef)": np.exp(params), "se(coef)": standard_errors, "z": z,
                        "p": 2 * stats.norm.sf(np.abs(z)),
                        f"lower {lvl}": np.exp(params - zcrit * standard_errors),
                        f"upper {lvl}": np.exp(params + zcrit * standard_errors)})
    out.index.name = "covariate"
    return out


def confidence_intervals(params: pd.Series, standard_errors: pd.Series, alpha: float) -> pd.DataFrame:
    """Wald limits of the coefficients themselves, with lifelines' column names
    (``95% lower-bound``, ``95% upper-bound``): every fitter's ``confidence_intervals_``."""
    from scipy import stats

    z = stats.norm.ppf(1 - alpha / 2)
    pct = f"{100 * (1 - alpha):g}%"
    return pd.DataFrame({f"{pct} lower-bound": params - z * standard_errors,
                         f"{pct} upper-bound": params + z * standard_errors})
