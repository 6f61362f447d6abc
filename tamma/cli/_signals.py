"""SIGINT, SIGTERM and SIGHUP stop a command in order: children first, then one line and 128 + N.

Python's default SIGTERM ends the process on the spot: no `finally`, no atexit hook, so the
Prefect server, worker or ephemeral API server a command started (Prefect stops the ephemeral
one in an atexit hook) would keep running. Here every stop signal raises `Interrupted` in the
main thread instead, the way Ctrl-C raises KeyboardInterrupt: context managers, Prefect's
crash handling and atexit hooks all run, and `tamma`'s entry point prints `Interrupted.line()`
and exits with `Interrupted.exit_code` (130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

__all__ = ["Interrupted", "resumable", "run_child", "stop_on_signals"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
CHILD_GRACE_S = 20.0  # a Prefect server finishes its requests and services in a few seconds


class Interrupted(BaseException):
    """A stop signal arrived. Not an `Exception`, so no `except Exception` handler swallows it;
    not a KeyboardInterrupt either, which click would turn into "Aborted!" and exit code 1."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)  # the args rebuild it, should Prefect pickle the crash
        self.signal = signal.Signals(signum)
        self.resume: str | None = None

    def __str__(self) -> str:
        return f"stopped by {self.signal.name}"

    @property
    def exit_code(self) -> int:
        return 128 + self.signal.value

    def line(self) -> str:
        """The one line a stopped command prints: what stopped it, and how to go on if it can."""
        said = f"tamma: {self}"
        return f"{said}; continue with: {self.resume}" if self.resume else said


def stop_on_signals() -> None:
    """From now on the stop signals raise `Interrupted` in the main thread."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise Interrupted(signum)


@contextmanager
def resumable(command: str) -> Iterator[None]:
    """An interruption inside names `command` as the way to continue; an outer `resumable`
    (whose caller knows more, such as the demo's TAMMA_HOME) has the last word."""
    try:
        yield
    except Interrupted as stop:
        stop.resume = command
        raise


def run_child(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Run `argv` in the foreground until it exits; its exit code.

    The child gets a process group of its own, so a Ctrl-C at the terminal reaches it once,
    passed on by us (Prefect's worker kills itself on a second SIGINT). When we are stopped,
    it gets SIGINT for SIGINT and SIGTERM otherwise, CHILD_GRACE_S to finish, then SIGKILL.
    It reads no stdin: in a background process group that would stop it (SIGTTIN).
    """
    child = subprocess.Popen(list(argv), env=dict(env), stdin=subprocess.DEVNULL, process_group=0)
    try:
        return child.wait()
    except Interrupted as stop:
        _stop(child, signal.SIGINT if stop.signal == signal.SIGINT else signal.SIGTERM)
        raise


def _stop(child: subprocess.Popen[bytes], signum: int) -> None:
    """Ask, then insist: a second stop signal while it finishes kills it at once."""
    child.send_signal(signum)
    try:
        child.wait(CHILD_GRACE_S)
    except (subprocess.TimeoutExpired, Interrupted):
        child.kill()
        child.wait()
