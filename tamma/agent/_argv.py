"""Which command lines the model may start: `run_command`'s argv, and Claude Code's Bash.

The sandbox is the boundary: it decides what a command can read, write and reach. This check
is defense in depth, for `sandbox: none` and for whatever the sandbox misses: an allowlisted
program must not become a shell, a launcher of other programs, or a writer of git's config and
hooks (which run on our side at the next commit). The rules, and why:

- the program is a bare name on the configured allowlist, compared exactly: a path could name
  any binary that merely shares an allowed name;
- shells and launchers (`sh`, `env`, `xargs`, `timeout`...) are refused even when configured,
  since they run whatever their arguments name; so are `awk` and `sed` (their scripts run
  commands), `make` (a Makefile runs anything), editors and pagers (they open shells), and the
  package runners other than `npm test`, `npm run test` and `npm ls`;
- options that run code given inline or another program are refused (`python -c`, `perl -e`,
  `node -e`, `find -exec`, `git diff --ext-diff`, `git grep -O`...), and so are pytest's
  interactive debugger and `--basetemp` (pytest deletes that directory first);
- git runs only a read-only set of subcommands, with global options that change nothing: the
  others write config, hooks or history, reach remotes, or run aliases and `git-<name>`
  programs found on PATH;
- an argument, and an option's value after `=`, may not start with `~` or hold a `..`
  segment (how a program resolves those is its own affair), must resolve inside the workspace
  (an absolute path too), and may not name `.git/` but for git itself;
- no argument holds a NUL byte or a lone surrogate, which no process can receive.

A script file in the workspace runs (`python tests/run.py`): the model can write any code into
one, so refusing it would protect nothing; the sandbox is what contains it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tamma.agent._paths import Refused, confined_path, first_lone_surrogate

__all__ = ["check_argv"]

_SHELL = "a shell runs any command line; run the program you need directly"
_LAUNCHER = "it runs whatever program its arguments name; run that program directly"
_SCRIPTED = "its scripts can run commands; use read_file, search and edit_file instead"
_INTERACTIVE = "it can open a shell; use read_file and edit_file instead"
_MAKE = "a Makefile runs any command; set agent.test_command (say `make test`) and call run_tests"
_RUNNER = "it runs package scripts and downloaded programs; use `npm test` or run_tests"

_REFUSED_PROGRAMS: dict[str, str] = {
    program: why
    for programs, why in (
        ("sh bash dash zsh fish ksh csh tcsh busybox", _SHELL),
        ("xargs nohup setsid timeout nice ionice strace ltrace stdbuf time", _LAUNCHER),
        ("sudo su doas chroot unshare nsenter taskset flock watch script", _LAUNCHER),
        ("env", "it runs the program its arguments name; to see the environment, run printenv"),
        ("awk gawk mawk nawk sed", _SCRIPTED),
        ("vi vim nvim ex emacs less more man", _INTERACTIVE),
        ("make gmake", _MAKE),
        ("npx yarn pnpm", _RUNNER),
    )
    for program in programs.split()
}


@dataclass(frozen=True)
class _Forbidden:
    """Options a program may not get: `options` by name (before any `=`), and by any
    abbreviation when the program is `abbreviated` (GNU getopt and most of git accept
    `--compress` for `--compress-program`); `letters` as single-letter options, also inside a
    cluster or with a value attached (`-ne`, `-Oless`)."""

    why: str
    options: frozenset[str] = frozenset()
    letters: str = ""
    abbreviated: bool = False

    def check(self, command: str, args: Sequence[str]) -> None:
        for arg in args:
            if self._refuses(arg):
                raise Refused(f"{command} {arg} is refused: {self.why}")

    def _refuses(self, arg: str) -> bool:
        name = arg.split("=", 1)[0]
        if name in self.options:
            return True
        if arg.startswith("--"):
            return self.abbreviated and len(name) > 3 and any(o.startswith(name) for o in self.options)
        return arg.startswith("-") and bool(set(arg[1:]) & set(self.letters))


_INLINE_CODE = "it runs code given on the command line; write a script file in the workspace and run it"
_PYTEST = _Forbidden(
    "--pdb and --trace wait for a debugger at a keyboard, and pytest deletes --basetemp first",
    frozenset({"--pdb", "--trace", "--pdbcls", "--basetemp"}),
)
_FORBIDDEN: dict[str, _Forbidden] = {
    "perl": _Forbidden(_INLINE_CODE, letters="eEMm"),
    "ruby": _Forbidden(_INLINE_CODE, letters="e"),
    "node": _Forbidden(_INLINE_CODE, frozenset({"--eval", "--print", "--interactive"}), letters="epi"),
    "find": _Forbidden(
        "it runs commands or changes files; list with find, then use the tools",
        frozenset(
            {"-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls"}
        ),
    ),
    "sort": _Forbidden("it runs the program it names", frozenset({"--compress-program"}), abbreviated=True),
    "pytest": _PYTEST,
    "py.test": _PYTEST,
}

_GIT_GLOBAL_FLAGS = frozenset(
    {"--no-pager", "-P", "--no-replace-objects", "--literal-pathspecs", "--glob-pathspecs"}
    | {"--noglob-pathspecs", "--icase-pathspecs", "--no-optional-locks", "--no-lazy-fetch", "--no-advice"}
    | {"--version", "--exec-path", "--html-path", "--man-path", "--info-path"}
)
_GIT_RUNS_PROGRAMS = "it runs another program (a diff driver, a filter, a pager) or writes a file"
_GIT_EVERY_SUBCOMMAND = frozenset({"-u", "--upload-pack", "--receive-pack", "--help"})
_GIT_SHOWS_DIFFS = frozenset({"--ext-diff", "--textconv", "--output"})
_GIT_READ_ONLY: dict[str, _Forbidden] = {  # diff, log and show take no abbreviations, the rest do
    **{
        name: _Forbidden(_GIT_RUNS_PROGRAMS, _GIT_EVERY_SUBCOMMAND, abbreviated=True)
        for name in ("status", "ls-files", "rev-parse", "ls-tree", "shortlog", "describe", "branch")
    },
    **{
        name: _Forbidden(_GIT_RUNS_PROGRAMS, _GIT_EVERY_SUBCOMMAND | _GIT_SHOWS_DIFFS)
        for name in ("diff", "log", "show")
    },
    "grep": _Forbidden(
        _GIT_RUNS_PROGRAMS,
        _GIT_EVERY_SUBCOMMAND | {"--open-files-in-pager", "--textconv"},
        letters="O",
        abbreviated=True,
    ),
    "blame": _Forbidden(_GIT_RUNS_PROGRAMS, _GIT_EVERY_SUBCOMMAND | {"--textconv"}, abbreviated=True),
    "cat-file": _Forbidden(
        _GIT_RUNS_PROGRAMS, _GIT_EVERY_SUBCOMMAND | {"--filters", "--textconv"}, abbreviated=True
    ),
}
_GIT_BRANCH_LISTING = frozenset(
    {"--list", "-l", "-a", "--all", "-r", "--remotes", "--show-current", "-v", "-vv", "--verbose"}
)

_PYTHON = re.compile(r"python(3(\.\d+)?)?")
_PYTHON_MODULES = frozenset({"pytest", "unittest", "ruff", "mypy", "pyflakes", "flake8", "black", "isort"})
_PYTHON_REFUSED_LETTERS = {
    "c": f"python -c is refused: {_INLINE_CODE}",
    "i": "python -i is refused: it is interactive; run a script file instead",
}
_PYTHON_NO_SCRIPT = frozenset({"-V", "--version", "-h", "--help"})
_NPM_FORMS = (("test",), ("run", "test"), ("ls",))


def check_argv(argv: Sequence[str], *, allowed: frozenset[str], root: Path) -> None:
    """Nothing when the model may run `argv` in the workspace `root`, `Refused` saying why
    not (and what to do instead) otherwise; the rules are in the module docstring."""
    if not argv:
        raise Refused("a command line needs a program")
    for arg in argv:
        if "\0" in arg:
            raise Refused(f"{arg!r} contains a NUL byte, which no program can receive")
        if (offset := first_lone_surrogate(arg)) is not None:
            raise Refused(f"{arg!r} is not valid Unicode text (a lone surrogate at offset {offset})")
    program, args = argv[0], argv[1:]
    family = "python" if _PYTHON.fullmatch(program) else program
    if family in _REFUSED_PROGRAMS:
        raise Refused(f"{program} is refused even when configured: {_REFUSED_PROGRAMS[family]}")
    if program not in allowed or "/" in program:
        listed = ", ".join(sorted(allowed)) or "none"
        bare = "; name the program without a path" if "/" in program else ""
        raise Refused(f"{program!r} is not an allowed command{bare} (allowed: {listed})")
    if family in _PARSERS:
        _PARSERS[family](args)
    elif family in _FORBIDDEN:
        _FORBIDDEN[family].check(program, args)
    for arg in args:
        _check_path(arg, root, git=family == "git")


def _check_path(arg: str, root: Path, *, git: bool) -> None:
    """Refused when `arg`, or its value after `=`, reaches outside the workspace or into
    `.git/` (git may read its own metadata)."""
    for candidate in (arg, arg.partition("=")[2]):
        if ".." in candidate.split("/"):
            raise Refused(
                f"{arg!r} holds a '..' segment, which may lead outside the workspace; "
                "name paths from the workspace root without it"
            )
        if candidate:
            confined_path(root, candidate, for_writing=not git, absolute_ok=True)


def _check_git(args: Sequence[str]) -> None:
    subcommand = next((index for index, arg in enumerate(args) if not arg.startswith("-")), len(args))
    for option in args[:subcommand]:
        if option not in _GIT_GLOBAL_FLAGS:
            raise Refused(
                f"git {option} is refused: global options that change git's config, repository or "
                f"programs are not allowed (allowed: {', '.join(sorted(_GIT_GLOBAL_FLAGS))})"
            )
    if subcommand == len(args):
        return  # `git` or `git --version`: it prints and exits
    name, rest = args[subcommand], args[subcommand + 1 :]
    if name not in _GIT_READ_ONLY:
        raise Refused(
            f"git {name} is refused: only read-only subcommands run here "
            f"({', '.join(sorted(_GIT_READ_ONLY))}); change files with write_file or edit_file"
        )
    if name == "branch" and not set(rest) <= _GIT_BRANCH_LISTING:
        raise Refused("git branch only lists branches here (--list, -a, -r, -v, --show-current)")
    _GIT_READ_ONLY[name].check(f"git {name}", rest)


def _check_python(args: Sequence[str]) -> None:
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "-":
            raise Refused("python - reads its program from standard input; run a script file instead")
        if not arg.startswith("-"):
            return  # the script, a file in the workspace (its path was checked)
        if arg.startswith("--"):
            if arg == "--check-hash-based-pycs":
                index += 1  # its value
            continue
        for position, letter in enumerate(arg[1:], start=2):
            if letter in _PYTHON_REFUSED_LETTERS:
                raise Refused(_PYTHON_REFUSED_LETTERS[letter])
            if letter in "mWX":  # the value: the rest of the cluster, or the next argument
                value = arg[position:]
                if not value and index < len(args):
                    value, index = args[index], index + 1
                if letter == "m":
                    _check_python_module(value, args[index:])
                    return
                break
    if not _PYTHON_NO_SCRIPT & set(args):
        raise Refused("python without a script reads its program from standard input; run a script file")


def _check_python_module(module: str, rest: Sequence[str]) -> None:
    if module not in _PYTHON_MODULES:
        raise Refused(
            f"python -m {module} is refused: the modules that may run are "
            f"{', '.join(sorted(_PYTHON_MODULES))}; or run a script file in the workspace"
        )
    if module == "pytest":
        _PYTEST.check("python -m pytest", rest)


def _check_npm(args: Sequence[str]) -> None:
    for form in _NPM_FORMS:
        rest = args[len(form) :]
        if tuple(args[: len(form)]) == form and (not rest or rest[0] == "--"):
            return
    raise Refused(
        "npm runs only as `npm test`, `npm run test` or `npm ls` (arguments for the tests after --)"
    )


_PARSERS: dict[str, Callable[[Sequence[str]], None]] = {
    "git": _check_git,
    "python": _check_python,
    "npm": _check_npm,
}
