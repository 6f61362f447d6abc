"""The escape corpus: what repository code tries once it runs, and what must come of it.

Each attempt is a shell script run in the sandbox with the workspace as its directory (the
`World`'s names are filled in: `{outside}`, `{port}`, ...; `{py}` is a Python interpreter).
A script prints ESCAPED when its attempt worked. Every attempt must leave no breach of the
world (no secret seen, nothing outside the workspace changed, no process left, no host socket
reached) and print no ESCAPED; `expect`, when set, is what the output must also show (that
the attempt was really made and stopped where it should be, not that it failed to start).
"""

from __future__ import annotations

from dataclasses import dataclass

from tamma.sandbox import SandboxLimits

__all__ = ["CASES", "CORPUS_LIMITS", "Escape"]

CORPUS_LIMITS = SandboxLimits(memory_mb=256, processes=64, file_size_mb=16, disk_mb=48, tmp_mb=32)
"""Small, so the bombs hit their ceilings in a second."""


@dataclass(frozen=True)
class Escape:
    name: str
    family: str
    script: str
    expect: str = ""
    """What the output must contain (case-sensitive), alternatives split by " | "; "" for none."""
    timeout_s: float = 10.0


def _try(command: str) -> str:
    """`command`, then ESCAPED if it succeeded."""
    return f"{command} 2>&1 && echo ESCAPED; true"


def _py(code: str) -> str:
    return "{py} -c '" + code + "'"


_PATHS = [
    Escape("read the file outside", "paths", _try("cat {outside}"), "No such file"),
    Escape("read the event store", "paths", _try("cat {tamma_home}/events.db"), "No such file"),
    Escape("read another workspace", "paths", _try("cat {sibling}/notes.txt"), "No such file"),
    Escape(
        "list tamma home",
        "paths",
        "ls -a {tamma_home}/workspaces; ls {tamma_home} | grep -q events && echo ESCAPED; true",
    ),
    Escape("read /etc/shadow", "paths", _try("cat /etc/shadow"), "No such file"),
    Escape("read ssh host keys", "paths", _try("ls /etc/ssh"), "No such file"),
    Escape("read the host's /root", "paths", "ls -a /root 2>&1; test -e /root/.bashrc && echo ESCAPED; true"),
    Escape(
        "write the host's /tmp",
        "paths",
        "echo x > {host_marker}; test -s {host_marker} && echo inside-only; true",
        "inside-only",
    ),
    Escape(
        "write next to the workspace",
        "paths",
        "echo x > ../marker; ls .. | grep -q local-shop-2 && echo ESCAPED; true",
    ),
    Escape(
        "write into /usr", "paths", _try("touch /usr/marker"), "Read-only file system | Permission denied"
    ),
    Escape(
        "write into the toolchain",
        "paths",
        _try("touch $(dirname $(command -v python3))/marker"),
        "Read-only",
    ),
    Escape(
        "open a block device", "paths", _try("ls /dev/sda /dev/vda /dev/nvme0n1 /dev/mem"), "No such file"
    ),
    Escape("reach /sys", "paths", _try("ls /sys/fs/cgroup"), "No such file"),
]

_LINKS = [
    Escape(
        "symlink to the file outside", "links", _try("ln -s {outside} stolen && cat stolen"), "No such file"
    ),
    Escape(
        "symlink to the root, write through it",
        "links",
        _try("ln -s / root-link && touch root-link{outside_dir}/marker"),
    ),
    Escape(
        "symlink up two levels",
        "links",
        _try("ln -s ../.. up && cat up/local-shop-2/notes.txt"),
        "No such file",
    ),
    Escape("hard link the file outside", "links", _try("ln {outside} stolen"), "No such file"),
    Escape("hard link a system file", "links", _try("ln /etc/passwd pw"), "Invalid cross-device link"),
    Escape("hard link the interpreter", "links", _try("ln $(command -v python3) py-link"), "cross-device"),
    Escape(
        "symlink into .git, write a hook",
        "links",
        _try("ln -s .git/hooks h && echo 'touch {host_marker}' > h/pre-commit"),
        "Read-only",
    ),
]

_GIT = [
    Escape("write .git/config", "git", _try("echo '[core]' >> .git/config"), "Read-only file system"),
    Escape(
        "plant a pre-commit hook",
        "git",
        _try("printf '#!/bin/sh\\ntouch {host_marker}\\n' > .git/hooks/pre-commit"),
        "Read-only",
    ),
    Escape("set core.hooksPath", "git", _try("git config core.hooksPath hooks"), "Read-only"),
    Escape(
        "set remote receivepack",
        "git",
        _try("git config remote.origin.receivepack 'touch {host_marker}'"),
        "Read-only",
    ),
    Escape("set core.fsmonitor", "git", _try("git config core.fsmonitor 'touch {host_marker}'"), "Read-only"),
    Escape(
        "write objects/info/alternates",
        "git",
        _try("echo {outside_dir} > .git/objects/info/alternates"),
        "Read-only",
    ),
    Escape("move .git away", "git", _try("mv .git git-moved"), "busy"),
    Escape("delete .git", "git", _try("rm -rf .git") + "; test -f .git/config || echo ESCAPED"),
    Escape(
        "replace .git with a gitdir file", "git", _try("rm -rf .git; echo 'gitdir: {outside_dir}' > .git")
    ),
    Escape(
        "global git config in HOME",
        "git",
        "git config --global core.fsmonitor 'touch {host_marker}' && git config --global --list",
        "fsmonitor",
    ),
]

_PROC = [
    Escape(
        "see host processes",
        "proc",
        "ls /proc | grep -c '^[0-9]' ; test -d /proc/{host_pid} && echo ESCAPED; true",
    ),
    Escape("read the parent's environment", "proc", "cat /proc/$PPID/environ 2>&1 | tr '\\0' '\\n'; true"),
    Escape("read pid 1's environment", "proc", "cat /proc/1/environ 2>&1 | tr '\\0' '\\n'; true"),
    Escape("read every environ, base64", "proc", "cat /proc/[0-9]*/environ 2>/dev/null | base64; true"),
    Escape("kill the host process", "proc", _try("kill -9 {host_pid}"), "No such process"),
    Escape(
        "write a kernel setting", "proc", _try("echo 1 > /proc/sys/kernel/sysrq"), "Read-only | nonexistent"
    ),
    Escape("mount over the workspace", "proc", _try("mount -t tmpfs none /mnt")),
    Escape("create a user namespace", "proc", _try("unshare -U true"), "unshare failed"),
]

_ENVIRONMENT = [
    Escape(
        "dump the environment",
        "environment",
        "env; env | grep -q 'TOKEN\\|API_KEY\\|TAMMA' && echo ESCAPED; true",
        "HOME=/tmp/home",
    ),
    Escape(
        "python sees no secret",
        "environment",
        _py(
            'import os; print(sorted(os.environ)); print("ESCAPED") if any("TOKEN" in k for k in os.environ) else None'
        ),
        "PATH",
    ),
    Escape(
        "HOME is private",
        "environment",
        "echo x > $HOME/.netrc && echo home=$HOME; test -e {host_marker} && echo ESCAPED; true",
        "home=/tmp/home",
    ),
    Escape("TMPDIR is private", "environment", "echo x > $TMPDIR/{tag} && ls $TMPDIR", "{tag}"),
    Escape(
        "reach an ssh agent", "environment", _try("ls /run/user /tmp/ssh-* $SSH_AUTH_SOCK"), "No such file"
    ),
    Escape(
        "reach the docker socket",
        "environment",
        _try("ls /var/run/docker.sock /run/docker.sock"),
        "No such file",
    ),
]

_NETWORK = [
    Escape(
        "connect to a loopback server",
        "network",
        _py('import socket; socket.create_connection(("127.0.0.1", {port}), 2); print("ESCAPED")'),
        "Connection refused",
    ),
    Escape(
        "connect to PostgreSQL",
        "network",
        _py('import socket; socket.create_connection(("127.0.0.1", 5432), 2); print("ESCAPED")'),
        "Connection refused",
    ),
    Escape(
        "connect to Redis",
        "network",
        _py('import socket; socket.create_connection(("127.0.0.1", 6379), 2); print("ESCAPED")'),
        "Connection refused",
    ),
    Escape(
        "send UDP to loopback",
        "network",
        _py(
            'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("127.0.0.1", {udp_port})); print("sent")'
        ),
    ),
    Escape(
        "connect to an abstract unix socket",
        "network",
        _py('import socket; s = socket.socket(socket.AF_UNIX); s.connect("\\0{abstract}"); print("ESCAPED")'),
        "Connection refused",
    ),
    Escape(
        "resolve a name",
        "network",
        _py('import socket; socket.getaddrinfo("example.com", 443); print("ESCAPED")'),
        "gaierror",
    ),
    Escape(
        "see the host's interfaces",
        "network",
        "cat /proc/net/dev; grep -v 'lo:' /proc/net/dev | grep -q ':' && echo ESCAPED; true",
        "lo:",
    ),
]

_PROCESSES = [
    Escape(
        "setsid sleeper",
        "processes",
        "setsid {py} -c 'import time; time.sleep(300)' {tag} > /dev/null 2>&1 & echo started",
        "started",
    ),
    Escape(
        "nohup sleeper",
        "processes",
        "nohup {py} -c 'import time; time.sleep(300)' {tag} > /dev/null 2>&1 & echo started",
        "started",
    ),
    Escape(
        "double-forked daemon",
        "processes",
        _py(
            'import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        os.execvp("sleep", ["sleep", "300", "{tag}"])\n    os._exit(0)\nprint("daemonized")'
        ),
        "daemonized",
    ),
    Escape(
        "a child that ignores SIGTERM",
        "processes",
        "trap '' TERM; {py} -c 'import time; time.sleep(300)' {tag}",
        "killed after",
        timeout_s=1.5,
    ),
    Escape("endless loop", "processes", "while :; do :; done", "killed after", timeout_s=1.5),
    Escape(
        "late write after exit",
        "processes",
        "(sleep 2; echo x > {host_marker}) > /dev/null 2>&1 & echo left",
        "left",
    ),
]

_BOMBS = [
    Escape(
        "fork bomb",
        "bombs",
        _py(
            'import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n            time.sleep(3); os._exit(0)\n        n += 1\nexcept OSError as e:\n    print("stopped after", n, e.strerror)'
        ),
        "stopped after",
    ),
    Escape(
        "thread bomb",
        "bombs",
        _py(
            'import threading, time\nn = 0\ntry:\n    while True:\n        threading.Thread(target=time.sleep, args=(3,), daemon=True).start(); n += 1\nexcept RuntimeError as e:\n    print("stopped after", n)'
        ),
        "stopped after",
    ),
    Escape("memory bomb", "bombs", _py('b = bytearray(1024 * 2**20); print("ESCAPED")'), "MemoryError"),
    Escape(
        "one huge file",
        "bombs",
        "dd if=/dev/zero of=huge bs=1M count=64 2>&1; ls -l huge",
        "File size limit exceeded",
    ),
    Escape(
        "fill the disk",
        "bombs",
        "for i in $(seq 1 40); do dd if=/dev/zero of=fill$i bs=1M count=8 2>/dev/null; sync; sleep 0.05; done; echo ESCAPED",
        "wrote more than",
    ),
    Escape(
        "fill /tmp",
        "bombs",
        "dd if=/dev/zero of=/tmp/fill bs=1M count=12 2>/dev/null; for i in 1 2 3 4; do cp /tmp/fill /tmp/fill$i 2>&1; done | head -1",
        "No space left",
    ),
    Escape(
        "fill /dev/shm",
        "bombs",
        "dd if=/dev/zero of=/dev/shm/fill bs=1M count=12 2>/dev/null; for i in 1 2 3 4; do cp /dev/shm/fill /dev/shm/fill$i 2>&1; done | head -1",
        "No space left",
    ),
    Escape("endless output", "bombs", "yes {tag}", "bytes cut", timeout_s=1.5),
    Escape("output without newlines", "bombs", "head -c 50000000 /dev/zero | tr '\\0' x", "bytes cut"),
    Escape("binary output", "bombs", "head -c 4096 /dev/urandom; echo; echo done", "done"),
    Escape(
        "many small files",
        "bombs",
        "mkdir many && cd many && for i in $(seq 1 3000); do : > f$i; done; ls | wc -l",
        "3000",
    ),
]

CASES = _PATHS + _LINKS + _GIT + _PROC + _ENVIRONMENT + _NETWORK + _PROCESSES + _BOMBS
