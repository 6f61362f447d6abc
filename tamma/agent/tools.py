"""The tools the model may call, confined to its workspace.

Each tool's arguments are a pydantic model: the same class gives the JSON schema the model
sees and validates what it sends back. A call outside the policy (a path out of the
workspace, a write under `.git/`, a command not on the allowlist) is not an exception for the
loop: it comes back as a refused `ToolResult`, which the loop returns to the model as a tool
error and records. The policy comes from configuration only; nothing the model or the issue
says can widen it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tamma.agent._paths import Refused, confined_path, relative_name
from tamma.providers import ToolSpec
from tamma.sandbox import CommandResult, run_confined

__all__ = ["ToolPolicy", "ToolResult", "Toolbox"]

SKIPPED_DIRECTORIES = frozenset({".git", ".tamma", "node_modules", "__pycache__", ".venv", "target"})
MAX_SEARCH_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class ToolPolicy:
    """What the tools may do: from configuration, never from the model or the issue."""

    test_command: tuple[str, ...]
    allowed_commands: frozenset[str] = frozenset()
    command_timeout_s: float = 600.0
    output_cap: int = 20_000
    read_cap: int = 100_000
    max_search_matches: int = 200
    max_listing: int = 500


@dataclass(frozen=True)
class ToolResult:
    """What a call returned to the model, and what the loop records about it."""

    content: str
    is_error: bool = False
    refused: bool = False
    written: str | None = None
    """The workspace-relative path a write or edit changed."""
    tests: CommandResult | None = None
    finished: str | None = None
    """The summary `finish` was called with: the phase is over."""


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReadFile(_Arguments):
    path: str = Field(description="Path relative to the workspace root.")


class WriteFile(_Arguments):
    path: str = Field(description="Path relative to the workspace root; parent directories are created.")
    content: str = Field(description="The whole new content of the file.")


class EditFile(_Arguments):
    path: str = Field(description="Path relative to the workspace root.")
    old_text: str = Field(description="Exact text to replace; it must occur exactly once in the file.")
    new_text: str = Field(description="The replacement text.")


class ListDir(_Arguments):
    path: str = Field(default=".", description="Directory relative to the workspace root.")


class Search(_Arguments):
    pattern: str = Field(description="Text to find (a Python regular expression if regex is true).")
    path: str = Field(default=".", description="Directory or file to search, relative to the root.")
    regex: bool = False


class RunTests(_Arguments):
    pass


class RunCommand(_Arguments):
    argv: list[str] = Field(min_length=1, description="Program and arguments; no shell is involved.")


class Finish(_Arguments):
    summary: str = Field(description="What you did in this phase and why, for the pull request.")


@dataclass(frozen=True)
class _Tool:
    arguments: type[_Arguments]
    description: str
    run: Callable[[Any], ToolResult]


@dataclass
class Toolbox:
    """The tools over one workspace: `specs` for the request, `call` to run one."""

    root: Path
    policy: ToolPolicy
    home: Path
    """HOME for the commands the tools run (inside the workspace, excluded from git)."""
    _tools: dict[str, _Tool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self._tools = {
            "read_file": _Tool(ReadFile, "Read a text file of the workspace.", self._read_file),
            "write_file": _Tool(WriteFile, "Create or overwrite a file.", self._write_file),
            "edit_file": _Tool(
                EditFile, "Replace one exact occurrence of old_text in a file.", self._edit_file
            ),
            "list_dir": _Tool(ListDir, "List a directory (subdirectories end with /).", self._list_dir),
            "search": _Tool(Search, "Find lines matching a text or regex under a path.", self._search),
            "run_tests": _Tool(RunTests, "Run the repository's test suite.", self._run_tests),
            "run_command": _Tool(
                RunCommand,
                "Run an allowed program: " + (", ".join(sorted(self.policy.allowed_commands)) or "none"),
                self._run_command,
            ),
            "finish": _Tool(Finish, "End this phase with a summary of what you did.", self._finish),
        }

    @cached_property
    def specs(self) -> tuple[ToolSpec, ...]:
        """Built once: every model request sends them, and their schemas never change."""
        return tuple(
            ToolSpec(name=name, description=tool.description, input_schema=tool.arguments.model_json_schema())
            for name, tool in self._tools.items()
        )

    def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        tool = self._tools.get(name)
        if tool is None:
            return ToolResult(f"unknown tool {name!r}; the tools are {', '.join(self._tools)}", is_error=True)
        try:
            parsed = tool.arguments.model_validate(arguments)
        except ValidationError as invalid:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or name}: {e['msg']}" for e in invalid.errors()
            )
            return ToolResult(f"invalid arguments for {name}: {problems}", is_error=True)
        try:
            return tool.run(parsed)
        except Refused as refused:
            return ToolResult(f"refused: {refused}", is_error=True, refused=True)
        except (OSError, UnicodeDecodeError) as failed:
            return ToolResult(f"{name} failed: {failed}", is_error=True)

    def run_tests(self) -> CommandResult:
        """The test suite, as the tools run it; the test-first phases verify with it too."""
        return self.run(self.policy.test_command)

    def run(self, argv: tuple[str, ...] | list[str]) -> CommandResult:
        """Any command, confined like the tools' (the caller decides it is allowed)."""
        return run_confined(
            argv,
            self.root,
            home=self.home,
            timeout_s=self.policy.command_timeout_s,
            output_cap=self.policy.output_cap,
        )

    # -- the tools --------------------------------------------------------------------------------

    def _read_file(self, args: ReadFile) -> ToolResult:
        path = confined_path(self.root, args.path)
        if not path.is_file():
            return ToolResult(f"{args.path}: no such file", is_error=True)
        with path.open("rb") as handle:
            data = handle.read(self.policy.read_cap + 1)
        text = data[: self.policy.read_cap].decode("utf-8", "replace")
        return ToolResult(
            text + (f"\n[cut at {self.policy.read_cap} bytes]" if len(data) > self.policy.read_cap else "")
        )

    def _write_file(self, args: WriteFile) -> ToolResult:
        path = confined_path(self.root, args.path, for_writing=True)
        if path.is_dir():
            return ToolResult(f"{args.path} is a directory", is_error=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(args.content, encoding="utf-8")
        name = relative_name(self.root, path)
        return ToolResult(f"wrote {name} ({len(args.content.encode())} bytes)", written=name)

    def _edit_file(self, args: EditFile) -> ToolResult:
        path = confined_path(self.root, args.path, for_writing=True)
        if not path.is_file():
            return ToolResult(f"{args.path}: no such file", is_error=True)
        text = path.read_text(encoding="utf-8")
        found = text.count(args.old_text) if args.old_text else 0
        if found != 1:
            hint = (
                "not found; read the file and copy the text exactly"
                if found == 0
                else (f"found {found} times; include more surrounding lines to make it unique")
            )
            return ToolResult(f"edit_file {args.path}: old_text {hint}", is_error=True)
        path.write_text(text.replace(args.old_text, args.new_text, 1), encoding="utf-8")
        name = relative_name(self.root, path)
        return ToolResult(f"edited {name}", written=name)

    def _list_dir(self, args: ListDir) -> ToolResult:
        path = confined_path(self.root, args.path)
        if not path.is_dir():
            return ToolResult(f"{args.path}: no such directory", is_error=True)
        entries = sorted(
            f"{entry.name}/" if entry.is_dir() else entry.name
            for entry in path.iterdir()
            if entry.name not in SKIPPED_DIRECTORIES
        )
        shown = entries[: self.policy.max_listing]
        more = len(entries) - len(shown)
        return ToolResult("\n".join(shown) + (f"\n[{more} more entries]" if more else "") or "(empty)")

    def _search(self, args: Search) -> ToolResult:
        start = confined_path(self.root, args.path)
        try:
            matcher = re.compile(args.pattern if args.regex else re.escape(args.pattern))
        except re.error as invalid:
            return ToolResult(f"invalid regex {args.pattern!r}: {invalid}", is_error=True)
        matches: list[str] = []
        for file in self._files_under(start):
            for number, line in enumerate(_text_lines(file), start=1):
                if matcher.search(line):
                    matches.append(f"{relative_name(self.root, file)}:{number}: {line[:300]}")
                    if len(matches) >= self.policy.max_search_matches:
                        return ToolResult(
                            "\n".join(matches) + "\n[more matches not shown; narrow the search]"
                        )
        return ToolResult("\n".join(matches) or "no matches")

    def _files_under(self, start: Path) -> Iterator[Path]:
        """Files under `start` in a stable order, skipping tool directories and anything whose
        real path leaves the workspace (a symlink is followed only to see where it points)."""
        if start.is_file():
            yield start
            return
        for directory, subdirectories, files in os.walk(start):
            subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRECTORIES)
            for name in sorted(files):
                file = Path(directory, name)
                real = file.resolve()
                if (
                    self.root in real.parents
                    and real.is_file()
                    and real.stat().st_size <= MAX_SEARCH_FILE_BYTES
                ):
                    yield real

    def _run_tests(self, args: RunTests) -> ToolResult:
        result = self.run_tests()
        return ToolResult(f"{result.summary()}\n{result.output}", tests=result)

    def _run_command(self, args: RunCommand) -> ToolResult:
        program = args.argv[0]
        if program not in self.policy.allowed_commands:
            allowed = ", ".join(sorted(self.policy.allowed_commands)) or "none"
            raise Refused(f"{program!r} is not an allowed command (allowed: {allowed})")
        result = self.run(args.argv)
        return ToolResult(f"{result.summary()}\n{result.output}", is_error=result.exit_code is None)

    def _finish(self, args: Finish) -> ToolResult:
        return ToolResult("phase finished", finished=args.summary)


def _text_lines(file: Path) -> list[str]:
    """The lines of a text file; none for a binary one (a NUL in its first 8 KB)."""
    data = file.read_bytes()
    if b"\0" in data[:8192]:
        return []
    return data.decode("utf-8", "replace").splitlines()
