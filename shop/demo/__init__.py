"""The demo store: a deterministic synthetic catalogue and shopper behaviour, written as the import CSVs.

Pure numpy/pandas (no Django) so it can be generated, tested and benchmarked on its own;
`manage.py generate_demo_data` is the Django entry point.
"""
