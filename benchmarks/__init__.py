"""Loa's benchmarks: ``make bench`` prints one JSON object per line (see benchmarks/__main__.py)."""
