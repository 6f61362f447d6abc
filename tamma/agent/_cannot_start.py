"""Telling a command that never started from one that ran and failed.

A test runner or linter that is not installed (`No module named pytest`, a program not found)
is a configuration problem: shown to the model as a failing test or a lint problem, it would
send the model chasing a fault it cannot fix, and a test-first phase would even take the
missing runner for the failing test it asked for. The signs are narrow on purpose: a test that
imports a module the fix has yet to write also prints `No module named`, and that one is a
real failure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tamma.sandbox import CommandResult

__all__ = ["cannot_start_reason"]

_SHELL_CANNOT_RUN = frozenset({126, 127})
"""What a shell answers for a program it cannot execute (126) or cannot find (127)."""


def cannot_start_reason(command: Sequence[str], result: CommandResult) -> str | None:
    """Why `command` never got to run, in a few words from its output; None when it ran (passing
    or not). A command stopped by a limit did start."""
    if result.stopped_by is not None:
        return None
    if result.exit_code is None or result.exit_code in _SHELL_CANNOT_RUN or _missing_module(command, result):
        lines = [line.strip() for line in result.output.splitlines() if line.strip()]
        return lines[-1][:200] if lines else result.summary()
    return None


def _missing_module(command: Sequence[str], result: CommandResult) -> bool:
    """`python -m MODULE` whose interpreter could not find MODULE: it says so on one line of its
    own, `<python>: No module named MODULE`, before anything of MODULE's could run."""
    argv = list(command)
    if "-m" not in argv[:-1]:
        return False
    module = re.escape(argv[argv.index("-m") + 1])
    return re.search(rf"^\S+: No module named {module}$", result.output, re.MULTILINE) is not None
