"""Where secrets come from: an environment variable, else the OS keychain; never a config file.

One lookup for every credential Tamma uses (model API keys, platform tokens), so the rule
and its error hint read the same everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

__all__ = ["KEYCHAIN_SERVICE", "lookup_secret", "where_to_put"]

KEYCHAIN_SERVICE = "tamma"


def lookup_secret(
    env_vars: Sequence[str], keychain_user: str, *, block: Literal["platform", "provider"] | None = None
) -> str | None:
    """The first non-empty variable of `env_vars`, else the keychain entry (tamma, user), else,
    when a Prefect server is configured, the `tamma-<user>` block of kind `block`; else None."""
    for name in env_vars:
        if value := os.environ.get(name):
            return value
    import keyring  # imported here: 25 ms that every CLI start would pay otherwise
    from keyring.errors import KeyringError

    try:
        if found := keyring.get_password(KEYCHAIN_SERVICE, keychain_user):
            return found
    except KeyringError:
        pass  # no keychain on this machine (headless servers, CI)
    if block is None or not os.environ.get("PREFECT_API_URL"):
        return None
    from blocks import secret_from_blocks  # imports Prefect: only when the cheaper sources are empty

    return secret_from_blocks(block, keychain_user)


def where_to_put(env_vars: Sequence[str], keychain_user: str) -> str:
    """The hint a missing-secret error gives: which variable to set or keychain entry to store."""
    variables = " or ".join(env_vars)
    return (
        f"set {variables}, store it with `keyring set {KEYCHAIN_SERVICE} {keychain_user}`, "
        f"or save it as the Prefect block tamma-{keychain_user}"
    )
