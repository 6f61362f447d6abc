"""The commands README.md and docs/*.md show work as shown.

Two checks. Every `tamma ...` written as code (in a fenced block, or an inline span that starts
with it) names a command, subcommand and options the CLI has, read from the typer app at test
time: a renamed command or option cannot leave the docs behind. And every fenced block marked
runnable (`<!-- runnable -->` on the line before its fence; docs/README.md states the
convention) runs as a reader would type it, offline: each command line in its own `bash -c`
with the venv's bin first on PATH, each document in a fresh HOME, TAMMA_HOME and working
directory that its blocks share, so a block can use what an earlier one made (`tamma demo
--tour`, then `tamma events` on its store).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.core import TyperCommand, TyperGroup, TyperOption

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
RUNNABLE = "<!-- runnable -->"
FENCE = re.compile(r"\s*(```|~~~)")
PROMPT = "$ "
EXPECTED_EXIT = re.compile(r"\s#\s*exit (\d+)\b")
ELISION = re.escape("...")
INLINE_CODE = re.compile(r"`([^`\n]+(?:\n(?!\s*\n)[^`\n]+)*)`")
"""An inline code span, which may wrap onto the next line of its paragraph."""
TAMMA = re.compile(r"(?<![\w./:$-])tamma(?=[ \t]+\S)")
"""`tamma` as a command word: not part of a path, a URL, a package name or `tamma:`."""
COMMAND_POSITION = re.compile(r"(?:^|[$`(|;&:/#'\"]|\b[A-Z_]+=\S*)\s*$")
"""What may come before a command: nothing, a prompt, a quote, a separator, a `NAME=value`
(not a word: `keyring set tamma github` names no command)."""
INVOCATION_END = re.compile(r"\s#|[|;&<>`)]|\s/\s")
"""Where a command's own words end: a shell comment, a pipe or redirection, `a / b`."""
COMMAND_WORD = re.compile(r"[a-z][a-z0-9-]*")
OPTION = re.compile(r"--?[A-Za-z][\w-]*")
COMMAND_TIMEOUT_S = 120


@dataclass(frozen=True)
class Block:
    """A fenced code block: its document, the line number of its first line, its lines."""

    doc: Path
    first_line: int
    lines: tuple[str, ...]
    runnable: bool


@dataclass(frozen=True)
class Command:
    """A command of a runnable block: where it is, the exit code it must end with, and the lines
    shown as its output, each of which must be in what it prints."""

    where: str
    text: str
    exit_code: int
    shown: tuple[str, ...]


def _where(doc: Path, line: int) -> str:
    return f"{doc.relative_to(ROOT)}:{line}"


def fenced_blocks(doc: Path) -> list[Block]:
    """The document's fenced blocks, each runnable when the marker is the line before it."""
    blocks: list[Block] = []
    lines = doc.read_text().splitlines()
    opened: tuple[int, str] | None = None
    for number, line in enumerate(lines, start=1):
        fence = FENCE.match(line)
        if fence is None:
            continue
        if opened is None:
            opened = (number, fence.group(1))
        elif fence.group(1) == opened[1]:
            start = opened[0]
            runnable = start > 1 and lines[start - 2].strip() == RUNNABLE
            blocks.append(Block(doc, start + 1, tuple(lines[start : number - 1]), runnable))
            opened = None
    return blocks


def commands(block: Block) -> Iterator[Command]:
    """The block's commands. With `$ ` prompts, the prompted lines, each followed by lines of
    its output (`...` elides any text); without, every line but blank lines and comments. A
    trailing `# exit N` comment says the command exits with N; otherwise it must exit with 0."""
    prompted = any(line.startswith(PROMPT) for line in block.lines)
    starts = [
        offset
        for offset, line in enumerate(block.lines)
        if (line.startswith(PROMPT) if prompted else line.strip() and not line.lstrip().startswith("#"))
    ]
    for start, end in zip(starts, [*starts[1:], len(block.lines)], strict=True):
        text = block.lines[start].removeprefix(PROMPT) if prompted else block.lines[start]
        expected = EXPECTED_EXIT.search(text)
        shown = tuple(line.strip() for line in block.lines[start + 1 : end] if prompted and line.strip())
        where = _where(block.doc, block.first_line + start)
        yield Command(where, text, int(expected.group(1)) if expected else 0, shown)


def missing_output(shown: tuple[str, ...], output: str) -> list[str]:
    """The shown lines that no line of the output matches, `...` standing for any text."""
    printed = [line.strip() for line in output.splitlines()]
    patterns = {line: re.compile(re.escape(line).replace(ELISION, ".*")) for line in shown}
    return [line for line, pattern in patterns.items() if not any(pattern.search(p) for p in printed)]


def invocations(doc: Path) -> Iterator[tuple[str, list[str]]]:
    """(where, the words after `tamma`) of each `tamma ...` in the document's code."""
    prose = doc.read_text().splitlines()
    for block in fenced_blocks(doc):
        for offset, line in enumerate(block.lines):
            for words in _commands_in(line):
                yield _where(doc, block.first_line + offset), words
            prose[block.first_line + offset - 1] = ""
    text = "\n".join(prose)
    for span in INLINE_CODE.finditer(text):
        code = " ".join(span.group(1).split())
        if re.match(r"(?:[A-Z_]+=\S+ )*tamma ", code):
            yield _where(doc, text.count("\n", 0, span.start()) + 1), next(_commands_in(code))


def _commands_in(line: str) -> Iterator[list[str]]:
    """The words after each `tamma` of a line, up to the end of that command (so the `tamma`
    of `--label tamma` is a word, not a second command)."""
    position = 0
    while start := TAMMA.search(line, position):
        end = INVOCATION_END.search(line, start.end())
        position = end.start() if end else len(line)
        if not COMMAND_POSITION.search(line[: start.start()]):
            continue
        rest = line[start.end() : position]
        try:
            yield shlex.split(rest)
        except ValueError:  # a quote the cut left open
            yield rest.split()


def _option_names(command: TyperCommand | TyperGroup) -> dict[str, bool]:
    """Each option name of the command, and whether it takes a value."""
    names = {"-h": False, "--help": False}
    for param in command.params:
        if isinstance(param, TyperOption):
            for name in (*param.opts, *param.secondary_opts):
                names[name] = not (param.is_flag or param.count)
    return names


def unknown_words(words: list[str], command: TyperCommand | TyperGroup) -> str | None:
    """What in `tamma WORDS` the CLI does not know, or None. A placeholder (`COMMAND`, `RUN`)
    where a command name goes ends the check: only what is spelt out is checked."""
    path = ["tamma"]
    rest = list(words)
    while isinstance(command, TyperGroup):
        options = _option_names(command)
        while rest and OPTION.fullmatch(rest[0].split("=")[0]):
            word = rest.pop(0)
            name = word.split("=")[0]
            if name not in options:
                return f"`{' '.join(path)}` has no option {name}"
            if options[name] and "=" not in word and rest:
                rest.pop(0)
        if not rest or not COMMAND_WORD.fullmatch(rest[0]):
            return None
        name = rest.pop(0)
        found = command.commands.get(name)
        if found is None:
            return f"`{' '.join(path)}` has no command {name}"
        assert isinstance(found, TyperCommand | TyperGroup)
        path.append(name)
        command = found
    options = _option_names(command)
    for word in rest:
        name = word.strip("[],.").split("=")[0]
        if OPTION.fullmatch(name) and name not in options:
            return f"`{' '.join(path)}` has no option {name}"
    return None


def _cli() -> TyperGroup:
    from typer.main import get_command

    from tamma.cli._app import app

    cli = get_command(app)
    assert isinstance(cli, TyperGroup)
    return cli


def test_every_tamma_command_in_the_docs_exists_with_its_options() -> None:
    cli = _cli()
    found = [(where, words) for doc in DOCS for where, words in invocations(doc)]
    assert len(found) > 100  # the parser still finds the commands the docs show
    problems = [f"{where}: {problem}" for where, words in found if (problem := unknown_words(words, cli))]
    assert problems == []


def _runnable_docs() -> list[Path]:
    return [doc for doc in DOCS if any(block.runnable for block in fenced_blocks(doc))]


def _offline_environment(home: Path) -> dict[str, str]:
    """The caller's environment without Tamma's or Prefect's settings and without credentials,
    in a fresh HOME (so `~/.tamma`, Prefect's profile and git's config are the test's own)."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TAMMA_", "PREFECT_")) and not name.endswith(("_API_KEY", "_TOKEN"))
    }
    return kept | {
        "HOME": str(home),
        "TAMMA_HOME": str(home / ".tamma"),
        "PATH": f"{BIN}{os.pathsep}{kept.get('PATH', '')}",
        "COLUMNS": "120",
    }


def test_the_docs_mark_runnable_blocks() -> None:
    assert {doc.name for doc in _runnable_docs()} >= {"README.md", "configuration.md"}


@pytest.mark.parametrize("doc", _runnable_docs(), ids=lambda doc: str(doc.relative_to(ROOT)))
def test_runnable_blocks_run_as_shown(doc: Path, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = _offline_environment(home)
    failures = []
    for command in (command for block in fenced_blocks(doc) if block.runnable for command in commands(block)):
        result = subprocess.run(
            ["bash", "-c", command.text],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
        )
        output = result.stdout + result.stderr
        missing = missing_output(command.shown, output)
        if result.returncode != command.exit_code or missing:
            failures.append(
                f"{command.where}: `{command.text}` exited {result.returncode} (expected {command.exit_code})"
                + "".join(f"\n  not printed: {line}" for line in missing)
                + f"\n{output}"
            )
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
