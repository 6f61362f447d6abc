"""How a sandboxed command ended: its exit code, its output's tail, and any limit that stopped it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CommandResult"]


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int | None
    """None when the command could not start or was stopped by a limit."""
    output: str
    """Standard output and error interleaved, redacted, the tail kept."""
    stopped_by: str | None = None
    """The limit that ended the command early ("time", "disk"), if one did."""

    @property
    def timed_out(self) -> bool:
        return self.stopped_by == "time"

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def summary(self) -> str:
        """One line for logs and tool results: how the command ended."""
        command = " ".join(self.argv)
        if self.timed_out:
            return f"$ {command}: timed out"
        if self.stopped_by is not None:
            return f"$ {command}: stopped (too much {self.stopped_by})"
        if self.exit_code is None:
            return f"$ {command}: could not start"
        return f"$ {command}: exit code {self.exit_code}"
