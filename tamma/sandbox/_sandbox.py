"""`Sandbox`: the one way Tamma runs repository code (tests, linters, allowed commands, CI)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tamma.redaction import redact
from tamma.sandbox._bubblewrap import bubblewrap_argv, bubblewrap_version
from tamma.sandbox._environment import confined_environment, unconfined_environment
from tamma.sandbox._limits import cgroups_available, limited, rlimit_prefix
from tamma.sandbox._policy import SandboxPolicy
from tamma.sandbox._process import Finished, run_watched
from tamma.sandbox._result import CommandResult
from tamma.sandbox._view import HostView, host_view

__all__ = ["UNCONFINED_WARNING", "Sandbox"]

DEFAULT_OUTPUT_CAP = 20_000
UNCONFINED_WARNING = (
    "sandbox: none: repository code (tests, linters, the model's commands) runs on this machine "
    "with your user's rights, network and files; use it only for repositories you trust"
)
_OUTER_ENV = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
"""All that bubblewrap itself gets: it clears the environment before starting the command anyway."""


class Sandbox:
    """Runs commands under a `SandboxPolicy`: confined by bubblewrap, or unconfined (`none`),
    with the same limits, environment allowlist and bounded output either way."""

    def __init__(self, policy: SandboxPolicy | None = None) -> None:
        self.policy = policy or SandboxPolicy()

    def check(self) -> None:
        """Raise `SandboxUnavailable` (with what to install) when the sandbox cannot run here:
        called before a run starts, so nothing is claimed or spent for a run that cannot work."""
        rlimit_prefix(self.policy.limits)
        if self.policy.confined:
            bubblewrap_version()

    def describe(self) -> dict[str, Any]:
        """What RUN.STARTED records: the policy, and how this machine enforces it."""
        enforced: dict[str, Any] = {"cgroups": cgroups_available()}
        if self.policy.confined:
            enforced["bubblewrap"] = bubblewrap_version()
        return {**self.policy.describe(), **enforced}

    def run(
        self,
        argv: Sequence[str],
        *,
        workspace: Path,
        cwd: Path | None = None,
        timeout_s: float,
        output_cap: int = DEFAULT_OUTPUT_CAP,
    ) -> CommandResult:
        """Run `argv` (a list, never a shell string) with `workspace` writable, in `cwd` (default:
        the workspace); its output redacted, the tail kept."""
        command = tuple(argv)
        workspace = workspace.resolve()
        cwd = (cwd or workspace).resolve()
        if not command or any("\0" in part for part in command):
            return CommandResult(command, None, "cannot run: the command is empty or holds a NUL byte")
        limits = self.policy.limits
        watch: dict[str, Any] = {
            "timeout_s": timeout_s,
            "output_cap": output_cap,
            "disk_bytes": limits.disk_mb * 2**20,
        }
        if self.policy.confined:
            finished = self._confined(command, workspace, cwd, watch)
        else:
            with tempfile.TemporaryDirectory(prefix="tamma-home-") as home, limited(limits) as prefix:
                env = unconfined_environment(self.policy, home)
                finished = run_watched([*prefix, *command], cwd=cwd, env=env, **watch)
        return CommandResult(command, finished.exit_code, redact(finished.output), finished.stopped_by)

    def _confined(
        self, command: tuple[str, ...], workspace: Path, cwd: Path, watch: dict[str, Any]
    ) -> Finished:
        view = host_view(self.policy.read_only_paths, workspace=workspace, network=self.policy.network)
        env = confined_environment(self.policy, view)
        missing = _unreachable(command[0], env["PATH"], cwd, view, workspace)
        if missing:
            return Finished(None, missing)
        with limited(self.policy.limits) as prefix:
            confined = bubblewrap_argv(
                list(command), policy=self.policy, view=view, workspace=workspace, cwd=cwd, env=env
            )
            return run_watched([*prefix, *confined], cwd=cwd, env=_OUTER_ENV, **watch)


def _unreachable(program: str, path: str, cwd: Path, view: HostView, workspace: Path) -> str | None:
    """Why `program` cannot start inside the sandbox, said before starting it; None if it can."""
    if "/" in program:
        found = (cwd / program).resolve()
        inside = found == workspace or workspace in found.parents or view.shows(str(found))
        if found.is_file() and inside:
            return None
    elif shutil.which(program, path=path):
        return None
    return (
        f"cannot run {program!r}: not found inside the sandbox (PATH={path}); the sandbox shows the "
        "system directories, Tamma's Python and the workspace: add a toolchain's directory to "
        "sandbox.read_only_paths in tamma.yaml"
    )
