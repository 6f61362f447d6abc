"""Running git: argument lists only (never a shell string), a clean environment, clear errors."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tamma.errors import PlatformError
from tamma.redaction import redact

__all__ = ["git"]

GIT_TIMEOUT_S = 120
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Tamma",
    "GIT_AUTHOR_EMAIL": "tamma@localhost",
    "GIT_COMMITTER_NAME": "Tamma",
    "GIT_COMMITTER_EMAIL": "tamma@localhost",
}


def git(
    *args: str, cwd: Path | None = None, check: bool = True, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`git args...`; a failure raises PlatformError with git's own message (redacted).

    `env` adds variables (an author identity, GIT_ASKPASS and the secret it reads) to the clean
    base environment; nothing else of the caller's environment reaches git.
    """
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        **_IDENTITY,
    }
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
        check=False,
    )
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise PlatformError(
            redact(f"git {args[0]} failed: {detail[-1] if detail else result.returncode}"), platform="git"
        )
    return result
