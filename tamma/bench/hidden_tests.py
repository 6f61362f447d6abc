"""The judge: a task's hidden tests run on a commit, in a clean clone, in Tamma's sandbox.

As SWE-bench's harness does, the files the test patch touches are first put back as they were
at the base commit (so the pull request's own version of a test file cannot shadow the hidden
one), then the patch is applied, then FAIL_TO_PASS and PASS_TO_PASS run, each list as one
test command with the test ids appended. A task is resolved when both lists pass on the pull
request's head; it is a fair task only when FAIL_TO_PASS fails and PASS_TO_PASS passes at
the base commit.
"""

from __future__ import annotations

import re
import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tamma.bench.task_files import BenchInputError, BenchTask
from tamma.git import git
from tamma.sandbox import CommandResult, Sandbox

__all__ = ["HIDDEN_TESTS_TIMEOUT_S", "HiddenTestRun", "run_hidden_tests"]

HIDDEN_TESTS_TIMEOUT_S = 900.0
LOG_CHARS = 2_000
_PATCHED_PATH = re.compile(r"^(?:---|\+\+\+) [ab]/(.+?)\t?$", re.MULTILINE)


@dataclass(frozen=True)
class HiddenTestRun:
    """Whether each list passed, and the tail of the first failing run's output."""

    fail_to_pass: bool
    pass_to_pass: bool
    log: str = ""

    @property
    def resolved(self) -> bool:
        return self.fail_to_pass and self.pass_to_pass

    @property
    def fair_at_base(self) -> bool:
        """Read at the base commit: the issue is real and the rest of the suite is green."""
        return not self.fail_to_pass and self.pass_to_pass


def run_hidden_tests(
    task: BenchTask, remote: Path, commit: str, base_sha: str, sandbox: Sandbox
) -> HiddenTestRun:
    """Check out `commit` (a sha, or `origin/BRANCH`) of `remote`, apply the test patch over the
    base versions of its files, and run both lists."""
    with tempfile.TemporaryDirectory(prefix="tamma-bench-judge-") as scratch:
        checkout = Path(scratch) / "checkout"
        git("clone", "--quiet", "--no-local", str(remote), str(checkout))
        git("checkout", "--quiet", "--detach", commit, cwd=checkout)
        if task.test_patch:
            _apply_test_patch(
                task.instance_id, checkout, base_sha, task.test_patch, Path(scratch) / "test.patch"
            )
        command = shlex.split(task.test_command)
        runs = [_run(command, tests, checkout, sandbox) for tests in (task.fail_to_pass, task.pass_to_pass)]
    fail_to_pass, pass_to_pass = (run is None or run.passed for run in runs)
    failed = next((run for run in runs if run is not None and not run.passed), None)
    return HiddenTestRun(fail_to_pass, pass_to_pass, log=failed.output[-LOG_CHARS:] if failed else "")


def _run(command: list[str], tests: Sequence[str], checkout: Path, sandbox: Sandbox) -> CommandResult | None:
    """The test command over `tests`; None when there are none to run (they pass vacuously)."""
    if not tests:
        return None
    return sandbox.run([*command, *tests], workspace=checkout, timeout_s=HIDDEN_TESTS_TIMEOUT_S)


def _apply_test_patch(task_id: str, checkout: Path, base_sha: str, patch: str, patch_file: Path) -> None:
    for path in dict.fromkeys(_PATCHED_PATH.findall(patch)):
        target = (checkout / path).resolve()
        if not target.is_relative_to(checkout.resolve()):
            raise BenchInputError(f"{task_id}: the test patch names a path outside the repository: {path}")
        if git("cat-file", "-e", f"{base_sha}:{path}", cwd=checkout, check=False).returncode == 0:
            git("checkout", "--quiet", base_sha, "--", path, cwd=checkout)
        else:
            target.unlink(missing_ok=True)
    patch_file.write_text(patch if patch.endswith("\n") else patch + "\n")
    git("apply", str(patch_file), cwd=checkout)
