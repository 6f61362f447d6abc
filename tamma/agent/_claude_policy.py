"""Tamma's tool policy, applied to Claude Code's tools: the same rules as the built-in tools.

Claude Code names files by absolute path, so a path is allowed when it resolves inside the
workspace (symlinks followed), reads included; nothing under `.git/` is writable. A shell
command must be the configured test command or start with an allowed program, as one plain
argv: no shell operators, substitutions or redirections, since Bash would run them.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from tamma.agent._paths import Refused, confined_path
from tamma.agent.tools import ToolPolicy

__all__ = ["CLAUDE_CODE_TOOLS", "refusal"]

CLAUDE_CODE_TOOLS = ("Read", "Write", "Edit", "Glob", "Grep", "Bash")
"""The only tools the model sees; web, agents, notebooks and the rest stay off."""
_WRITES = frozenset({"Write", "Edit"})
_SHELL_SYNTAX = frozenset(";&|`$<>\n(){}")


def refusal(root: Path, policy: ToolPolicy, tool: str, arguments: dict[str, Any]) -> str | None:
    """Why the call is refused, or None when Tamma's policy allows it."""
    try:
        if tool in ("Read", "Write", "Edit"):
            _inside(root, str(arguments.get("file_path", "")), for_writing=tool in _WRITES)
        elif tool in ("Glob", "Grep"):
            _inside(root, str(arguments.get("path") or "."), for_writing=False)
            pattern = str(arguments.get("pattern", ""))
            if tool == "Glob" and (pattern.startswith(("/", "~")) or ".." in pattern.split("/")):
                raise Refused(f"the pattern {pattern!r} reaches outside the workspace")
        elif tool == "Bash":
            _allowed_command(policy, str(arguments.get("command", "")))
        else:
            raise Refused(f"{tool} is not one of the tools Tamma allows ({', '.join(CLAUDE_CODE_TOOLS)})")
    except Refused as refused:
        return str(refused)
    return None


def _inside(root: Path, given: str, *, for_writing: bool) -> None:
    path = Path(given)
    if path.is_absolute():
        real_root = root.resolve()
        resolved = path.resolve()
        if resolved != real_root and real_root not in resolved.parents:
            raise Refused(f"{given!r} is outside the workspace; only files inside it are reachable")
        given = resolved.relative_to(real_root).as_posix() or "."
    confined_path(root, given, for_writing=for_writing)


def _allowed_command(policy: ToolPolicy, command: str) -> None:
    if not command.strip() or _SHELL_SYNTAX & set(command):
        raise Refused(f"{command!r} is not a plain command; shell operators and substitutions are refused")
    argv = shlex.split(command)
    test_command = list(policy.test_command or ())
    if test_command and argv[: len(test_command)] == test_command:
        return
    if Path(argv[0]).name not in policy.allowed_commands and argv[0] not in policy.allowed_commands:
        allowed = ", ".join(sorted(policy.allowed_commands)) or "none"
        raise Refused(f"{argv[0]!r} is not an allowed command (allowed: {allowed}, and the test command)")
