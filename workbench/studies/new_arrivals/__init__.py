"""New arrivals on the streets: had they asked for help before? (Strategy action 3.2)

One entry point, :func:`run` (:mod:`.study`), returns a :class:`~workbench.studies.base.StudyResult` with:

- **the headline** it leads with (:mod:`.headline`, ``estimates["headline"] = [estimate, lower,
  upper]``): the share who had presented before, corrected for linkage error by a clerical review
  of a sample of the arrivals (:mod:`.review`), with an interval for sampling and review error; or,
  with no review recorded, the share as linked, flagged as not corrected;

- **who is new**: people newly seen rough sleeping per month and district (England's framework,
  60-month lookback; 24 as an option), and the CHAIN classification of everyone seen (new, stock,
  returner, living on the streets);
- **earlier contacts** of each new arrival across all sources and districts, and from them the
  share who had presented anywhere (in the contact lookback, within 85 days, 6, 12 and 24
  months), by route and by agency, how the last contact ended, presentations in another district,
  and the time from the route's contact to arrival, every share with a 95% interval (Wilson for
  one proportion, Goodman simultaneous intervals for a distribution over categories, bootstrap for
  medians and quartiles);
- **characteristics** of those who had and had not presented, with differences, intervals and
  Holm-adjusted tests;
- **the common paths** as an alluvial (Sankey-like) figure;
- **sensitivity to linkage error**: worst-case bounds on the share from the linkage's measured
  precision and recall.

The cohort and the definitions are in :mod:`workbench.cohorts.rough_sleeping`; the reasons for
each choice in ``docs/assumptions/new_arrivals.md``.
"""

from workbench.studies.new_arrivals.study import HEADLINE_FIGURES, run

__all__ = ["HEADLINE_FIGURES", "run"]
