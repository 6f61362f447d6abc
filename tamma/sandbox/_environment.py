"""The environment of a sandboxed command: built from an allowlist, never inherited from Tamma's.

Tamma's own environment holds the model's API key and the platform token; a command gets
PATH, the locale, HOME and TMPDIR of its own, and the fixed `sandbox.env` of the configuration.

No bytecode is written: Python trusts a `.pyc` whose source has the same size and mtime second,
so an edit of the same length made within a second of a test run (`a - b` to `a + b`) would run
the old code, and the check after a correct fix would fail.
"""

from __future__ import annotations

import os

from tamma.sandbox._policy import SandboxPolicy
from tamma.sandbox._view import HostView

__all__ = ["SANDBOX_HOME", "confined_environment", "unconfined_environment"]

SANDBOX_HOME = "/tmp/home"
"""HOME inside the sandbox: on its private /tmp, gone with the command."""
LOCALE_VARIABLES = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")


def confined_environment(policy: SandboxPolicy, view: HostView) -> dict[str, str]:
    """Inside bubblewrap: PATH holds only what the sandbox shows."""
    path = view.path_variable(os.environ.get("PATH", "/usr/bin:/bin"))
    return _environment(policy, path=path, home=SANDBOX_HOME, tmp="/tmp")


def unconfined_environment(policy: SandboxPolicy, home: str) -> dict[str, str]:
    """With `sandbox: none`: the host's PATH, and a private HOME and TMPDIR made for the command."""
    return _environment(policy, path=os.environ.get("PATH", "/usr/bin:/bin"), home=home, tmp=home)


def _environment(policy: SandboxPolicy, *, path: str, home: str, tmp: str) -> dict[str, str]:
    locale = {name: os.environ[name] for name in LOCALE_VARIABLES if name in os.environ}
    return {
        **locale,
        **policy.env,
        "PATH": path,
        "HOME": home,
        "TMPDIR": tmp,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
