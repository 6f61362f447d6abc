"""A task's world: its repository at the base commit on a local platform, and its issue.

The platform's remote holds the base commit and its history only: every other branch and tag
of the source is dropped before the remote is made, so no commit after the base (the fix, in
a SWE-bench task) can reach the agent through git. The hidden tests stay out too: they live
in the task file and are applied only to judge (`tamma.bench.hidden_tests`).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tamma.bench.task_files import BenchTask
from tamma.git import git
from tamma.platforms import init_local_platform
from tamma.platforms._local import local_platforms_dir

__all__ = ["PreparedTask", "platform_name", "prepare_task"]

BASE_BRANCH = "main"
ISSUE_LABELS = ("tamma", "bench")


@dataclass(frozen=True)
class PreparedTask:
    issue_ref: str
    remote: Path
    """The local platform's bare repository: where the pull request's branch lands."""
    base_sha: str


def platform_name(instance_id: str) -> str:
    """The local platform's name for a task: its id, as an issue reference can spell it."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", instance_id).lstrip("-") or "task"


def prepare_task(task: BenchTask, home: Path) -> PreparedTask:
    """Clone the task's repository, keep the base commit alone on `main`, make the local
    platform under `home` (its CI runs the task's test command) and file the issue."""
    with tempfile.TemporaryDirectory(prefix="tamma-bench-source-") as scratch:
        source = Path(scratch) / "source"
        git("clone", "--quiet", "--no-local", task.repo, str(source))
        git("checkout", "--quiet", "--force", "-B", BASE_BRANCH, task.base_commit or "HEAD", cwd=source)
        _keep_only_base_branch(source)
        base_sha = git("rev-parse", "HEAD", cwd=source).stdout.strip()
        root = local_platforms_dir(home) / platform_name(task.instance_id)
        platform = init_local_platform(source, root, test_command=task.test_command)
    issue = platform.create_issue(task.issue_title, task.issue_body, labels=ISSUE_LABELS, author="bench")
    return PreparedTask(str(issue.ref), platform.remote, base_sha)


def _keep_only_base_branch(source: Path) -> None:
    git("remote", "remove", "origin", cwd=source)
    refs = git("for-each-ref", "--format=%(refname)", cwd=source).stdout.split()
    for ref in refs:
        if ref != f"refs/heads/{BASE_BRANCH}":
            git("update-ref", "-d", ref, cwd=source)
