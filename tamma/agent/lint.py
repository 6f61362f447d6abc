"""Linting a change: only the problems it introduced count.

Files often carry lint problems from before the change (a rule enabled after the code was
written, an old import style). Holding the agent to fully clean files would make it fix code
the issue never touched, or stop the run. So the changed files are linted as they are and,
when that reports anything, again as they were at the workspace's base commit: a problem the
base run reports too is pre-existing; the rest are new, and only they fail the lint check or
reach the model. A file new in the change has no base, so all its problems are new.

Both runs see the same tree and configuration: for the base run, the base versions take the
changed files' places (nearest pyproject.toml or ruff.toml, per-file ignores and first-party
detection all depend on where a file sits), and each file of the head is moved aside within its
directory and moved back afterwards, so its bytes, mode, times and inode come back untouched.
The base versions are read with `git ls-tree` and `git cat-file`, which run no filter, hook or
driver whatever the repository's config says. A base that is not UTF-8 (all git gives us is
text) cannot be compared: its file counts as new.

A problem is matched by a fingerprint that survives its line moving: the file, the message
with its numbers masked, and the text of the line it points at. Output lines naming
`path:line[:column]:` are the problems (ruff is asked for that form, `--output-format
concise`; flake8, pylint and mypy print it); an output with no such line is compared line by
line, numbers masked.

A linter that cannot run at all (a program not found, `No module named ruff`) is a
configuration error, never a lint problem for the model: `check_linter_available` says so
before any model work, and a run that finds it gone mid-session raises the same `ConfigError`.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath

from tamma.agent._cannot_start import cannot_start_reason
from tamma.agent.tools import Toolbox
from tamma.errors import ConfigError
from tamma.git import git
from tamma.sandbox import CommandResult

__all__ = ["LintReport", "Problem", "check_linter_available", "lint_change"]

LINTED_SUFFIXES = (".py", ".pyi")
_LOCATED = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<row>\d+):(?:\d+:)?\s*(?P<message>.*)$")
_NUMBER = re.compile(r"\b\d+\b")
_REGULAR_FILE_MODES = frozenset({"100644", "100755"})


@dataclass(frozen=True)
class Problem:
    text: str
    """The line as the linter printed it: what the model is shown."""
    fingerprint: tuple[str, str, str]
    """The file, the message with numbers masked, the text of the line it points at: the same
    problem has the same fingerprint wherever the change moved its line."""


@dataclass(frozen=True)
class LintReport:
    head: CommandResult
    base: CommandResult | None
    """The run on the base versions; None when the head was clean or had nothing to compare."""
    new: tuple[Problem, ...] = ()
    pre_existing: int = 0

    @property
    def passed(self) -> bool:
        return not self.new

    @property
    def new_problems(self) -> str:
        """What the model is told to fix."""
        return "\n".join(problem.text for problem in self.new)


def check_linter_available(toolbox: Toolbox, command: Sequence[str]) -> None:
    """Raise `ConfigError` when `command` cannot run in the sandbox at all, before any model
    work is spent on a lint phase it could never pass. Probed with `--help`, which linters
    answer without linting anything."""
    _run(toolbox, command, [*command, "--help"])


def lint_change(
    toolbox: Toolbox, command: Sequence[str], changed: Sequence[str], *, base: str
) -> LintReport | None:
    """Lint the `changed` files (paths relative to the workspace) that the linter reads and that
    still exist, comparing with their versions at commit `base`; None when there is none."""
    root = toolbox.root
    files = [name for name in changed if name.endswith(LINTED_SUFFIXES) and _regular_file(root / name)]
    if not files:
        return None
    argv = _lint_argv(command)
    head = _run(toolbox, command, [*argv, *files])
    if head.passed:
        return LintReport(head, None)
    found = _problems(
        head.output, {name: (root / name).read_text("utf-8", "replace") for name in files}, root
    )
    originals = _base_texts(root, base, files)
    if not originals:
        return LintReport(head, None, tuple(found))
    with _swapped_in(root, originals):
        base_run = _run(toolbox, command, [*argv, *originals])
    new = _unmatched(found, _problems(base_run.output, originals, root))
    return LintReport(head, base_run, new, len(found) - len(new))


def _run(toolbox: Toolbox, command: Sequence[str], argv: Sequence[str]) -> CommandResult:
    result = toolbox.run(list(argv))
    reason = cannot_start_reason(command, result)
    if reason is not None:
        raise ConfigError(
            f"the lint command `{shlex.join(command)}` cannot run ({reason}): install the linter "
            "where the sandbox finds it, or set agent.lint_command in tamma.yaml to one that runs, "
            "or to [] to turn linting off"
        )
    return result


def _lint_argv(command: Sequence[str]) -> list[str]:
    """`command`, asked for one `path:line:column: message` line per problem when it is `ruff
    check` and sets no output format of its own (ruff refuses the option twice)."""
    names = [PurePath(part).name for part in command]
    ruff_check = "ruff" in names and "check" in names[names.index("ruff") :]
    own_format = any(part.split("=")[0] == "--output-format" for part in command)
    return [*command, "--output-format", "concise"] if ruff_check and not own_format else list(command)


def _regular_file(path: Path) -> bool:
    """Not a symlink: Tamma reads the file itself, and must not follow a link out of the workspace."""
    return path.is_file() and not path.is_symlink()


def _base_texts(root: Path, base: str, files: Sequence[str]) -> dict[str, str]:
    """The files that were regular files at `base`, with their text then."""
    listed = git("ls-tree", "-z", base, "--", *files, cwd=root).stdout
    texts: dict[str, str] = {}
    for entry in filter(None, listed.split("\0")):
        meta, name = entry.split("\t", 1)
        mode, _, blob = meta.split()
        if mode in _REGULAR_FILE_MODES:
            try:
                texts[name] = git("cat-file", "blob", blob, cwd=root).stdout
            except UnicodeDecodeError:
                continue
    return texts


@contextmanager
def _swapped_in(root: Path, texts: Mapping[str, str]) -> Iterator[None]:
    """The files named in `texts` hold those texts while the block runs; then the files of the
    head are back as they were (moved aside by a rename in their own directory, not copied)."""
    aside: dict[Path, str] = {}
    try:
        for name, text in texts.items():
            path = root / name
            handle, backup = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tamma-head")
            os.close(handle)
            os.replace(path, backup)
            aside[path] = backup
            path.write_text(text, encoding="utf-8")
        yield
    finally:
        for path, backup in aside.items():
            os.replace(backup, path)


def _problems(output: str, sources: Mapping[str, str], root: Path) -> list[Problem]:
    """The output's lines naming `path:line:`; when there are none, all its lines."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    source_lines = {name: text.splitlines() for name, text in sources.items()}
    located = [problem for line in lines if (problem := _located(line, source_lines, root))]
    return located or [Problem(line, ("", _masked(line.strip()), "")) for line in lines]


def _located(line: str, sources: Mapping[str, list[str]], root: Path) -> Problem | None:
    match = _LOCATED.match(line)
    if match is None:
        return None
    path = PurePath(match["path"])
    name = (path.relative_to(root) if path.is_relative_to(root) else path).as_posix()
    source, row = sources.get(name, []), int(match["row"])
    pointed_at = source[row - 1].strip() if 0 < row <= len(source) else ""
    return Problem(line, (name, _masked(match["message"]), pointed_at))


def _masked(text: str) -> str:
    """Numbers masked: a message that names a line or a count ("from line 3") stays the same
    problem when lines move."""
    return _NUMBER.sub("#", text)


def _unmatched(head: Sequence[Problem], base: Sequence[Problem]) -> tuple[Problem, ...]:
    """The head's problems beyond the base's, each base problem matching one head problem."""
    left = Counter(problem.fingerprint for problem in base)
    new: list[Problem] = []
    for problem in head:
        if left[problem.fingerprint]:
            left[problem.fingerprint] -= 1
        else:
            new.append(problem)
    return tuple(new)
