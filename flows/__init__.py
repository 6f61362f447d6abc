"""Prefect flows that only compose tasks: resolve_issue, backlog_sweep, replay.

Filled by the orchestration work; see ARCHITECTURE.md, "Prefect".
"""
