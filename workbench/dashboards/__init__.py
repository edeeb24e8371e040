"""The commissioner dashboards: the Voila notebooks (``notebooks/``, shipped as package data with
the workbench Voila template) and the code behind them."""
