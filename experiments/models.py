"""Experiments, variants and assignments arrive with the experiments issue."""
