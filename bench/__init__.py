"""Benchmarks: `python -m bench` (see bench/README in the project README). Not part of the tests."""
