"""A local platform with a real test command, and the git moves a developer makes against it."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tamma.git import git
from tamma.platforms import CIStatus
from tamma.platforms._local import LocalPlatform, init_local_platform

MISSING = "fixed.txt is missing"
"""What the test command prints when the fix is not there; CI logs are checked for it."""
CHECK = f"import pathlib, sys\nsys.exit(0 if pathlib.Path('fixed.txt').exists() else {MISSING!r})\n"


def make_local_platform(tmp_path: Path, name: str = "demo") -> LocalPlatform:
    """A platform whose CI passes once a commit adds `fixed.txt`."""
    source = tmp_path / "project"
    source.mkdir()
    (source / "check.py").write_text(CHECK)
    return init_local_platform(source, tmp_path / "local" / name, test_command=f"{sys.executable} check.py")


def push_commit(platform: LocalPlatform, tmp_path: Path, branch: str, files: dict[str, str]) -> str:
    """Commit `files` on `branch` in a clone (created from the remote's branch if it exists) and push."""
    work = tmp_path / f"work-{branch.replace('/', '-')}"
    if not work.exists():
        git("clone", "--quiet", str(platform.remote), str(work))
        exists = git("rev-parse", "--verify", "--quiet", f"origin/{branch}", cwd=work, check=False)
        start = [f"origin/{branch}"] if exists.returncode == 0 else []
        git("checkout", "--quiet", "-b", branch, *start, cwd=work)
    for name, text in files.items():
        (work / name).write_text(text)
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", f"change {sorted(files)}", cwd=work)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def wait_for_ci(platform: LocalPlatform, sha: str, timeout_s: float = 60.0) -> CIStatus:
    """Poll as a flow's CI watch does until the runner has recorded an outcome."""
    deadline = time.monotonic() + timeout_s
    while (status := platform.ci_status(sha)).state == "pending":
        if time.monotonic() > deadline:
            raise TimeoutError(f"local CI for {sha} still pending after {timeout_s} s")
        time.sleep(0.05)
    return status
