"""What the sandbox allows: its backend, the network, extra read-only paths, and its limits.

Plain dataclasses, so the sandbox stays importable without pydantic (it also runs as
`python -m tamma.sandbox` under a stripped-down interpreter); `tamma.config` validates them
from tamma.yaml / TAMMA_SANDBOX all the same, since pydantic understands dataclasses.

    sandbox: bubblewrap            # or none (unconfined; warned about on every run)
    sandbox:
      backend: bubblewrap
      network: false               # true: the repository's tests may reach the network
      read_only_paths: [/opt/jdk]  # toolchains outside the system directories
      env: {JAVA_HOME: /opt/jdk}   # fixed variables; nothing is inherited from Tamma
      limits: {memory_mb: 4096, processes: 512, file_size_mb: 1024, disk_mb: 2048, tmp_mb: 1024}
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["SandboxBackend", "SandboxLimits", "SandboxPolicy"]

SandboxBackend = Literal["bubblewrap", "none"]
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED_VARIABLES = frozenset({"HOME", "TMPDIR", "PATH"})


@dataclass(frozen=True)
class SandboxLimits:
    """Ceilings for one command and everything it starts."""

    __pydantic_config__ = {"extra": "forbid"}  # noqa: RUF012 - read by pydantic, never mutated

    memory_mb: int = 4096
    """Data memory of each process (RLIMIT_DATA), and of the whole tree where cgroups allow."""
    processes: int = 512
    """Processes and threads at once: a fork bomb stops here instead of at the machine's limit."""
    file_size_mb: int = 1024
    """The largest file a command may write (RLIMIT_FSIZE)."""
    disk_mb: int = 2048
    """How much a command may add to the workspace's disk before it is stopped."""
    tmp_mb: int = 1024
    """Size of the private /tmp (which holds HOME) and /dev/shm, both in memory."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < 1:
                raise ValueError(f"sandbox limit {name} must be at least 1, not {value}")


@dataclass(frozen=True)
class SandboxPolicy:
    """How repository code runs: configuration only, never widened by an issue or the model."""

    __pydantic_config__ = {"extra": "forbid"}  # noqa: RUF012 - read by pydantic, never mutated

    backend: SandboxBackend = "bubblewrap"
    network: bool = False
    read_only_paths: tuple[str, ...] = ()
    """Host directories the command may read besides the system's and Tamma's interpreter."""
    env: dict[str, str] = field(default_factory=dict)
    limits: SandboxLimits = field(default_factory=SandboxLimits)

    def __post_init__(self) -> None:
        for name in self.env:
            if not _VARIABLE_NAME.fullmatch(name) or name in _RESERVED_VARIABLES:
                raise ValueError(f"sandbox.env cannot set {name!r}: HOME, TMPDIR and PATH are the sandbox's")
        for path in self.read_only_paths:
            if not path.startswith("/"):
                raise ValueError(f"sandbox.read_only_paths needs absolute paths, not {path!r}")

    @property
    def confined(self) -> bool:
        return self.backend != "none"

    def describe(self) -> dict[str, Any]:
        """The policy as recorded in RUN.STARTED: what repository code could do in this run."""
        return asdict(self)
