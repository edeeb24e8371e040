"""The commissioner dashboards (Voila).

Every figure a reader sees comes from :mod:`~workbench.dashboards.aggregates` (precomputed counts
built by :mod:`workbench.measures`, never records), is filtered to what the reader asked for, and
then passes disclosure control (:mod:`workbench.reporting`) *after* filtering, because which cells
must be hidden depends on the margins of the table actually shown. Each chart panel has a
headline built only from figures shown in its table, the chart (inline SVG), the same numbers as
a table, a note on definitions, and downloads of exactly the protected table.

- :mod:`~workbench.dashboards.aggregates` - the aggregate tables: built beside the store, loaded
  into memory, filtered by period and columns;
- :mod:`~workbench.dashboards.pages` - one module per page, each a function from the aggregates,
  the filters and the policy to the page's panels;
- shared modules: :mod:`~workbench.dashboards.format` (labels and numbers),
  :mod:`~workbench.dashboards.protection` (the dashboards' disclosure policy and protected
  tables), :mod:`~workbench.dashboards.charts`, :mod:`~workbench.dashboards.tables` (HTML tables
  and downloads), :mod:`~workbench.dashboards.panels`, :mod:`~workbench.dashboards.filters` and
  :mod:`~workbench.dashboards.frame` (the page and :func:`~workbench.dashboards.frame.show`, the
  one line each notebook in ``notebooks/`` runs);
- :mod:`~workbench.dashboards.server` - Voila, served on the store (``workbench dashboards``).
"""
