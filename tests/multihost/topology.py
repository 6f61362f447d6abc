"""Three hosts on one machine: the root network namespace is the server host, and each worker
host is a network namespace joined to it by a veth pair.

Why the root namespace serves: the machine's PostgreSQL listens on the root's loopback only,
and the fakes (GitHub's REST API, the git server, CI) are threads of the test's own process.
The server host's services bind one address, `SERVER_IP`, which is on none of the worker
links; each worker reaches it through its own veth and default route, as a machine reaches a
server over its LAN. A worker's 127.0.0.1 is its own loopback: nothing of the server host
answers there, which `assert_isolated` checks.

Names carry the test process's id (`tmh<pid>...`) so two runs do not clash; everything made
here is removed again on the way out, failures included.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SERVER_IP",
    "Network",
    "WorkerHost",
    "kill_tree",
    "network",
    "process_tree",
    "tcp_relay",
    "tree_rss_bytes",
]

SERVER_IP = "10.231.0.1"
"""The server host's address for the workers: on its own link, so it is no worker's neighbour."""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass(frozen=True)
class WorkerHost:
    """One worker host: its namespace and the address its veth end has."""

    namespace: str
    address: str

    def command(self, argv: Sequence[str]) -> list[str]:
        """`argv` run inside this host's network namespace (`ip netns exec` execs it in place,
        so the process started is `argv` itself)."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def can_connect(self, host: str, port: int) -> bool:
        """Whether a TCP connection from inside this host to `host:port` is accepted."""
        probe = f"import socket; socket.create_connection(({host!r}, {port}), timeout=3).close()"
        done = subprocess.run(self.command(["python3", "-c", probe]), capture_output=True, timeout=30)
        return done.returncode == 0


@dataclass(frozen=True)
class Network:
    """The server host's address and the worker hosts."""

    server_ip: str
    workers: tuple[WorkerHost, ...]


@contextmanager
def network(workers: int = 2) -> Iterator[Network]:
    """`workers` namespaces, each with a veth pair to the root (10.231.N.0/30, loopback up and
    a default route to the root), and `SERVER_IP` on a veth of its own in the root."""
    prefix = f"tmh{os.getpid() % 100_000}"
    links = [f"{prefix}s0"]
    namespaces: list[str] = []
    try:
        _ip("link", "add", f"{prefix}s0", "type", "veth", "peer", "name", f"{prefix}s1")
        _ip("addr", "add", f"{SERVER_IP}/32", "dev", f"{prefix}s0")
        for end in ("s0", "s1"):
            _ip("link", "set", f"{prefix}{end}", "up")
        hosts = []
        for n in range(1, workers + 1):
            namespace, root_end, host_end = f"{prefix}w{n}", f"{prefix}r{n}", f"{prefix}h{n}"
            _ip("netns", "add", namespace)
            namespaces.append(namespace)
            _ip("link", "add", root_end, "type", "veth", "peer", "name", host_end)
            links.append(root_end)
            _ip("link", "set", host_end, "netns", namespace)
            _ip("addr", "add", f"10.231.{n}.1/30", "dev", root_end)
            _ip("link", "set", root_end, "up")
            inside = ["-n", namespace]
            _ip(*inside, "addr", "add", f"10.231.{n}.2/30", "dev", host_end)
            _ip(*inside, "link", "set", host_end, "up")
            _ip(*inside, "link", "set", "lo", "up")
            _ip(*inside, "route", "add", "default", "via", f"10.231.{n}.1")
            hosts.append(WorkerHost(namespace, f"10.231.{n}.2"))
        yield Network(SERVER_IP, tuple(hosts))
    finally:
        for link in links:
            with suppress(subprocess.CalledProcessError):
                _ip("link", "del", link)  # takes its peer, and the peer's addresses, with it
        for namespace in namespaces:
            with suppress(subprocess.CalledProcessError):
                _ip("netns", "del", namespace)


@contextmanager
def tcp_relay(listen_host: str, target: tuple[str, int]) -> Iterator[int]:
    """Forward connections to `listen_host:<port>` to `target`, until the block ends; yields the
    port. The machine's PostgreSQL listens on loopback only: the relay is its LAN address."""
    server = socket.create_server((listen_host, 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            upstream = socket.create_connection(target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(source, sink), daemon=True).start()

    thread = threading.Thread(target=accept, name="tcp-relay", daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        server.close()


def process_tree(root: int) -> list[int]:
    """`root` and every process descended from it, from /proc (an empty list once it is gone)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    if not Path(f"/proc/{root}").exists():
        return []
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def tree_rss_bytes(root: int) -> int:
    """The resident memory of `root`'s whole process tree (VmRSS, summed)."""
    total = 0
    for pid in process_tree(root):
        with suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def kill_tree(root: int, sig: signal.Signals = signal.SIGKILL) -> None:
    """Signal the process group `root` leads and any descendant that left it, as a machine
    that loses power takes every process down at once."""
    pids = process_tree(root)
    with suppress(ProcessLookupError):
        os.killpg(root, sig)
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, sig)
