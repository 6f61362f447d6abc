"""Tamma's tool policy, applied to Claude Code's tools: the same rules as the built-in tools.

Claude Code names files by absolute path, so a path is allowed when it resolves inside the
workspace (symlinks followed), reads included; nothing under `.git/` is writable. A shell
command must be one plain argv: no shell operators, substitutions or redirections, since Bash
would run them, and no unquoted glob, since Bash would expand it to names no check has seen.
It is the configured test command (with any arguments), or passes `check_argv` like the
built-in `run_command`.

An allowed command still never runs in Claude Code's own shell, whose environment holds the
model's API key and which runs it on the host: `sandboxed_bash` rewrites the call to start
`python -I -m tamma.sandbox` with the command's argv, so it runs in Tamma's sandbox like the
built-in tools' commands.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from tamma.agent._argv import check_argv
from tamma.agent._paths import Refused, confined_path
from tamma.agent.tools import Toolbox, ToolPolicy

__all__ = ["CLAUDE_CODE_TOOLS", "bash_timeout_ms", "refusal", "sandboxed_bash"]

CLAUDE_CODE_TOOLS = ("Read", "Write", "Edit", "Glob", "Grep", "Bash")
"""The only tools the model sees; web, agents, notebooks and the rest stay off."""
_WRITES = frozenset({"Write", "Edit"})
_SHELL_SYNTAX = frozenset(";&|`$<>\n(){}")
_GLOB = frozenset("*?[")
_SANDBOX_START_S = 30
"""Time on top of the sandbox's own timeout for the sandbox to start and report."""


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
            _allowed_command(root, policy, str(arguments.get("command", "")))
        else:
            raise Refused(f"{tool} is not one of the tools Tamma allows ({', '.join(CLAUDE_CODE_TOOLS)})")
    except Refused as refused:
        return str(refused)
    return None


def sandboxed_bash(toolbox: Toolbox, arguments: dict[str, Any]) -> dict[str, Any]:
    """The input of an allowed Bash call, its command run in the toolbox's sandbox instead.

    `python -I`: the command line starts in the workspace, and without isolation Python would
    import a module the model wrote there (a `json.py`) in the wrapper, outside the sandbox.
    Refused when the wrapper cannot be built, so that the command never runs unconfined.
    Claude Code's own `CLAUDE_CODE_SUBPROCESS_ENV_SCRUB` stays off: it starts subprocesses in a
    bubblewrap of its own, inside which this one cannot make its namespaces.
    """
    if not sys.executable:
        raise Refused("Tamma cannot name its own Python to start the sandbox, so no command runs")
    policy = toolbox.policy
    wrapper = [
        *(sys.executable, "-I", "-m", "tamma.sandbox"),
        *("--policy", json.dumps(toolbox.sandbox.policy.describe(), separators=(",", ":"))),
        *("--workspace", str(toolbox.root)),
        *("--timeout", str(policy.command_timeout_s)),
        *("--output-cap", str(policy.output_cap)),
        "--",
        *shlex.split(str(arguments["command"])),
    ]
    return {**arguments, "command": shlex.join(wrapper), "timeout": bash_timeout_ms(policy)}


def bash_timeout_ms(policy: ToolPolicy) -> int:
    """Bash's `timeout` for a sandboxed command, and the CLI's `BASH_MAX_TIMEOUT_MS`: the
    sandbox stops a slow command and says which limit it reached. The CLI cuts a longer
    `timeout` to its maximum (10 minutes unless raised), and at that point moves the command to
    the background instead of stopping it, which would leave the model waiting on a command
    that the sandbox ends anyway."""
    return round((policy.command_timeout_s + _SANDBOX_START_S) * 1000)


def _inside(root: Path, given: str, *, for_writing: bool) -> None:
    confined_path(root, given, for_writing=for_writing, absolute_ok=True)


def _allowed_command(root: Path, policy: ToolPolicy, command: str) -> None:
    if not command.strip() or _SHELL_SYNTAX & set(command):
        raise Refused(f"{command!r} is not a plain command; shell operators and substitutions are refused")
    try:
        argv = shlex.split(command)
    except ValueError as unsplittable:
        raise Refused(
            f"{command!r} cannot be split into arguments ({unsplittable}); balance its quotes"
        ) from None
    test_command = list(policy.test_command or ())
    if test_command and argv[: len(test_command)] == test_command:
        return
    if _GLOB & set(_unquoted(command)):
        raise Refused(
            f"{command!r} has an unquoted * ? or [, which Bash would expand to names no check has "
            "seen; name the files, or quote a pattern meant for the program"
        )
    check_argv(argv, allowed=policy.allowed_commands, root=root)


def _unquoted(command: str) -> str:
    """The characters of `command` that Bash reads outside quotes and backslash escapes."""
    outside: list[str] = []
    quote, escaped = "", False
    for char in command:
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        else:
            outside.append(char)
    return "".join(outside)
