"""The tools the model may call, confined to its workspace.

Each tool's arguments are a pydantic model: the same class gives the JSON schema the model
sees and validates what it sends back. A call outside the policy (a path out of the
workspace, a write under `.git/`, a command not on the allowlist) is not an exception for the
loop: it comes back as a refused `ToolResult`, which the loop returns to the model as a tool
error and records. The policy comes from configuration only; nothing the model or the issue
says can widen it.

Nothing the model sends or the repository holds may crash a tool: symlink loops, hard links,
binary or huge files, names and texts that are not Unicode and runaway regexes all end as a
tool error the model can read. Writes go through a temporary file and a rename, so a hard
link is replaced rather than written through and a failed write leaves the old file whole.
"""

from __future__ import annotations

import os
import secrets
import shlex
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import regex
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tamma.agent._argv import check_argv
from tamma.agent._cannot_start import cannot_start_reason
from tamma.agent._paths import Refused, confined_path, first_lone_surrogate, relative_name
from tamma.agent.prompts import untrusted
from tamma.errors import ConfigError
from tamma.providers import ToolSpec
from tamma.sandbox import CommandResult, Sandbox

__all__ = ["ToolPolicy", "ToolResult", "Toolbox"]

SKIPPED_DIRECTORIES = frozenset({".git", ".tamma", "node_modules", "__pycache__", ".venv", "target"})
MAX_SEARCH_FILE_BYTES = 1_000_000
BINARY_SNIFF_BYTES = 8192
"""A NUL byte in a file's first 8 KB makes it binary, as git decides it."""


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
    search_time_budget_s: float = 2.0


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
    sandbox: Sandbox = field(default_factory=Sandbox)
    """Where the commands the tools run execute (the test suite, allowed programs)."""
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
        """The test suite, as the tools run it; the test-first phases verify with it too. A test
        runner that cannot start is a `ConfigError`: no failing test for the model to chase."""
        command = self.policy.test_command
        result = self.run(command)
        reason = cannot_start_reason(command, result)
        if reason is not None:
            raise ConfigError(
                f"the test command `{shlex.join(command)}` cannot run ({reason}): install the test "
                "runner where the sandbox finds it, or set agent.test_command in tamma.yaml to one that runs"
            )
        return result

    def run(self, argv: tuple[str, ...] | list[str]) -> CommandResult:
        """Any command, in the sandbox over this workspace (the caller decides it is allowed)."""
        return self.sandbox.run(
            argv,
            workspace=self.root,
            timeout_s=self.policy.command_timeout_s,
            output_cap=self.policy.output_cap,
        )

    # -- the tools --------------------------------------------------------------------------------

    def _read_file(self, args: ReadFile) -> ToolResult:
        path = confined_path(self.root, args.path)
        if not path.is_file():
            return ToolResult(f"{args.path}: no such file", is_error=True)
        data, size = _read_unshared(path, args.path, self.policy.read_cap + 1)
        if _is_binary(data):
            return ToolResult(f"{args.path}: binary file ({size} bytes), not shown", is_error=True)
        text = _decoded(data[: self.policy.read_cap])
        return ToolResult(
            text + (f"\n[cut at {self.policy.read_cap} bytes]" if len(data) > self.policy.read_cap else "")
        )

    def _write_file(self, args: WriteFile) -> ToolResult:
        path = confined_path(self.root, args.path, for_writing=True)
        if (offset := first_lone_surrogate(args.content)) is not None:
            return _not_unicode("content", offset)
        if path.is_dir():
            return ToolResult(f"{args.path} is a directory", is_error=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            return ToolResult(f"{args.path}: a parent of it is a file, not a directory", is_error=True)
        data = args.content.encode()
        _replace_file(path, data)
        name = relative_name(self.root, path)
        return ToolResult(f"wrote {_as_text(name)} ({len(data)} bytes)", written=name)

    def _edit_file(self, args: EditFile) -> ToolResult:
        path = confined_path(self.root, args.path, for_writing=True)
        if (offset := first_lone_surrogate(args.new_text)) is not None:
            return _not_unicode("new_text", offset)
        if not path.is_file():
            return ToolResult(f"{args.path}: no such file", is_error=True)
        data, _ = _read_unshared(path, args.path, self.policy.read_cap + 1)
        if len(data) > self.policy.read_cap:
            raise Refused(
                f"{args.path!r} is larger than read_cap ({self.policy.read_cap} bytes): an edit would "
                "rewrite what you cannot read; use write_file with the whole content"
            )
        if _is_binary(data):
            raise Refused(f"{args.path!r} is a binary file; only text files can be edited")
        text = data.decode("utf-8")
        found = text.count(args.old_text) if args.old_text else 0
        if found != 1:
            hint = (
                "not found; read the file and copy the text exactly"
                if found == 0
                else (f"found {found} times; include more surrounding lines to make it unique")
            )
            return ToolResult(f"edit_file {args.path}: old_text {hint}", is_error=True)
        _replace_file(path, text.replace(args.old_text, args.new_text, 1).encode())
        name = relative_name(self.root, path)
        return ToolResult(f"edited {_as_text(name)}", written=name)

    def _list_dir(self, args: ListDir) -> ToolResult:
        path = confined_path(self.root, args.path)
        if not path.is_dir():
            return ToolResult(f"{args.path}: no such directory", is_error=True)
        entries = sorted(
            _as_text(f"{entry.name}/" if entry.is_dir() else entry.name)
            for entry in path.iterdir()
            if entry.name not in SKIPPED_DIRECTORIES
        )
        shown = entries[: self.policy.max_listing]
        more = len(entries) - len(shown)
        return ToolResult("\n".join(shown) + (f"\n[{more} more entries]" if more else "") or "(empty)")

    def _search(self, args: Search) -> ToolResult:
        start = confined_path(self.root, args.path)
        if "\0" in args.pattern:
            return ToolResult("the pattern contains a NUL byte; binary files are not searched", is_error=True)
        if (offset := first_lone_surrogate(args.pattern)) is not None:
            return _not_unicode("pattern", offset)
        try:
            matcher = regex.compile(args.pattern if args.regex else regex.escape(args.pattern))
        except regex.error as invalid:
            return ToolResult(f"invalid regex {args.pattern!r}: {invalid}", is_error=True)
        matches: list[str] = []
        try:
            for match in self._matches(start, matcher, time.monotonic() + self.policy.search_time_budget_s):
                matches.append(match)
                if len(matches) >= self.policy.max_search_matches:
                    return ToolResult("\n".join(matches) + "\n[more matches not shown; narrow the search]")
        except TimeoutError:
            stopped = (
                f"[search stopped after {self.policy.search_time_budget_s:g} s; "
                "narrow the path or simplify the pattern]"
            )
            return ToolResult("\n".join([*matches, stopped]), is_error=not matches)
        return ToolResult("\n".join(matches) or "no matches")

    def _matches(self, start: Path, matcher: regex.Pattern[str], deadline: float) -> Iterator[str]:
        """The matching lines under `start`, as `path:line: text`; `TimeoutError` once the
        deadline passes, checked per file (a tree of binary files takes time too) and bounding
        each match, since a backtracking pattern can take exponential time on one line."""
        for file in self._files_under(start):
            _time_left(deadline)
            for number, line in enumerate(_text_lines(file), start=1):
                if matcher.search(line, timeout=_time_left(deadline)):
                    yield f"{_as_text(relative_name(self.root, file))}:{number}: {line[:300]}"

    def _files_under(self, start: Path) -> Iterator[Path]:
        """Searchable files under `start` in a stable order, skipping tool directories and
        anything whose real path leaves the workspace (a symlink is followed only to see where
        it points, and symlinked directories are not walked, so a loop is not either)."""
        for file in iter([start]) if start.is_file() else self._walk(start):
            real = Path(os.path.realpath(file))
            if self.root in real.parents and _searchable(real):
                yield real

    @staticmethod
    def _walk(start: Path) -> Iterator[Path]:
        for directory, subdirectories, files in os.walk(start):
            subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRECTORIES)
            yield from (Path(directory, name) for name in sorted(files))

    def _run_tests(self, args: RunTests) -> ToolResult:
        result = self.run_tests()
        return ToolResult(_command_report(result, "test-output"), tests=result)

    def _run_command(self, args: RunCommand) -> ToolResult:
        check_argv(args.argv, allowed=self.policy.allowed_commands, root=self.root)
        result = self.run(args.argv)
        return ToolResult(_command_report(result, "command-output"), is_error=result.exit_code is None)

    def _finish(self, args: Finish) -> ToolResult:
        return ToolResult("phase finished", finished=args.summary)


def _text_lines(file: Path) -> list[str]:
    """The lines of a text file; none for a binary one."""
    data = file.read_bytes()
    return [] if _is_binary(data) else _decoded(data).splitlines()


def _decoded(data: bytes) -> str:
    """A text file's bytes as text the model can be sent and the event store keeps unchanged:
    bytes that are not UTF-8 become U+FFFD and a NUL past the sniffed start (see `_is_binary`)
    becomes U+2400 "␀", as the store would write it. So the model sees what is recorded, and a
    replay, reading the same file, asks the same."""
    return data.decode("utf-8", "replace").replace("\0", "\u2400")


def _time_left(deadline: float) -> float:
    """Seconds until `deadline`, or `TimeoutError` once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _is_binary(data: bytes) -> bool:
    return b"\0" in data[:BINARY_SNIFF_BYTES]


def _searchable(file: Path) -> bool:
    """A regular file small enough to read whole, with one link (see `_read_unshared`)."""
    try:
        status = file.stat()
    except OSError:  # a symlink loop, or gone since the walk listed it
        return False
    return stat.S_ISREG(status.st_mode) and status.st_nlink == 1 and status.st_size <= MAX_SEARCH_FILE_BYTES


def _read_unshared(path: Path, given: str, limit: int) -> tuple[bytes, int]:
    """The first `limit` bytes of a file and its size, or `Refused` for a file with other hard
    links: git never makes one in a working tree, and its other name may be a file outside the
    workspace, which confinement by path cannot see."""
    with path.open("rb") as handle:
        status = os.fstat(handle.fileno())
        if status.st_nlink > 1:
            raise Refused(
                f"{given!r} is a hard link with {status.st_nlink - 1} other name(s), maybe outside "
                "the workspace; it is not read"
            )
        return handle.read(limit), status.st_size


def _replace_file(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it onto `path`.

    The rename replaces the directory entry, so a hard link is broken rather than written
    through (to a file that may be outside the workspace), and a failed write leaves the old
    file whole. An existing file keeps its mode; a new one gets 0o666 less the umask."""
    try:
        mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    temporary = path.with_name(f".tamma-{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _not_unicode(field: str, offset: int) -> ToolResult:
    return ToolResult(f"{field} is not valid Unicode text: lone surrogate at offset {offset}", is_error=True)


def _as_text(name: str) -> str:
    """A file name as text the model can be sent: bytes that are not UTF-8 (git allows them in
    names) shown as \\xNN escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _command_report(result: CommandResult, source: str) -> str:
    """Tamma's summary of a run, then what the repository's code printed, as untrusted data."""
    return f"{result.summary()}\n{untrusted(source, {'output': result.output})}"
