"""`LocalPlatform`: the embedded default, a forge on one machine with no network.

A bare git repository is the remote; the tracker (issues, comments, labels, pull requests,
CI results) is a SQLite file beside it. CI runs the repository's test command in a clean
clone of the commit, in a runner process started the first time the commit's status is asked
for (pending until it finishes, as on a real forge); merge is a real git merge into the bare
repository's default branch. Layout of a platform named NAME:

    $TAMMA_HOME/local/NAME/remote.git     the remote
    $TAMMA_HOME/local/NAME/tracker.db     the tracker
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tamma.errors import Conflict, NotFound
from tamma.git import git, message_text
from tamma.platforms._local_ci import runner_lock, start_runner
from tamma.platforms._local_store import TrackerDB, now
from tamma.platforms._models import (
    Check,
    CIStatus,
    Comment,
    Issue,
    MergeMethod,
    PullRequest,
    RateLimitState,
    Repository,
)
from tamma.platforms._refs import IssueRef

__all__ = ["LocalPlatform", "init_local_platform", "local_platforms_dir", "open_local_platform"]

LOCAL_USER = "local"


def init_local_platform(source: Path, root: Path, *, test_command: str = "") -> LocalPlatform:
    """Create a local platform at `root` whose remote starts as a copy of `source`: a git
    repository, or a plain directory whose files become the remote's first commit. `source`
    itself is never changed (a plain directory does not become a repository)."""
    source = source.resolve()
    if not source.is_dir():
        raise NotFound(f"{source} is not a directory", platform="local")
    if (root / "remote.git").exists():
        raise Conflict(f"a local platform already exists at {root}", platform="local")
    root.mkdir(parents=True, exist_ok=True)
    with _as_repository(source) as repository:
        # --no-local: copies, not hard links, so nothing that rewrites the remote's objects reaches the user's.
        git("clone", "--quiet", "--bare", "--no-local", str(repository), str(root / "remote.git"))
    TrackerDB(root / "tracker.db").create({"source": str(source), "test_command": test_command})
    return LocalPlatform(root)


@contextmanager
def _as_repository(source: Path) -> Iterator[Path]:
    """`source` if it is a git repository, else a scratch repository with its files committed."""
    if (source / ".git").exists():
        yield source
        return
    with tempfile.TemporaryDirectory(prefix="tamma-local-init-") as scratch:
        snapshot = Path(scratch) / source.name
        shutil.copytree(source, snapshot, symlinks=True)
        git("init", "--quiet", "--initial-branch=main", cwd=snapshot)
        git("add", "--all", cwd=snapshot)
        git("commit", "--quiet", "--allow-empty", "-m", "Initial commit", cwd=snapshot)
        yield snapshot


class LocalPlatform:
    """`GitPlatform` on a bare repository and a SQLite tracker (see module docstring).

    `name` is the platform kind, as for every adapter; `repo` is this platform's own name.
    """

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = root.name
        self.remote = root / "remote.git"
        if not self.remote.exists():
            raise NotFound(
                f"no local platform at {root}; create one with `tamma local init`", platform="local"
            )
        self._db = TrackerDB(root / "tracker.db")

    # -- issues ---------------------------------------------------------------------------

    def create_issue(
        self, title: str, body: str, *, labels: Iterable[str] = (), author: str = LOCAL_USER
    ) -> Issue:
        with self._db.transaction() as db:
            number = db.execute(
                "INSERT INTO issues (title, body, author, created_at) VALUES (?, ?, ?, ?)",
                (title, body, author, now()),
            ).lastrowid
            db.executemany(
                "INSERT OR IGNORE INTO labels VALUES (?, ?)", [(number, label) for label in labels]
            )
        assert number is not None
        return self.get_issue(number)

    def list_issues(
        self, *, labels: Iterable[str] = (), state: str = "open", assignee: str | None = None
    ) -> Iterator[Issue]:
        wanted = list(labels)
        with self._db.transaction() as db:
            numbers = [
                row["number"]
                for row in db.execute("SELECT number FROM issues WHERE state = ? ORDER BY number", (state,))
            ]
        for number in numbers:
            issue = self.get_issue(number, with_comments=False)
            if set(wanted) <= set(issue.labels) and (assignee is None or assignee in issue.assignees):
                yield issue

    def get_issue(self, number: int, *, with_comments: bool = True) -> Issue:
        with self._db.transaction() as db:
            row = db.execute("SELECT * FROM issues WHERE number = ?", (number,)).fetchone()
            if row is None:
                raise NotFound(f"issue #{number} not found in {self.repo}", platform="local", status=404)
            labels = tuple(
                r["label"]
                for r in db.execute("SELECT label FROM labels WHERE issue = ? ORDER BY label", (number,))
            )
            users = tuple(
                r["user"]
                for r in db.execute("SELECT user FROM assignees WHERE issue = ? ORDER BY user", (number,))
            )
            comments = (
                db.execute("SELECT * FROM comments WHERE issue = ? ORDER BY id", (number,)).fetchall()
                if with_comments
                else []
            )
        return Issue(
            ref=IssueRef(platform="local", repo=self.repo, number=number),
            title=row["title"],
            body=row["body"],
            state=row["state"],
            labels=labels,
            assignees=users,
            author=row["author"],
            comments=tuple(_comment(c) for c in comments),
        )

    def add_comment(self, number: int, body: str, *, author: str = "tamma") -> Comment:
        """A comment by Tamma; `author` lets a test or `tamma local` speak for someone else."""
        self.get_issue(number, with_comments=False)
        with self._db.transaction() as db:
            cursor = db.execute(
                "INSERT INTO comments (issue, author, body, created_at) VALUES (?, ?, ?, ?)",
                (number, author, body, now()),
            )
            row = db.execute("SELECT * FROM comments WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return _comment(row)

    def find_comment(self, number: int, marker: str) -> Comment | None:
        return self.get_issue(number).comment_with(marker)

    def add_labels(self, number: int, labels: Iterable[str]) -> None:
        self.get_issue(number, with_comments=False)
        with self._db.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO labels VALUES (?, ?)", [(number, label) for label in labels]
            )

    def remove_labels(self, number: int, labels: Iterable[str]) -> None:
        with self._db.transaction() as db:
            db.executemany(
                "DELETE FROM labels WHERE issue = ? AND label = ?", [(number, label) for label in labels]
            )

    def assign(self, number: int, users: Iterable[str]) -> None:
        self.get_issue(number, with_comments=False)
        with self._db.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO assignees VALUES (?, ?)", [(number, user) for user in users]
            )

    # -- repository, branches, pull requests ----------------------------------------------

    def repository(self) -> Repository:
        head = git("symbolic-ref", "--short", "HEAD", cwd=self.remote).stdout.strip()
        return Repository(full_name=self.repo, default_branch=head, clone_url=str(self.remote))

    def create_branch(self, name: str, from_ref: str) -> str:
        if self._sha(f"refs/heads/{name}"):
            raise Conflict(f"branch {name!r} already exists", platform="local", status=409)
        sha = self._sha(from_ref)
        if not sha:
            raise NotFound(f"no commit or branch {from_ref!r}", platform="local", status=404)
        git("update-ref", f"refs/heads/{name}", sha, cwd=self.remote)
        return sha

    def open_pull_request(
        self, *, title: str, body: str, head: str, base: str, draft: bool = False
    ) -> PullRequest:
        for branch in (head, base):
            if not self._sha(f"refs/heads/{branch}"):
                raise NotFound(f"branch {branch!r} does not exist", platform="local", status=404)
        with self._db.transaction() as db:
            number = db.execute(
                "INSERT INTO pulls (title, body, head, base, draft) VALUES (?, ?, ?, ?, ?)",
                (title, body, head, base, draft),
            ).lastrowid
        assert number is not None
        return self._pull(number)

    def find_pull_request(self, head: str) -> PullRequest | None:
        with self._db.transaction() as db:
            row = db.execute("SELECT number FROM pulls WHERE head = ? AND state = 'open'", (head,)).fetchone()
        return self._pull(row["number"]) if row else None

    def update_pull_request_body(self, number: int, body: str) -> PullRequest:
        self._pull(number)
        with self._db.transaction() as db:
            db.execute("UPDATE pulls SET body = ? WHERE number = ?", (body, number))
        return self._pull(number)

    def _pull(self, number: int) -> PullRequest:
        with self._db.transaction() as db:
            row = db.execute("SELECT * FROM pulls WHERE number = ?", (number,)).fetchone()
        if row is None:
            raise NotFound(f"pull request #{number} not found in {self.repo}", platform="local", status=404)
        return PullRequest(
            number=number,
            title=row["title"],
            body=row["body"],
            head=row["head"],
            base=row["base"],
            state=row["state"],
            draft=bool(row["draft"]),
            head_sha=self._sha(f"refs/heads/{row['head']}"),
        )

    def _sha(self, ref: str) -> str:
        result = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=self.remote, check=False)
        return result.stdout.strip() if result.returncode == 0 else ""

    # -- CI and merge ---------------------------------------------------------------------

    def ci_status(self, sha: str) -> CIStatus:
        """The check of `sha`: the first ask starts a CI run and answers pending (see `_local_ci`)."""
        if not self._sha(sha):
            raise NotFound(f"no commit {sha!r}", platform="local", status=404)
        self._claim_ci_run(sha)
        with self._db.transaction() as db:
            row = db.execute("SELECT id, name, state FROM checks WHERE sha = ?", (sha,)).fetchone()
        return CIStatus(sha=sha, checks=(Check(name=row["name"], state=row["state"], log_id=str(row["id"])),))

    def _claim_ci_run(self, sha: str) -> None:
        """Start a run unless one finished or is under way. Under way means its runner holds the
        commit's lock (`runner_lock`), which the OS frees when the runner dies, however it dies:
        a check left pending by an asker killed before its runner started, or by a runner killed
        mid-run, is claimed again by the next ask. The upsert makes concurrent askers start one."""
        with runner_lock(self.root, sha) as lock:
            if lock is None:
                return
            started_at = now()
            with self._db.transaction() as db:
                claimed = db.execute(
                    "INSERT INTO checks (sha, name, state, log, started_at) VALUES (?, 'tests', 'pending', '', ?) "
                    "ON CONFLICT (sha) DO UPDATE SET started_at = excluded.started_at "
                    "WHERE checks.state = 'pending' RETURNING id",
                    (sha, started_at),
                ).fetchone()
            if claimed is not None:
                start_runner(self.root, claimed["id"], started_at, lock)

    def failed_job_log(self, log_id: str, *, max_chars: int = 20_000) -> str:
        with self._db.transaction() as db:
            row = db.execute("SELECT log FROM checks WHERE id = ?", (int(log_id),)).fetchone()
        if row is None:
            raise NotFound(f"no CI log {log_id}", platform="local", status=404)
        return str(row["log"])[-max_chars:]

    def merge(self, number: int, *, method: MergeMethod = "squash", delete_branch: bool = True) -> str:
        pull = self._pull(number)
        if pull.state != "open":
            raise Conflict(f"pull request #{number} is {pull.state}", platform="local", status=405)
        with tempfile.TemporaryDirectory(prefix="tamma-merge-") as work:
            tree = Path(work)
            git("clone", "--quiet", "--branch", pull.base, str(self.remote), work)
            _merge_into(tree, pull, method)
            git("push", "--quiet", "origin", f"HEAD:refs/heads/{pull.base}", cwd=tree)
            merged_sha = git("rev-parse", "HEAD", cwd=tree).stdout.strip()
        with self._db.transaction() as db:
            db.execute("UPDATE pulls SET state = 'merged' WHERE number = ?", (number,))
        if delete_branch:
            git("update-ref", "-d", f"refs/heads/{pull.head}", cwd=self.remote)
        return merged_sha

    def rate_limit(self) -> RateLimitState | None:
        return None  # nothing to limit on one machine


def _merge_into(tree: Path, pull: PullRequest, method: MergeMethod) -> None:
    message = message_text(f"{pull.title} (#{pull.number})")
    head = f"origin/{pull.head}"
    if method == "rebase":
        git("checkout", "--quiet", "-B", "tamma-rebase", head, cwd=tree)
        if git("rebase", "--quiet", pull.base, cwd=tree, check=False).returncode != 0:
            raise Conflict(
                f"pull request #{pull.number} does not rebase cleanly on {pull.base}",
                platform="local",
                status=409,
            )
        git("checkout", "--quiet", pull.base, cwd=tree)
        git("merge", "--quiet", "--ff-only", "tamma-rebase", cwd=tree)
        return
    args = (
        ["merge", "--quiet", "--squash", head]
        if method == "squash"
        else ["merge", "--quiet", "--no-ff", "-m", message, head]
    )
    if git(*args, cwd=tree, check=False).returncode != 0:
        raise Conflict(
            f"pull request #{pull.number} conflicts with {pull.base}", platform="local", status=409
        )
    if method == "squash":
        git("commit", "--quiet", "-m", message, cwd=tree)


def _comment(row: object) -> Comment:
    return Comment(id=str(row["id"]), author=row["author"], body=row["body"])  # type: ignore[index]


def local_platforms_dir(home: Path) -> Path:
    """Where local platforms live: `$TAMMA_HOME/local/<name>`."""
    return home / "local"


def open_local_platform(home: Path, name_or_source: str) -> LocalPlatform:
    """The local platform called `name_or_source`, or the one created from that directory."""
    platforms = local_platforms_dir(home)
    by_name = platforms / name_or_source
    if (by_name / "remote.git").exists():
        return LocalPlatform(by_name)
    source = str(Path(name_or_source).expanduser().resolve())
    for root in sorted(platforms.glob("*/")) if platforms.exists() else []:
        if (root / "tracker.db").exists() and TrackerDB(root / "tracker.db").setting("source") == source:
            return LocalPlatform(root)
    raise NotFound(
        f"no local platform named or created from {name_or_source!r}; create one with `tamma local init PATH`",
        platform="local",
    )
