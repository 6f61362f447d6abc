"""Tamma: an autonomous development orchestrator on Prefect, every decision an event.

The library the Prefect tasks call; usable and testable without Prefect. Subpackages:
`tamma.cli` (the `tamma` command), `tamma.config` (settings), `tamma.errors` (error tree).
"""

__version__ = "0.1.0"
