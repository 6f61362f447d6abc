"""A task's world holds nothing after its base commit, and the judge runs the hidden tests, not
the pull request's version of them."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from tamma.bench.hidden_tests import run_hidden_tests
from tamma.bench.prepare import prepare_task
from tamma.bench.task_files import BenchTask
from tamma.config import load_settings
from tamma.demo.scenario import sandbox_settings
from tamma.git import git
from tamma.platforms._local import LocalPlatform
from tamma.sandbox import Sandbox
from tests.bench.conftest import commit_files

BUGGY = "def double(x: int) -> int:\n    return x + x + 1\n\n\ndef zero() -> int:\n    return 0\n"
FIXED = "def double(x: int) -> int:\n    return x + x\n\n\ndef zero() -> int:\n    return 0\n"
KEPT = "from calc import zero\n\n\ndef test_zero() -> None:\n    assert zero() == 0\n"
HIDDEN = "from calc import double\n\n\ndef test_double() -> None:\n    assert double(2) == 4\n"
WEAKENED = "def test_double() -> None:\n    assert True\n"


@pytest.fixture
def task(tmp_path: Path) -> BenchTask:
    """A repository whose history goes on past the base: the fix, a branch and a tag."""
    repo = tmp_path / "calc"
    base = commit_files(repo, {"calc.py": BUGGY, "tests/test_zero.py": KEPT}, "base")
    commit_files(repo, {"calc.py": FIXED}, "the fix (the future)")
    git("branch", "later", cwd=repo)
    git("tag", "v1", cwd=repo)
    commit_files(repo, {"tests/test_double.py": HIDDEN}, "the hidden test")
    test_patch = git("diff", "HEAD~1", "HEAD", cwd=repo).stdout
    return BenchTask.model_validate(
        {
            "instance_id": "calc/double #1",
            "repo": str(repo),
            "base_commit": base[:10],
            "problem_statement": "double(2) is 5\n\nIt should be 4.",
            "FAIL_TO_PASS": ["tests/test_double.py::test_double"],
            "PASS_TO_PASS": ["tests/test_zero.py::test_zero"],
            "test_patch": test_patch,
            "test_command": shlex.join([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]),
        }
    )


def test_the_platform_holds_the_base_commit_alone(task: BenchTask, tmp_path: Path) -> None:
    prepared = prepare_task(task, tmp_path / "home")
    assert prepared.issue_ref == "local:calc-double-1#1"
    refs = git("for-each-ref", "--format=%(refname)", cwd=prepared.remote).stdout.split()
    assert refs == ["refs/heads/main"]
    history = git("rev-list", "--all", cwd=prepared.remote).stdout.split()
    assert history == [prepared.base_sha]
    issue = LocalPlatform(prepared.remote.parent).get_issue(1)
    assert (issue.title, issue.body) == ("double(2) is 5", task.problem_statement)


def test_the_judge_runs_the_hidden_tests_over_whatever_the_branch_did_to_them(
    task: BenchTask, tmp_path: Path
) -> None:
    prepared = prepare_task(task, tmp_path / "home")
    judge = Sandbox(load_settings(sandbox=sandbox_settings()).sandbox)
    at_base = run_hidden_tests(task, prepared.remote, prepared.base_sha, prepared.base_sha, judge)
    assert at_base.fair_at_base
    assert "test_double" in at_base.log
    work = tmp_path / "work"
    git("clone", "--quiet", str(prepared.remote), str(work))
    git("checkout", "--quiet", "-b", "fix", cwd=work)
    commit_files(work, {"calc.py": FIXED, "tests/test_double.py": WEAKENED}, "fix, and a test of its own")
    git("push", "--quiet", "origin", "fix", cwd=work)
    fixed = run_hidden_tests(task, prepared.remote, "origin/fix", prepared.base_sha, judge)
    assert fixed.resolved
    commit_files(work, {"calc.py": BUGGY}, "undo the fix; the weakened test still passes")
    git("push", "--quiet", "origin", "fix", cwd=work)
    undone = run_hidden_tests(task, prepared.remote, "origin/fix", prepared.base_sha, judge)
    assert not undone.fail_to_pass
    assert undone.pass_to_pass
