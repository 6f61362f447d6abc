"""The bubblewrap command line that confines one command (see `tamma.sandbox` for the guarantees).

Namespaces: all of them new (user, PID, network unless `network: true`, IPC, UTS, cgroup),
with no capabilities and no further user namespaces inside. The mount namespace starts from
an empty root: the host view read-only, a private `/proc` that lists only the sandbox's own
processes, a minimal `/dev`, size-bounded tmpfs for `/tmp` (HOME is `/tmp/home`) and
`/dev/shm`, and the workspace read-write at its own path with its `.git` read-only, so
repository code can change files but never the git config, hooks or objects that Tamma's own
git reads. `--die-with-parent` and the PID namespace make the whole tree die with the command.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tamma.sandbox._environment import SANDBOX_HOME
from tamma.sandbox._errors import UNCONFINED_HINT, SandboxUnavailable
from tamma.sandbox._policy import SandboxPolicy
from tamma.sandbox._view import HostView

__all__ = [
    "bubblewrap_argv",
    "bubblewrap_version",
]

INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; "
    "Arch: pacman -S bubblewrap)"
)
MB = 2**20


def bubblewrap_argv(
    command: list[str],
    *,
    policy: SandboxPolicy,
    view: HostView,
    workspace: Path,
    cwd: Path,
    env: Mapping[str, str],
) -> list[str]:
    """`bwrap <options> -- command`: `command` confined to `workspace`, started in `cwd`."""
    tmp_bytes = str(policy.limits.tmp_mb * MB)
    argv = [
        bubblewrap_program(),
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "tamma-sandbox",
        *(["--share-net"] if policy.network else []),
    ]
    for target, link in view.links:
        argv += ["--symlink", target, link]
    for path in view.read_only:
        argv += ["--ro-bind-try", path, path]
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", tmp_bytes, "--tmpfs", "/dev/shm"]
    argv += ["--size", tmp_bytes, "--tmpfs", "/tmp", "--dir", SANDBOX_HOME, "--dir", "/var"]
    argv += ["--symlink", "/tmp", "/var/tmp"]
    for path in view.read_only:  # again, in case a toolchain lives under /tmp
        if path == "/tmp" or path.startswith("/tmp/"):
            argv += ["--ro-bind", path, path]
    root = str(workspace)
    argv += ["--bind", root, root, "--ro-bind-try", f"{root}/.git", f"{root}/.git"]
    argv += ["--clearenv"]
    for name, value in env.items():
        argv += ["--setenv", name, value]
    return [*argv, "--chdir", str(cwd), "--", *command]


@functools.cache
def bubblewrap_program() -> str:
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailable(
            f"the sandbox needs bubblewrap (`bwrap`), which is not on PATH: {INSTALL_HINT}, {UNCONFINED_HINT}"
        )
    return found


@functools.cache
def bubblewrap_version() -> str:
    """bwrap's version, after checking it can make a sandbox here (user namespaces allowed);
    checked once per process."""
    program = bubblewrap_program()
    probe = [program, "--unshare-all", "--unshare-user", "--ro-bind", "/", "/", "--", "true"]
    try:
        tried = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False)
        version = subprocess.run(
            [program, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailable(f"bubblewrap could not start: {exc}; {UNCONFINED_HINT}") from None
    if tried.returncode != 0:
        detail = (tried.stderr.strip().splitlines() or [f"exit code {tried.returncode}"])[-1]
        raise SandboxUnavailable(
            f"bubblewrap cannot make a sandbox on this machine ({detail}); unprivileged user namespaces "
            "may be disabled (sysctl kernel.unprivileged_userns_clone=1, or "
            f"kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu); {UNCONFINED_HINT}"
        )
    return version.stdout.strip().removeprefix("bubblewrap ") or "unknown"
