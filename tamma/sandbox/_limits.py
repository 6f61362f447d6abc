"""Resource limits for one command: rlimits for every user, a cgroup where one can be made.

Rlimits are set with util-linux's `prlimit` in front of the command (no `preexec_fn`: it is
unsafe in a process with threads, and Prefect runs threads). They bound each process's data
memory and file size, and the number of processes; but the kernel lets root fork past
RLIMIT_NPROC. So when Tamma runs as root and a cgroup hierarchy is writable (v2, or v1's
`pids` and `memory` controllers), the command also gets a cgroup of its own with `pids.max`
and a memory ceiling for the whole tree, joined by a tiny `sh` before it execs the command.
Where neither works the process limit is the wall time's job, and `describe()` says so.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from tamma.sandbox._errors import SandboxUnavailable
from tamma.sandbox._policy import SandboxLimits

__all__ = ["cgroups_available", "limited", "rlimit_prefix"]

CGROUP_ROOT = Path("/sys/fs/cgroup")
MB = 2**20
_JOIN = (
    'for procs; do [ "$procs" = -- ] && break; echo $$ > "$procs" || exit 125; shift; done; shift; exec "$@"'
)
"""sh -c script: write this shell's pid into each cgroup.procs given before `--`, then exec the rest."""
_REMOVE_WAIT_S = 2.0
Controls = Callable[[SandboxLimits], dict[str, str]]


def rlimit_prefix(limits: SandboxLimits) -> list[str]:
    """`prlimit ... --`: what every command runs behind. The process limit counts the user's
    processes already running (the kernel counts them all), plus what the command may add."""
    processes = limits.processes + (_processes_of(os.getuid()) if os.getuid() else 0)
    return [
        _program("prlimit"),
        f"--data={limits.memory_mb * MB}",
        f"--fsize={limits.file_size_mb * MB}",
        f"--nproc={processes}",
        "--core=0",
        "--",
    ]


class _Cgroup:
    """A cgroup of its own per command, where this process may make one; see the module docstring."""

    def __init__(self, limits: SandboxLimits) -> None:
        self.limits = limits
        self.directories: list[Path] = []

    def create(self) -> list[str]:
        """Make the cgroup(s); the `sh` prefix that joins them, or [] when none could be made."""
        name = f"tamma-{uuid.uuid4().hex[:12]}"
        for parent, controls in _writable_parents():
            directory = parent / name
            try:
                directory.mkdir()
                self.directories.append(directory)
                for control, value in controls(self.limits).items():
                    (directory / control).write_text(value)
            except OSError:
                self.remove()
                return []
        if not self.directories:
            return []
        procs = [str(directory / "cgroup.procs") for directory in self.directories]
        return [_program("sh"), "-c", _JOIN, "sh", *procs, "--"]

    def remove(self) -> None:
        """Remove the cgroups. They empty when the sandbox's PID namespace is torn down, which
        the kernel finishes a moment after the command's exit; whatever is still inside by the
        deadline is killed."""
        for directory in self.directories:
            if not _removed(directory):
                _kill_members(directory)
                _removed(directory)
        self.directories.clear()


@contextlib.contextmanager
def limited(limits: SandboxLimits) -> Iterator[list[str]]:
    """The argv prefix that applies `limits`; cgroups made for it are removed afterwards."""
    cgroup = _Cgroup(limits)
    try:
        yield [*cgroup.create(), *rlimit_prefix(limits)]
    finally:
        cgroup.remove()


def cgroups_available() -> bool:
    """Whether commands get a cgroup (a process limit that holds for root too)."""
    return bool(_writable_parents())


def _v2_controls(limits: SandboxLimits) -> dict[str, str]:
    return {"pids.max": str(limits.processes), "memory.max": str(limits.memory_mb * MB)}


def _pids_controls(limits: SandboxLimits) -> dict[str, str]:
    return {"pids.max": str(limits.processes)}


def _memory_controls(limits: SandboxLimits) -> dict[str, str]:
    return {"memory.limit_in_bytes": str(limits.memory_mb * MB)}


@functools.cache
def _writable_parents() -> list[tuple[Path, Controls]]:
    """Where this process's own cgroups are and which files limit a child there: v2's single
    hierarchy if it offers pids and memory to children, else v1's pids and memory controllers."""
    if os.getuid() != 0:
        return []
    own = _own_cgroups()
    unified = CGROUP_ROOT / own.get("", "/").lstrip("/")
    if (CGROUP_ROOT / "cgroup.controllers").exists() and _delegates(unified, "pids", "memory"):
        return [(unified, _v2_controls)]
    parents: list[tuple[Path, Controls]] = []
    for controller, controls in (("pids", _pids_controls), ("memory", _memory_controls)):
        directory = CGROUP_ROOT / controller / own.get(controller, "/").lstrip("/")
        if (directory / "cgroup.procs").exists() and os.access(directory, os.W_OK):
            parents.append((directory, controls))
    return parents if len(parents) == 2 else []


def _own_cgroups() -> dict[str, str]:
    """controller -> this process's cgroup path ("" for v2's unified hierarchy)."""
    found = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(","):
                found[controller] = path
    return found


def _delegates(directory: Path, *controllers: str) -> bool:
    try:
        enabled = (directory / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False
    return all(c in enabled for c in controllers) and os.access(directory, os.W_OK)


def _removed(directory: Path) -> bool:
    """rmdir `directory`, waiting up to `_REMOVE_WAIT_S` for it to empty; whether it is gone."""
    deadline = time.monotonic() + _REMOVE_WAIT_S
    while True:
        try:
            directory.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)


def _kill_members(directory: Path) -> None:
    with contextlib.suppress(OSError):
        for pid in (directory / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                count += entry.stat().st_uid == uid
    return count


def _program(name: str) -> str:
    found = shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")
    if found is None:
        raise SandboxUnavailable(
            f"the sandbox needs `{name}`, which is not in /usr/bin or /bin: install util-linux"
        )
    return found
