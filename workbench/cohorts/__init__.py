"""Cohorts and episodes built from the store: who is in a study, from when, and what happened."""
