"""Running a repository's own commands (tests, linters, allowlisted tools) at arm's length.

The code being run is untrusted: written by a model, or by whoever filed the issue. So a
command is an argument list (never a shell string), its environment is rebuilt from a few
harmless variables (no tokens, no API keys; HOME is a directory the caller chooses), it runs in
its own process group that is killed whole on timeout, and its output goes to a file of which
only the tail is kept, so a command printing without end cannot exhaust memory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tamma.redaction import redact

__all__ = ["CommandResult", "run_confined", "scrubbed_env"]

SAFE_VARIABLES = ("PATH", "LANG", "LC_ALL", "TZ")


def scrubbed_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a confined command gets: PATH and locale, HOME=`home`, and `extra`.

    No bytecode is written: Python trusts a `.pyc` whose source has the same size and mtime
    second, so an edit of the same length made within a second of a test run (`a - b` to
    `a + b`) would run the old code, and the check after a correct fix would fail."""
    environment = {name: os.environ[name] for name in SAFE_VARIABLES if name in os.environ}
    return {
        **environment,
        "HOME": str(home),
        "TMPDIR": str(home),
        "PYTHONDONTWRITEBYTECODE": "1",
        **(extra or {}),
    }


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int | None
    """None when the command could not start or was killed at its timeout."""
    output: str
    """Standard output and error interleaved, redacted, the tail kept."""
    timed_out: bool = False

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def summary(self) -> str:
        """One line for logs and tool results: how the command ended."""
        if self.timed_out:
            return f"$ {' '.join(self.argv)}: timed out"
        if self.exit_code is None:
            return f"$ {' '.join(self.argv)}: could not start"
        return f"$ {' '.join(self.argv)}: exit code {self.exit_code}"


def run_confined(
    argv: Sequence[str], cwd: Path, *, home: Path, timeout_s: float, output_cap: int = 20_000
) -> CommandResult:
    """Run `argv` in `cwd` with a scrubbed environment; see the module docstring."""
    command = tuple(argv)
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as sink:
        try:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=scrubbed_env(home),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return CommandResult(command, None, f"cannot run {command[0]!r}: {exc.strerror}")
        try:
            exit_code: int | None = process.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            exit_code, timed_out = None, True
        output = _tail(sink, output_cap)
    if timed_out:
        output += f"\n[killed after {timeout_s:g} s]"
    return CommandResult(command, exit_code, redact(output), timed_out)


def _tail(sink: IO[bytes], limit: int) -> str:
    """The last `limit` bytes written to `sink`, decoded, marked when cut."""
    size = sink.seek(0, os.SEEK_END)
    sink.seek(max(0, size - limit))
    text = sink.read().decode("utf-8", "replace")
    return f"[... {size - limit} bytes cut ...]\n{text}" if size > limit else text
