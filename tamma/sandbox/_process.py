"""Running one prepared command under watch: its output kept as a tail, its time and disk bounded.

The output goes through a pipe into memory, never to a file: a command printing without end
costs `2 * cap` bytes, not the disk. While it runs, the watch polls the clock and the free
space of the workspace's file system (`statvfs`, one system call): a command that fills the
disk is stopped when it has written `disk_bytes` more than it found, whichever files it wrote.
Stopping kills the command's process group; under bubblewrap that is the sandbox's outer
process, whose death takes the sandbox's PID namespace, so every process inside, daemons
and `setsid` escapees included, dies with it.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Finished", "run_watched"]

POLL_S = 0.05
"""How often the watch looks at the clock and the disk while the command runs."""
_MAX_POLL_S = 0.5
_DRAIN_GRACE_S = 1.0
"""How long output may still arrive after the command ended (a daemon holding the pipe)."""


@dataclass(frozen=True)
class Finished:
    exit_code: int | None
    output: str
    stopped_by: str | None = None
    """"time" or "disk" when the watch ended the command."""


class _Tail:
    """The last `cap` bytes of a stream, and how many came before them."""

    def __init__(self, cap: int) -> None:
        self.cap, self.total = cap, 0
        self._kept = bytearray()

    def drain(self, stream: io.BufferedReader) -> None:
        while chunk := stream.read1(65536):
            self.total += len(chunk)
            self._kept += chunk
            if len(self._kept) > 2 * self.cap:
                del self._kept[: len(self._kept) - self.cap]

    def text(self) -> str:
        """The tail as text: undecodable bytes and NULs (which no event store or log keeps)
        become U+FFFD."""
        kept = bytes(self._kept[-self.cap :]) if self.cap else b""
        text = kept.decode("utf-8", "replace").replace("\0", "\ufffd")
        cut = self.total - len(kept)
        return f"[... {cut} bytes cut ...]\n{text}" if cut > 0 else text


def run_watched(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    output_cap: int,
    disk_bytes: int,
) -> Finished:
    """Run `argv` in its own session; see the module docstring for the watch."""
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return Finished(None, f"cannot run {argv[0]!r}: {exc.strerror}")
    assert process.stdout is not None
    tail = _Tail(output_cap)
    reader = threading.Thread(target=tail.drain, args=(process.stdout,), daemon=True)
    reader.start()
    try:
        stopped_by = _watch(process, cwd, timeout_s, disk_bytes)
    except BaseException:  # Tamma is stopping (a signal): the command, in its own session, goes too
        _kill(process)
        raise
    if stopped_by is not None:
        _kill(process)
    exit_code = process.wait()
    reader.join(_DRAIN_GRACE_S)
    if reader.is_alive():  # something left behind still holds the pipe: it goes too
        _kill(process)
        reader.join(_DRAIN_GRACE_S)
    process.stdout.close()
    output = tail.text()
    if stopped_by == "time":
        output += f"\n[killed after {timeout_s:g} s]"
    elif stopped_by == "disk":
        output += f"\n[killed: wrote more than {disk_bytes // 2**20} MB to disk]"
    return Finished(None if stopped_by else exit_code, output, stopped_by)


def _watch(process: subprocess.Popen[bytes], cwd: Path, timeout_s: float, disk_bytes: int) -> str | None:
    """Wait for the command; the limit it crossed first, or None when it ended on its own."""
    deadline = time.monotonic() + timeout_s
    baseline = _used_bytes(cwd)
    pause = POLL_S
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "time"
        try:
            process.wait(min(pause, left))
            return None
        except subprocess.TimeoutExpired:
            pass
        if _used_bytes(cwd) - baseline > disk_bytes:
            return "disk"
        pause = min(pause * 2, _MAX_POLL_S)  # short commands end fast; long ones poll less


def _used_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
