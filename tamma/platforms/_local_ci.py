"""The local platform's CI runner: the repository's test command in a clean clone of a commit.

Why a detached process rather than running the tests inside `ci_status`: CI on a real forge
runs elsewhere while the orchestrator polls, and a flow's CI watch is written for exactly
that (pending, then a result). Here the first `ci_status(sha)` claims the commit's check row
and starts `python -m tamma.platforms._local_ci ROOT CHECK_ID STARTED_AT`; the runner writes
the outcome into the same row, and only if the row is still its own run. While it works, the
runner holds the commit's lock file (inherited from the asker that claimed the row, so there is
no moment when a claimed check has no holder); a pending check whose lock is free has no
runner, and the next ask claims it again.

The test command is untrusted code from the repository: it runs in `tamma.sandbox` under the
configured policy (the runner reads the settings as the run that started it did: same working
directory, same environment), and its log is redacted, configured secrets included, before it
is stored.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tamma.errors import PlatformError
from tamma.git import git
from tamma.platforms._local_store import TrackerDB
from tamma.redaction import Redactor
from tamma.sandbox import Sandbox

__all__ = ["CI_TIMEOUT_S", "run_check", "runner_lock", "start_runner"]

CI_TIMEOUT_S = 900
LOG_LIMIT = 100_000


@contextmanager
def runner_lock(root: Path, sha: str) -> Iterator[int | None]:
    """The commit's runner lock, held for the block (its file descriptor), or None when a
    runner, or another asker about to start one, holds it."""
    path = root / "ci-locks" / f"{sha}.lock"
    path.parent.mkdir(exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
        else:
            yield descriptor
    finally:
        os.close(descriptor)


def start_runner(root: Path, check_id: int, started_at: str, lock: int) -> None:
    """Run check `check_id` in a detached process that outlives the caller and inherits the
    commit's `lock`, keeping it held until the runner exits."""
    subprocess.Popen(
        [sys.executable, "-m", "tamma.platforms._local_ci", str(root), str(check_id), started_at],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        pass_fds=(lock,),
    )


def run_check(root: Path, check_id: int, started_at: str, sandbox: Sandbox, redactor: Redactor) -> None:
    """Clone the checked commit, run the test command, record the outcome if the run is still ours."""
    tracker = TrackerDB(root / "tracker.db")
    with tracker.transaction() as db:
        row = db.execute("SELECT sha FROM checks WHERE id = ?", (check_id,)).fetchone()
    if row is None:
        return
    with tempfile.TemporaryDirectory(prefix="tamma-ci-") as checkout:
        try:
            git("clone", "--quiet", "--no-local", str(root / "remote.git"), checkout)
            git("checkout", "--quiet", "--detach", row["sha"], cwd=Path(checkout))
        except (PlatformError, subprocess.TimeoutExpired) as exc:  # the run's outcome, not a crash
            state, log = "failure", f"could not check out {row['sha']}: {exc}"
        else:
            state, log = run_tests(tracker.setting("test_command"), Path(checkout), sandbox)
    with tracker.transaction() as db:
        db.execute(
            "UPDATE checks SET state = ?, log = ? WHERE id = ? AND started_at = ?",
            (state, redactor.text(log), check_id, started_at),
        )


def run_tests(command: str, checkout: Path, sandbox: Sandbox) -> tuple[str, str]:
    """("success" | "failure", log tail) of the test command."""
    if not command:
        return "success", "no test command configured; nothing to run"
    result = sandbox.run(
        shlex.split(command), workspace=checkout, timeout_s=CI_TIMEOUT_S, output_cap=LOG_LIMIT
    )
    log = f"{result.summary()}\n{result.output}"
    return ("success" if result.passed else "failure"), log


def _main(root: Path, check_id: int, started_at: str) -> None:
    from tamma.config import load_settings  # here: tamma.config imports the platforms

    settings = load_settings()
    run_check(root, check_id, started_at, Sandbox(settings.sandbox), Redactor(settings.secrets()))


if __name__ == "__main__":
    _main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
