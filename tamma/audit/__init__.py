"""Audit over the event stream: a run's state at any position, its timeline, what changed
between two points, and exports. Everything here reads events only: no Prefect database, no
platform, no model."""
