"""`python -m tamma.sandbox --policy JSON --workspace DIR -- PROGRAM ARGS...`: one command, confined.

For callers that can only start a process: Claude Code's shell tool runs the model's commands
through it, and the escape tests run it as an unprivileged user. It prints the command's output
tail (redacted) and exits with its exit code; 124 when a limit stopped it, 127 when it could not
start, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tamma.sandbox._policy import SandboxLimits, SandboxPolicy
from tamma.sandbox._sandbox import Sandbox

STOPPED_BY_LIMIT = 124
COULD_NOT_START = 127


def policy_from_json(text: str) -> SandboxPolicy:
    """The policy `SandboxPolicy.describe()` wrote (or any subset of it)."""
    fields = json.loads(text)
    limits = SandboxLimits(**fields.pop("limits", {}))
    read_only = tuple(fields.pop("read_only_paths", ()))
    known = {name: fields[name] for name in ("backend", "network", "env") if name in fields}
    return SandboxPolicy(**known, read_only_paths=read_only, limits=limits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tamma.sandbox", description=__doc__)
    parser.add_argument("--policy", default="{}", help="the sandbox policy as JSON (default: the defaults)")
    parser.add_argument("--workspace", type=Path, required=True, help="the directory the command may write")
    parser.add_argument("--cwd", type=Path, help="where the command starts (default: the workspace)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before the command is killed")
    parser.add_argument("--output-cap", type=int, default=20_000, help="bytes of output kept (the tail)")
    parser.add_argument("command", nargs="+", help="the program and its arguments (after --)")
    args = parser.parse_args(argv)
    try:
        policy = policy_from_json(args.policy)
    except (ValueError, TypeError) as invalid:
        parser.error(f"--policy: {invalid}")
    result = Sandbox(policy).run(
        args.command,
        workspace=args.workspace,
        cwd=args.cwd,
        timeout_s=args.timeout,
        output_cap=args.output_cap,
    )
    sys.stdout.write(result.output)
    if result.exit_code is not None:
        return result.exit_code
    return STOPPED_BY_LIMIT if result.stopped_by else COULD_NOT_START


if __name__ == "__main__":
    sys.exit(main())
