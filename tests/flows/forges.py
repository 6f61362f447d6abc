"""A fake forge backed by real git: the fake REST API for issues, pull requests and CI, a real
smart-HTTP git server for clone and push, and CI that runs the tests of every pushed commit.

This is what `resolve_issue` meets on GitHub or GitLab: the workspace clones and pushes over
HTTPS with the token, the adapter talks REST through the real SDK, and CI's verdict on a
commit comes from actually running its tests.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from tamma.git import git
from tamma.platforms._local_ci import run_tests
from tamma.sandbox import Sandbox

CI_COMMAND = f"{sys.executable} -m pytest -q -p no:cacheprovider"


def branch_heads(bare: Path) -> dict[str, tuple[str, tuple[str, ...], str]]:
    """Each branch of a bare repository: (sha, parent shas, subject)."""
    heads = {}
    listing = git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads", cwd=bare).stdout
    for line in listing.splitlines():
        branch, sha = line.split()
        parents = tuple(git("rev-list", "--parents", "-n", "1", sha, cwd=bare).stdout.split()[1:])
        subject = git("log", "-1", "--format=%s", sha, cwd=bare).stdout.strip()
        heads[branch] = (sha, parents, subject)
    return heads


def run_ci(bare: Path, sha: str) -> tuple[bool, str]:
    """The suite of commit `sha`, in a clean clone: (passed, log)."""
    with tempfile.TemporaryDirectory(prefix="forge-ci-") as checkout:
        git("clone", "--quiet", str(bare), checkout)
        git("checkout", "--quiet", "--detach", sha, cwd=Path(checkout))
        state, log = run_tests(CI_COMMAND, Path(checkout), Sandbox())
    return state == "success", log


def on_every_new_head(
    bare: Path, record: Callable[[], None], ci: Callable[[str, str], None]
) -> Callable[[str], None]:
    """A push hook: `record()` at once (the forge knows the pushed refs before `git push`
    returns), then `ci(branch, sha)` on a thread for each new branch head, as CI runs later."""
    seen: set[str] = {sha for sha, _, _ in branch_heads(bare).values()}

    def pushed(_repository: str) -> None:
        record()
        for branch, (sha, _, _) in branch_heads(bare).items():
            if sha not in seen:
                seen.add(sha)
                threading.Thread(target=ci, args=(branch, sha), daemon=True).start()

    return pushed
