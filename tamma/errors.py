"""Tamma's errors: one tree, translated at the edges, rendered as one line by the CLI.

    TammaError
    └── ConfigError        a setting is missing, malformed or contradicts another

The event store keeps its own tree (`event_store.EventStoreError`), since it depends on
nothing of ours; the CLI renders both the same way. Later layers (providers, platforms,
agent budgets) add their branches here. No message ever carries a secret.
"""

from __future__ import annotations

__all__ = ["ConfigError", "TammaError"]


class TammaError(Exception):
    """Base class of every error Tamma raises on purpose; its message is for the user."""


class ConfigError(TammaError):
    """A setting is missing or invalid; the message names the setting and where it came from."""
