"""Test of proportional hazards, reproducing R survival 3.x ``cox.zph``.

Since survival 3.0 (2019) ``cox.zph`` is an exact *score test* of adding the
time-interaction ``x_j * g(t)`` to the fitted model, evaluated at
``(beta_hat, gamma = 0)`` with the full information matrix - not the older
approximation based on scaled Schoenfeld residuals and the average variance that
lifelines' ``proportional_hazard_test`` uses.

With ``g`` the centred transformed time (``g(t) = ttime(t) - mean over events``) and the
per-event-time quantities of :mod:`workbench.statistics.cox`::

    U_gamma   = sum_g g(t_g) u_g                  (u_g: score contribution of group g)
    I_beta    = sum_g I_g
    I_beta,gamma  = sum_g g(t_g) I_g
    I_gamma   = sum_g g(t_g)^2 I_g

Term ``j`` (its columns ``J``) is tested with ``u = (0_p, U_gamma[J])`` and the
information restricted to ``(1..p, p + J)``: ``chisq = u' I^{-1} u`` on ``|J|`` df;
GLOBAL uses all ``p`` interactions.  Transforms (R's ``transform=``), computed from the
exit times of *all* rows and centred at their mean over the events:

* ``"km"``: ``1 - S(t-)``, the left-continuous Kaplan-Meier (unweighted, unstratified,
  honouring delayed entry) - R's default;
* ``"rank"``: rank of the time among all rows' exit times (ties averaged);
* ``"identity"``: ``t``;  ``"log"``: ``log t``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from workbench.statistics.cox import CoxPH

__all__ = ["proportional_hazards_test"]


def _transform_group_times(model: CoxPH, transform: str) -> np.ndarray:
    """Transformed time ``ttime(t_g)`` for every event-time group of the fit."""
    data = model._data
    gt = data.gtime
    exit_ = model.exit_
    if transform == "identity":
        return gt.astype(float)
    if transform == "log":
        return np.log(gt)
    if transform == "rank":
        # R: rank(y[, stop]) over all rows (average ranks for ties).
        srt = np.sort(exit_)
        below = np.searchsorted(srt, gt, side="left")
        upto = np.searchsorted(srt, gt, side="right")
        return below + (upto - below + 1) / 2.0
    if transform == "km":
        # Kaplan-Meier on all rows, ignoring strata and weights (R's survfitKM call).
        ev_t = np.sort(exit_[model.event_])
        ut, d = np.unique(ev_t, return_counts=True)
        srt = np.sort(exit_)
        n_risk = exit_.size - np.searchsorted(srt, ut, side="left")
        if model.entry_ is not None:
            sen = np.sort(model.entry_)
            n_risk = n_risk - (sen.size - np.searchsorted(sen, ut, side="left"))
        surv = np.cumprod(1.0 - d / n_risk)
        # S(t-) at each group time: product over event times strictly before t.
        pos = np.searchsorted(ut, gt, side="left")
        s_minus = np.concatenate([[1.0], surv])[pos]
        return 1.0 - s_minus
    raise ValueError("transform must be one of 'km', 'rank', 'identity', 'log'")


def _score_statistic(imat: np.ndarray, u: np.ndarray, term: str) -> float:
    """``u' I^-1 u``; a singular information (e.g. all events at one time) is named."""
    try:
        return float(np.linalg.solve(imat, u) @ u)
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            f"cox.zph: the information matrix for term {term!r} is singular (too few "
            "distinct event times for a time-interaction test)"
        ) from exc


def proportional_hazards_test(
    fitted_cox: CoxPH,
    transform: str = "km",
    terms: bool = True,
    global_test: bool = True,
) -> pd.DataFrame:
    """R survival 3.x ``cox.zph(fit, transform)``: per-term chisq, df, p and GLOBAL.

    ``terms=True`` tests the columns of one formula term (e.g. a factor) jointly, as R
    does; with a covariate list each covariate is its own term.  Returns a DataFrame
    indexed by term (plus ``"GLOBAL"``) with columns ``chisq``, ``df``, ``p`` - the
    table R prints for ``print(cox.zph(fit))``.
    """
    fitted_cox._check_fitted()
    data = fitted_cox._data
    if data.d.sum() < 2:
        raise ValueError(
            f"cox.zph needs at least two events; the model has {int(data.d.sum())}: the "
            "time transform is constant and the test has no information"
        )
    st = fitted_cox._state
    p = data.p
    ttime = _transform_group_times(fitted_cox, transform)
    # Centre at the mean over events (each event counted once, unweighted, as R).
    g = ttime - np.sum(ttime * data.d) / data.d.sum()

    u_gamma = g @ data.schoenfeld_group(st)
    i11 = data.information(st)
    i12 = data.information(st, gmult=g)
    i22 = data.information(st, gmult=g * g)
    imat = np.block([[i11, i12], [i12.T, i22]])

    if terms:
        term_cols = fitted_cox.terms_
    else:
        term_cols = {n: [j] for j, n in enumerate(fitted_cox.covariate_names_)}

    rows = {}
    for name, cols in term_cols.items():
        kk = list(range(p)) + [p + j for j in cols]
        u = np.concatenate([np.zeros(p), u_gamma[cols]])
        rows[name] = (_score_statistic(imat[np.ix_(kk, kk)], u, name), len(cols))
    if global_test:
        u = np.concatenate([np.zeros(p), u_gamma])
        rows["GLOBAL"] = (_score_statistic(imat, u, "GLOBAL"), p)
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["chisq", "df"])
    out["df"] = out["df"].astype(int)
    out["p"] = stats.chi2.sf(out["chisq"], out["df"])
    out.attrs["transform"] = transform
    return out
