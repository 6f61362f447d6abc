"""What a sandboxed command sees of the host: the system and toolchains read-only, and nothing else.

Visible: `/usr` (with the merged-usr links `/bin`, `/lib`, ...), a short list of `/etc` files
that programs need to start (no `shadow`, no SSH host keys, no database configs), the Python
Tamma runs on (its venv and base installation: the test and lint commands default to it),
and the configured `sandbox.read_only_paths`. Never visible: HOME, `$TAMMA_HOME` (events,
tokens in the keychain's files, other workspaces), other users' files, the host's `/tmp`.

A read-only path that would reveal more than it should (`/`, an ancestor of HOME or of the
workspace, whose siblings are other issues' workspaces and the event store) is refused.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tamma.errors import ConfigError

__all__ = ["HostView", "host_view"]

SYSTEM_DIRECTORIES = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_ENTRIES = (
    "passwd",
    "group",
    "hosts",
    "host.conf",
    "nsswitch.conf",
    "localtime",
    "timezone",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "ssl/certs",
    "ssl/openssl.cnf",
    "ca-certificates",
    "ca-certificates.conf",
    "pki/tls/certs",
    "crypto-policies",
    "mime.types",
    "protocols",
    "services",
    "os-release",
    "debian_version",
    "lsb-release",
    "python3",
    f"python{sys.version_info.major}.{sys.version_info.minor}",
)
"""What programs read from /etc to start and to name users, hosts and time zones."""
NETWORK_ETC_ENTRIES = ("resolv.conf", "gai.conf")
"""Only with `sandbox.network: true`: name resolution."""


@dataclass(frozen=True)
class HostView:
    """Host paths as the sandbox shows them (each at its own path)."""

    links: tuple[tuple[str, str], ...]
    """(target, path): the system's top-level symlinks, recreated as they are (merged /usr)."""
    read_only: tuple[str, ...]
    interpreter_bin: str
    """The bin directory of the Python Tamma runs on: first on the sandbox's PATH."""

    def path_variable(self, host_path: str) -> str:
        """The host's PATH without what the sandbox cannot see, after the interpreter's bin."""
        visible = [self.interpreter_bin]
        for entry in host_path.split(os.pathsep):
            if entry and entry not in visible and self.shows(entry):
                visible.append(entry)
        return os.pathsep.join(visible)

    def shows(self, path: str) -> bool:
        real = os.path.realpath(path)
        return any(real == top or real.startswith(top.rstrip("/") + "/") for top in self._tops)

    @property
    def _tops(self) -> tuple[str, ...]:
        return tuple(os.path.realpath(path) for path in self.read_only)


def host_view(extra: tuple[str, ...], *, workspace: Path, network: bool) -> HostView:
    """The view for a command in `workspace`: see the module docstring."""
    links: list[tuple[str, str]] = []
    read_only: list[str] = []
    for directory in SYSTEM_DIRECTORIES:
        if os.path.islink(directory):
            links.append((os.readlink(directory), directory))
        elif os.path.isdir(directory):
            read_only.append(directory)
    etc = (*ETC_ENTRIES, *(NETWORK_ETC_ENTRIES if network else ()))
    read_only += [f"/etc/{entry}" for entry in etc if os.path.lexists(f"/etc/{entry}")]
    interpreter = dict.fromkeys(os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix))
    for path in (*interpreter, *extra):
        if not any(path == top or path.startswith(top + "/") for top in read_only):
            _refuse_revealing(path, workspace)
            read_only.append(path)
    return HostView(tuple(links), tuple(read_only), os.path.join(sys.prefix, "bin"))


def _refuse_revealing(path: str, workspace: Path) -> None:
    real = Path(os.path.realpath(path))
    for guarded in (Path.home(), workspace):
        guarded = Path(os.path.realpath(guarded))
        if real == guarded or real in guarded.parents:
            raise ConfigError(
                f"sandbox: {path} cannot be shown read-only: it holds {guarded}, which repository "
                "code must not see; name a directory inside it (for example the toolchain's own)"
            )
