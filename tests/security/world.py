"""The host an escape attempt runs on: secrets to steal, places to write, servers to reach.

Laid out like production: `tamma-home/` holds an event store and the workspaces, one of which
is the sandbox's; a sibling workspace and a file outside both hold a secret; the runner's own
environment holds the platform token and the model's key. Listening on the host: a TCP server,
a UDP socket and an abstract unix socket, each counting who reached it. After an attempt,
`breaches()` lists every way it got out, whatever the attempt was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tamma.git import git

SECRETS = {
    "GITHUB_TOKEN": "ghp_" + "EscapeCorpus0token" * 2,
    "ANTHROPIC_API_KEY": "sk-ant-api03-" + "escape-corpus-key-" * 2,
    "TAMMA_DB_PASSWORD": "plain-escape-corpus-password",
}
"""In the environment of the process that starts the sandbox; none may reach inside."""
FILE_SECRET = "file-secret-" + uuid.uuid4().hex


@dataclass
class Listener:
    """A host socket that counts who reached it."""

    sock: socket.socket
    reached: list[bytes] = field(default_factory=list)

    def serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                if self.sock.type == socket.SOCK_DGRAM:
                    self.reached.append(self.sock.recv(1024))
                    continue
                connection, _ = self.sock.accept()
                self.reached.append(b"connected")
                connection.close()


@dataclass
class World:
    root: Path
    tag: str = field(default_factory=lambda: f"escape{uuid.uuid4().hex[:10]}")
    listeners: dict[str, Listener] = field(default_factory=dict)
    git_config: str = ""
    """`.git/config` as laid out: nothing run in the sandbox may change it."""

    @property
    def tamma_home(self) -> Path:
        return self.root / "tamma-home"

    @property
    def workspace(self) -> Path:
        return self.tamma_home / "workspaces" / "local-shop-1"

    @property
    def sibling(self) -> Path:
        return self.tamma_home / "workspaces" / "local-shop-2"

    @property
    def outside(self) -> Path:
        return self.root / "outside" / "secret.txt"

    @property
    def host_marker(self) -> Path:
        """A path in the host's /tmp: an attempt that creates it wrote outside the sandbox."""
        return Path(tempfile.gettempdir()) / f"{self.tag}-marker"

    def values(self) -> dict[str, str]:
        """What an attempt's script may name (`{workspace}`, `{port}`, ...)."""
        return {
            "workspace": str(self.workspace),
            "sibling": str(self.sibling),
            "tamma_home": str(self.tamma_home),
            "outside": str(self.outside),
            "outside_dir": str(self.outside.parent),
            "host_marker": str(self.host_marker),
            "tag": self.tag,
            "port": str(self.listeners["tcp"].sock.getsockname()[1]),
            "udp_port": str(self.listeners["udp"].sock.getsockname()[1]),
            "abstract": self.tag,
            "host_pid": str(os.getpid()),
        }

    def breaches(self, output: str) -> list[str]:
        """Every trace of an escape: a secret seen, a host file changed, a process left, a
        socket reached."""
        found = [f"the output holds {name}" for name, value in SECRETS.items() if value in output]
        if FILE_SECRET in output:
            found.append("the output holds a file outside the workspace")
        for path in self.workspace.rglob("*"):
            if ".git" not in path.parts and path.is_file() and not path.is_symlink():
                text = path.read_bytes()
                if FILE_SECRET.encode() in text or any(v.encode() in text for v in SECRETS.values()):
                    found.append(f"{path.name} in the workspace holds a secret")
        if self.outside.read_text() != FILE_SECRET or (self.sibling / "notes.txt").read_text() != FILE_SECRET:
            found.append("a file outside the workspace changed")
        beside = {path.name for path in self.workspace.parent.iterdir()}
        if (
            self.host_marker.exists()
            or any(self.outside.parent.glob("*marker*"))
            or beside
            != {
                self.workspace.name,
                self.sibling.name,
            }
        ):
            found.append("a file appeared outside the workspace")
        if (
            git("config", "--file", str(self.workspace / ".git" / "config"), "--list").stdout
            != self.git_config
        ):
            found.append(".git/config changed")
        if any((self.workspace / ".git" / "hooks").iterdir()):
            found.append("a hook was planted")
        if _processes_tagged(self.tag):
            found.append("a process outlived the command")
        found += [
            f"the host's {name} socket was reached" for name, seen in self.listeners.items() if seen.reached
        ]
        return found


@contextlib.contextmanager
def built_world(owner: int | None = None) -> Iterator[World]:
    """A world in a fresh directory every user can traverse (the escape runs as root or as
    `owner`, who then owns the workspace)."""
    root = Path(tempfile.mkdtemp(prefix="tamma-escapes-"))
    root.chmod(0o755)
    world = World(root)
    try:
        _lay_out(world)
        if owner is not None:
            for path in (world.workspace, *world.workspace.rglob("*")):
                os.lchown(path, owner, owner)
        for name, kind in (("tcp", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM)):
            world.listeners[name] = _listen(socket.socket(socket.AF_INET, kind), ("127.0.0.1", 0))
        world.listeners["abstract"] = _listen(socket.socket(socket.AF_UNIX), f"\0{world.tag}")
        yield world
    finally:
        for listener in world.listeners.values():
            listener.sock.close()
        world.host_marker.unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)


def _lay_out(world: World) -> None:
    for directory in (world.workspace, world.sibling, world.outside.parent):
        directory.mkdir(parents=True)
        directory.chmod(0o755)
    world.tamma_home.chmod(0o755)
    (world.tamma_home / "workspaces").chmod(0o755)
    (world.tamma_home / "events.db").write_text(f"events {FILE_SECRET}")
    world.outside.write_text(FILE_SECRET)
    (world.sibling / "notes.txt").write_text(FILE_SECRET)
    (world.workspace / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git("init", "--quiet", "--initial-branch=main", cwd=world.workspace)
    git("add", "--all", cwd=world.workspace)
    git("commit", "--quiet", "-m", "Initial commit", cwd=world.workspace)
    for hook in (world.workspace / ".git" / "hooks").glob("*"):
        hook.unlink()
    world.git_config = git("config", "--file", str(world.workspace / ".git" / "config"), "--list").stdout


def _listen(sock: socket.socket, address: str | tuple[str, int]) -> Listener:
    sock.bind(address)
    if sock.type == socket.SOCK_STREAM:
        sock.listen(16)
    listener = Listener(sock)
    threading.Thread(target=listener.serve, daemon=True).start()
    return listener


def _processes_tagged(tag: str) -> list[str]:
    found = subprocess.run(["pgrep", "-af", tag], capture_output=True, text=True, check=False)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]
