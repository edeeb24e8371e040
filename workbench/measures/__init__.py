"""System performance measures (issue 9): one module per measure, each returning tidy tables by
district and period for notebooks, studies and dashboards.

- :mod:`~workbench.measures.by_name_list` - By Name List dynamics (actions 1.2)
- :mod:`~workbench.measures.joins` - time at the handovers between services (action 1.1)
- :mod:`~workbench.measures.duty_outcomes` - how statutory duties end (action 3.3)
- :mod:`~workbench.measures.benchmarking` and :mod:`~workbench.measures.funnel` - districts compared
  (actions 3, 4.1, 5)
- :mod:`~workbench.measures.housing_first` - Housing First starts and sustainment (action 5.4)
- :mod:`~workbench.measures.equality` - outcomes by protected characteristic (action 7.1)
- :mod:`~workbench.measures.data_quality` - the data-quality scorecard
- :mod:`~workbench.measures.monthly_counts`, :mod:`~workbench.measures.rough_sleeping`,
  :mod:`~workbench.measures.returns`, :mod:`~workbench.measures.supported_housing` - fine-grained
  counts by district, month and category (from the source tables and the extract date), from
  which the dashboards' aggregates are built

Every measure accepts a :class:`~workbench.store.Store` or a
:class:`~workbench.measures.sources.SourceTables` (typed, de-duplicated source tables; build one
once and pass it to several measures to avoid re-reading the store).
"""

from workbench.measures.sources import SourceTables, as_sources

__all__ = ["SourceTables", "as_sources"]
