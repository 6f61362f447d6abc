"""`lint_change`: the changed files linted at the head and at the base, in a real git repository
with real ruff in the sandbox; only the problems the change introduced are new."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tamma.agent.lint import lint_change
from tamma.agent.tools import Toolbox, ToolPolicy
from tamma.errors import ConfigError
from tamma.git import git

RUFF = (sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated")
TODO_LINTER = """import sys

count = 0
for name in sys.argv[1:]:
    rows = [row for row, line in enumerate(open(name), 1) if "TODO" in line]
    if rows:
        print(name)
    for row in rows:
        print(f"  {row}:1  a TODO is left")
    count += len(rows)
print(f"{count} problem(s)")
sys.exit(1 if count else 0)
"""
"""A linter whose output names no `path:line:`, like eslint's stylish format."""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "old.py").write_text("import os\n")
    (root / "gone.py").write_text("import os\n")
    (root / "todo_lint.py").write_text(TODO_LINTER)
    (root / "notes.py").write_text("# TODO: tidy\n")
    git("init", "--quiet", "--initial-branch=main", cwd=root)
    git("add", "--all", cwd=root)
    git("commit", "--quiet", "-m", "base", cwd=root)
    return root


def toolbox(root: Path) -> Toolbox:
    return Toolbox(root, ToolPolicy(test_command=("true",), command_timeout_s=60))


def base_of(root: Path) -> str:
    return git("rev-parse", "HEAD", cwd=root).stdout.strip()


def test_a_problem_is_recognised_on_its_moved_line_and_a_new_file_has_no_base(repo: Path) -> None:
    base = base_of(repo)
    (repo / "old.py").write_text('"""Moved down."""\n\nimport os\n')
    (repo / "new.py").write_text("import sys\n")
    before = (repo / "old.py").stat()

    report = lint_change(toolbox(repo), RUFF, ["new.py", "old.py"], base=base)

    assert report is not None
    assert report.pre_existing == 1
    assert report.new_problems == "new.py:1:8: F401 [*] `sys` imported but unused"
    assert report.base is not None
    assert report.base.argv[-1:] == ("old.py",)
    assert "old.py:1:8: F401" in report.base.output
    after = (repo / "old.py").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert (repo / "old.py").read_text() == '"""Moved down."""\n\nimport os\n'
    assert not list(repo.glob(".*.tamma-head"))


def test_output_that_names_no_line_is_compared_line_by_line_with_numbers_masked(repo: Path) -> None:
    base = base_of(repo)
    (repo / "notes.py").write_text("x = 1\n# TODO: tidy\n# TODO: and this\n")
    linter = (sys.executable, "todo_lint.py")

    report = lint_change(toolbox(repo), linter, ["notes.py"], base=base)

    assert report is not None
    assert report.new_problems == "  3:1  a TODO is left"
    assert report.pre_existing == 3  # the file's name, the moved TODO, and the count line


def test_deleted_files_are_not_linted(repo: Path) -> None:
    base = base_of(repo)
    (repo / "gone.py").unlink()

    assert lint_change(toolbox(repo), RUFF, ["gone.py"], base=base) is None


def test_a_base_that_is_not_utf8_cannot_be_compared_so_its_problems_count(repo: Path) -> None:
    (repo / "old.py").write_bytes(b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n")
    git("commit", "--quiet", "--all", "-m", "latin-1", cwd=repo)
    base = base_of(repo)
    with (repo / "old.py").open("ab") as appended:
        appended.write(b"other = 1\n")

    report = lint_change(toolbox(repo), RUFF, ["old.py"], base=base)

    assert report is not None
    assert report.base is None
    assert "E902" in report.new_problems


def test_a_linter_gone_missing_is_a_configuration_error(repo: Path) -> None:
    (repo / "old.py").write_text("import os\nimport sys\n")
    missing = (sys.executable, "-m", "no_such_linter")

    with pytest.raises(ConfigError, match="no_such_linter"):
        lint_change(toolbox(repo), missing, ["old.py"], base=base_of(repo))
