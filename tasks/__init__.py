"""Prefect tasks: thin units (claim, analyze, plan, ...) that call `tamma` and record events.

Filled by the orchestration work; see ARCHITECTURE.md, "Prefect".
"""
