"""Benchmarks: scripts that measure Tamma against the bare tools it is built on (see docs/BENCHMARKS.md).

A package only so `python -m benchmarks.event_store` works as well as running the file.
"""
