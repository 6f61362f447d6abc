"""The event-store benchmark's parts, behind the thin `benchmarks/event_store.py` entry script.

Split by job so each can be read on its own: `_timing` (how a call is timed), `_events`
(what is written), `_drivers` (the raw-driver baseline), `_databases` (a throw-away database
per backend), `_writers` (concurrent writer processes), `_folds` (a run's state at every
step, full and incremental), `_backend` (one backend's measurements) and `_report` (console
and markdown). The entry script needs only what is
exported here.
"""

from __future__ import annotations

from benchmarks._event_store._backend import run_backend
from benchmarks._event_store._databases import BACKENDS, DATABASES, TITLES
from benchmarks._event_store._report import render_markdown, render_text, run_context, update_markdown

__all__ = [
    "BACKENDS",
    "DATABASES",
    "TITLES",
    "render_markdown",
    "render_text",
    "run_backend",
    "run_context",
    "update_markdown",
]
