"""Reporting: statistical disclosure control for every table, chart and export the workbench
publishes, and the commissioner-facing (protected) versions of the study tables.

Every number a commissioner sees on a dashboard or in a CSV/Excel export goes through here. The
rules follow common UK practice (``docs/assumptions/disclosure_control.md``):

* **Primary suppression** - counts from 1 to ``threshold - 1`` are hidden (zeros too, if
  ``suppress_zeros``); margins ("Total" rows/columns) are counts like any other.
* **Secondary suppression** - more cells are hidden until no hidden cell can be worked out exactly
  from the cells and totals that are shown, and (``interval_protection``) until the shown totals
  no longer prove that a hidden small count is below the threshold.
* **Rates** are hidden when their count is hidden or their denominator is small.
* **Means and medians** are shown only for groups of ``min_group_for_summary`` or more.
* **Rounding** (optional) of the counts that remain, with a documented rule.

Modules:

- :mod:`~workbench.reporting.policy` - :class:`DisclosurePolicy` (data; threshold and minimum
  group from the registry of definitions unless given) and the rules as small functions;
- :mod:`~workbench.reporting.counts` - :func:`protect_counts` (1-D/2-D tables) and
  :func:`protect_long` (tidy tables);
- :mod:`~workbench.reporting.rates` - :func:`protect_rate` and :func:`protect_summary`;
- :mod:`~workbench.reporting.suppression` and :mod:`~workbench.reporting.table_equations` - the
  secondary suppression algorithm and the additive equations it works on;
- :mod:`~workbench.reporting.audit` - :func:`find_disclosure_risks`, :func:`feasible_intervals`,
  :func:`assert_safe` (an independent linear-programming audit);
- :mod:`~workbench.reporting.protected_table` - :class:`ProtectedTable` and :class:`ProtectedValue`;
- :mod:`~workbench.reporting.measure_tables` - the tidy measure tables (:func:`protect_tidy`,
  :func:`protect_breakdown`);
- :mod:`~workbench.reporting.system_performance` - :func:`protected_tables` of the system
  performance study;
- :mod:`~workbench.reporting.study_tables` and :mod:`~workbench.reporting.study_rules` - every study
  table's disclosure rule, applied and audited across the tables of one export;
- :mod:`~workbench.reporting.exports` - :func:`export`: a study's shareable export (the default) or
  its research export, each file carrying the run's provenance.
"""

from workbench.reporting.exports import export

__all__ = ["export"]
