"""The sandbox: how Tamma runs code that came from a repository or a model.

Everything that runs repository code goes through `Sandbox.run`: the agent's test runs and
allowed commands, the lint run, the local platform's CI, Claude Code's shell commands. With
the default `bubblewrap` backend a command:

- sees the system and toolchains read-only, the workspace read-write (its `.git` read-only), a
  private `/tmp` and HOME, and no other file of the host: not HOME, `$TAMMA_HOME`, other
  workspaces, sockets or the host's `/tmp`;
- sees only its own processes (`/proc` of a new PID namespace) and dies whole with its
  outermost process: nothing it starts, `setsid` or not, outlives it;
- has no network unless `sandbox.network: true` (loopback services of the host included);
- gets an environment built from an allowlist: no token, no API key, nothing of Tamma's;
- is bounded in wall time, data memory, processes, file size, bytes added to the disk and
  bytes of output kept (the tail; nothing unbounded goes to disk).

`none` runs commands unconfined, with the same environment, limits and output bounds; it must
be chosen explicitly, is warned about on every run and recorded in RUN.STARTED.
"""

from tamma.sandbox._errors import SandboxUnavailable
from tamma.sandbox._policy import SandboxBackend, SandboxLimits, SandboxPolicy
from tamma.sandbox._result import CommandResult
from tamma.sandbox._sandbox import UNCONFINED_WARNING, Sandbox

__all__ = [
    "UNCONFINED_WARNING",
    "CommandResult",
    "Sandbox",
    "SandboxBackend",
    "SandboxLimits",
    "SandboxPolicy",
    "SandboxUnavailable",
]
