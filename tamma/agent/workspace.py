"""A git workspace per issue: the clone the coding agent edits, commits in and pushes from.

Workspaces live under one root, each in `root/<key>` on the issue's branch. Opening a key that
already holds a clone of the same repository reuses it, so a retried step goes on from the
branch's last commit (pushed or not) instead of starting over; what a crashed attempt left
uncommitted is dropped, since nobody can tell how far it got.

Credentials reach git only through GIT_ASKPASS: a script outside the workspaces prints the
username and password from two variables that only the clone, fetch and push subprocesses
get. So the token is never in a URL, an argv, `.git/config`, an event or a log.

Code run in the workspace can write the working tree and, without a sandbox, `.git/`. Tamma's
git runs no hook, helper or filter of the repository's (see `tamma.git`), and before it commits,
resets, fetches, pushes or stages a snapshot it checks that `.git/` is still what the clone made
(see `tamma.agent._gitdir`): anything else is `WorkspaceTampered`. A local repository is cloned
without hard links, so the workspace shares no object file with the remote.

The caches of Python test and lint runs are excluded through `.git/info/exclude`, so they never
show in a status, a diff, a fingerprint or a commit, whatever the repository's own .gitignore
says. (Commands get HOME and /tmp from the sandbox, outside the workspace.)
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tamma.agent._gitdir import check_git_dir, nested_repositories
from tamma.errors import Conflict, InvalidReference, NotFound, PlatformError
from tamma.git import git, message_text
from tamma.platforms import IssueRef
from tamma.redaction import Redactor

__all__ = [
    "CommitClock",
    "GitAuthor",
    "GitCredentials",
    "Workspace",
    "branch_name",
    "workspace_key",
    "workspaces_dir",
]

BRANCH_PREFIX = "tamma/issue-"
MAX_SLUG_LENGTH = 40
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXCLUDED = ("__pycache__/", "*.py[cod]", ".pytest_cache/", ".ruff_cache/", ".mypy_cache/")
"""Never committed: the caches that running tests and linters leaves."""
CommitClock = Callable[[], "tuple[str, str] | None"]
"""The (author, committer) dates of the next commit in git's raw `<epoch> <tz>` form, or None
for now. A replay passes the recorded dates: same tree, parent, author, message and dates make
the same commit sha, so a replayed commit can be checked against the recording exactly."""
_ASKPASS_SCRIPT = """#!/bin/sh
# Written by Tamma: answers git's prompts from the environment of the one git command asking,
# and only for the host it was cloned from (a rewritten remote URL gets nothing).
case "$1" in
*"//$TAMMA_GIT_HOST'"* | *"@$TAMMA_GIT_HOST'"*) ;;
*) exit 1 ;;
esac
case "$1" in
Username*) printf '%s\\n' "$TAMMA_GIT_USERNAME" ;;
*) printf '%s\\n' "$TAMMA_GIT_PASSWORD" ;;
esac
"""


def workspaces_dir(home: Path) -> Path:
    """Where workspaces live: `$TAMMA_HOME/workspaces/<key>`."""
    return home / "workspaces"


def workspace_key(ref: IssueRef) -> str:
    """The workspace directory name of an issue: `github-octo-demo-12`, one per issue."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{ref.platform}-{ref.repo}-{ref.number}")


@dataclass(frozen=True)
class GitAuthor:
    """Who the agent's commits are by (author and committer alike)."""

    name: str = "Tamma"
    email: str = "tamma@localhost"


@dataclass(frozen=True)
class GitCredentials:
    """HTTPS credentials for git; the token never appears in a URL, argv, .git/config, events or logs."""

    username: str
    password: str = field(repr=False)

    @classmethod
    def for_github(cls, token: str) -> GitCredentials:
        return cls(username="x-access-token", password=token)

    @classmethod
    def for_gitlab(cls, token: str) -> GitCredentials:
        return cls(username="oauth2", password=token)

    @classmethod
    def for_gitea(cls, token: str) -> GitCredentials:
        """Gitea and Forgejo take a token as the password and ignore the username."""
        return cls(username="tamma", password=token)

    @classmethod
    def for_azure(cls, token: str) -> GitCredentials:
        """Azure Repos takes a personal access token as the password of any username."""
        return cls(username="tamma", password=token)

    @classmethod
    def for_bitbucket(cls, token: str) -> GitCredentials:
        """Bitbucket Cloud's repository, project and workspace access tokens push as `x-token-auth`."""
        return cls(username="x-token-auth", password=token)


def branch_name(number: int, title: str) -> str:
    """`tamma/issue-<n>-<slug>`: slug = title lowercased, ASCII letters/digits joined by single '-',
    at most 40 chars, no trailing '-'; `tamma/issue-<n>` if the slug is empty.

    Accents are dropped rather than the letters they sit on ("Café" gives "cafe"); anything
    else, a NUL or a lone surrogate included, never reaches the name.
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = "-".join(re.findall(r"[a-z0-9]+", ascii_title.lower()))[:MAX_SLUG_LENGTH].rstrip("-")
    return f"{BRANCH_PREFIX}{number}-{slug}" if slug else f"{BRANCH_PREFIX}{number}"


class Workspace:
    """One issue's clone on its branch (see the module docstring); made by `Workspace.open`."""

    def __init__(
        self,
        path: Path,
        *,
        branch: str,
        base_branch: str,
        base_sha: str,
        remote: _Remote,
        author: GitAuthor,
        clock: CommitClock | None = None,
        replaces_branch: bool = False,
    ) -> None:
        self.path = path
        self.branch = branch
        self.base_branch = base_branch
        self.base_sha = base_sha
        """The commit of origin/<base_branch> the branch started from (its merge-base when reused)."""
        self._remote = remote
        self._identity = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": author.name,
            "GIT_COMMITTER_EMAIL": author.email,
        }
        self._clock = clock
        self._replaces_branch = replaces_branch

    @classmethod
    def open(
        cls,
        *,
        root: Path,
        key: str,
        clone_url: str,
        branch: str,
        base_branch: str,
        credentials: GitCredentials | None = None,
        author: GitAuthor = GitAuthor(),
        start_over: bool = False,
        clock: CommitClock | None = None,
    ) -> Workspace:
        """The workspace `root/<key>` on `branch`: cloned from `clone_url` and branched from
        origin/<base_branch>, or, when it already is a clone of `clone_url`, fetched and checked
        out where the branch got to (see `_start_point`). Anything else there is a `Conflict`.

        `start_over` (replays and forks) ignores the remote branch: the branch goes on from its
        local commits or starts from the base, and pushes replace the remote branch (with a
        lease: only if nobody moved it since this clone last saw it)."""
        if not _KEY.fullmatch(key):
            raise ValueError(f"workspace key {key!r} is not a plain file name")
        _refuse_credentials_in(clone_url)
        if Path(clone_url).exists():  # a local repository, which git records as an absolute path
            clone_url = os.path.abspath(clone_url)
        root = root.resolve()
        remote = _Remote.prepare(root / ".askpass", credentials, clone_url)
        path = root / key
        if path.exists():
            _check_reusable(path, clone_url)
            check_git_dir(path, clone_url)
            remote.run("fetch", "--quiet", "--prune", "origin", cwd=path)
        else:
            root.mkdir(parents=True, exist_ok=True)
            remote.run("clone", "--quiet", "--no-checkout", "--no-local", "--", clone_url, str(path))
        _exclude_tool_files(path)
        base = f"refs/remotes/origin/{base_branch}"
        if not _sha(path, base):
            raise NotFound(f"branch {base_branch!r} not found in {clone_url}", platform="git")
        start = _start_point(path, branch, base, ignore_remote=start_over)
        git("checkout", "--quiet", "--force", "--no-track", "-B", branch, start, cwd=path)
        git("clean", "--quiet", "-d", "--force", cwd=path)
        return cls(
            path,
            branch=branch,
            base_branch=base_branch,
            base_sha=git("merge-base", "HEAD", base, cwd=path).stdout.strip(),
            remote=remote,
            author=author,
            clock=clock,
            replaces_branch=start_over,
        )

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.path).stdout.strip()

    def changed_files(self) -> list[str]:
        """Paths that differ from `base_sha`: committed, staged, unstaged and untracked (not ignored)."""
        names = git("diff-tree", "-r", "-z", "--name-only", self.base_sha, self._snapshot(), cwd=self.path)
        return sorted(name for name in names.stdout.split("\0") if name)

    def has_uncommitted_changes(self) -> bool:
        return self._snapshot() != git("rev-parse", "HEAD^{tree}", cwd=self.path).stdout.strip()

    def tree_fingerprint(self) -> str:
        """A hash of the working tree's content (what `commit` would record); equal trees, equal hashes."""
        return self._snapshot()

    def commit(self, message: str) -> str | None:
        """Commit everything as the workspace's author; None when there is nothing to commit.

        The message often quotes an issue, so it goes through `message_text` (no NUL, no lone
        surrogate reaches git)."""
        check_git_dir(self.path, self._remote.url)
        _stage_all(self.path)
        if git("diff", "--cached", "--quiet", cwd=self.path, check=False).returncode == 0:
            return None
        dates = self._clock() if self._clock else None
        pinned = {"GIT_AUTHOR_DATE": dates[0], "GIT_COMMITTER_DATE": dates[1]} if dates else {}
        git(
            "commit",
            "--quiet",
            "--no-verify",
            "--message",
            message_text(message),
            cwd=self.path,
            env={**self._identity, **pinned},
        )
        return self.head()

    def commit_facts(self, sha: str) -> dict[str, str]:
        """What makes a commit's sha besides its parent and message: its tree and its dates."""
        shown = git("show", "--no-patch", "--date=raw", "--format=%T%n%ad%n%cd", sha, cwd=self.path)
        tree, author_date, committer_date = shown.stdout.splitlines()
        return {"tree": tree, "author_date": author_date, "committer_date": committer_date}

    def reset_to(self, sha: str) -> None:
        """Back to commit `sha`, untracked files removed (ignored ones stay)."""
        check_git_dir(self.path, self._remote.url)
        git("reset", "--quiet", "--hard", sha, cwd=self.path)
        git("clean", "--quiet", "-d", "--force", cwd=self.path)

    def push(self) -> None:
        """Push HEAD to the branch on origin; never forced, so a branch that moved is a `Conflict`
        (a workspace that started over replaces the branch, if it is where the clone saw it)."""
        check_git_dir(self.path, self._remote.url)
        lease = ("--force-with-lease",) if self._replaces_branch else ()
        self._remote.run("push", "--quiet", *lease, "origin", f"HEAD:refs/heads/{self.branch}", cwd=self.path)

    def cleanup(self) -> None:
        if self.path.exists():
            shutil.rmtree(self.path)

    def _snapshot(self) -> str:
        """The tree `commit` would record, staged in a copy of the index so the real one (what
        the agent staged) is left alone; the copy keeps git's cached file stats."""
        check_git_dir(self.path, self._remote.url)
        with tempfile.TemporaryDirectory(prefix="tamma-index-") as scratch:
            index = Path(scratch) / "index"
            if (self.path / ".git" / "index").exists():
                shutil.copy2(self.path / ".git" / "index", index)
            env = {"GIT_INDEX_FILE": str(index)}
            _stage_all(self.path, env)
            return git("write-tree", cwd=self.path, env=env).stdout.strip()


@dataclass(frozen=True)
class _Remote:
    """How the commands that talk to the remote `url` run: with the credentials in their
    environment only, and with errors that cannot carry the secret."""

    url: str
    env: dict[str, str] = field(repr=False)
    redactor: Redactor = field(repr=False)

    @classmethod
    def prepare(cls, askpass_dir: Path, credentials: GitCredentials | None, clone_url: str) -> _Remote:
        """Code run in the workspace can rewrite `.git/config` (the remote URL, `insteadOf`, a
        proxy): the askpass answers only prompts for the clone URL's host, so a fetch or push
        sent elsewhere gets no credentials."""
        if credentials is None:
            return cls(url=clone_url, env={}, redactor=Redactor())
        env = {
            "GIT_ASKPASS": str(_write_askpass(askpass_dir)),
            "TAMMA_GIT_HOST": urlsplit(clone_url).netloc,
            "TAMMA_GIT_USERNAME": credentials.username,
            "TAMMA_GIT_PASSWORD": credentials.password,
        }
        return cls(url=clone_url, env=env, redactor=Redactor(secrets=[credentials.password]))

    def run(self, verb: str, *args: str, cwd: Path | None = None) -> None:
        result = git(verb, *args, cwd=cwd, env=self.env, check=False)
        if result.returncode == 0:
            return
        lines = [line.strip() for line in result.stderr.splitlines() if line and not line.startswith("hint:")]
        rejected = next((line for line in lines if "[rejected]" in line), None)
        if rejected:
            raise Conflict(
                self.redactor.text(
                    f"git {verb} refused: {rejected}; the remote branch has commits this workspace lacks"
                ),
                platform="git",
            )
        detail = lines[-1] if lines else f"exit code {result.returncode}"
        raise PlatformError(self.redactor.text(f"git {verb} failed: {detail}"), platform="git")


def _write_askpass(directory: Path) -> Path:
    """The GIT_ASKPASS script, outside the workspaces so it is never committed; replaced
    atomically so a git running it concurrently never reads half a script."""
    script = directory / "askpass"
    if not script.exists() or script.read_text() != _ASKPASS_SCRIPT:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        staged = directory / f"askpass.{os.getpid()}"
        staged.write_text(_ASKPASS_SCRIPT)
        staged.chmod(0o700)
        staged.replace(script)
    return script


def _refuse_credentials_in(clone_url: str) -> None:
    """A URL with `user:password@` (or, over HTTP, a bare `token@`) would store the secret in
    .git/config; the message does not repeat the URL, since it holds the secret."""
    parts = urlsplit(clone_url)
    if parts.password is not None or (parts.scheme in ("http", "https") and parts.username is not None):
        raise InvalidReference(
            "the clone URL carries credentials; pass them as GitCredentials instead", platform="git"
        )


def _check_reusable(path: Path, clone_url: str) -> None:
    origin = ""
    if (path / ".git").is_dir():
        found = git("config", "--local", "--get", "remote.origin.url", cwd=path, check=False)
        origin = found.stdout.strip()
    if origin != clone_url:
        raise Conflict(
            f"{path} exists and is not a clone of {clone_url}; move it away or use another key",
            platform="git",
        )


def _stage_all(path: Path, env: dict[str, str] | None = None) -> None:
    """`git add --all`, except at submodule paths that hold a repository (see
    `nested_repositories`): staging one would run git inside it, so its gitlink stays as it was."""
    skipped = [f":(exclude,literal){nested}" for nested in nested_repositories(path, env)]
    git("add", "--all", "--", ".", *skipped, cwd=path, env=env)


def _exclude_tool_files(path: Path) -> None:
    exclude = path / ".git" / "info" / "exclude"
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    missing = [pattern for pattern in _EXCLUDED if pattern not in lines]
    if missing:
        exclude.parent.mkdir(exist_ok=True)
        exclude.write_text("\n".join([*lines, *missing]) + "\n")


def _start_point(path: Path, branch: str, base: str, *, ignore_remote: bool = False) -> str:
    """Where `branch` resumes: the local branch if it has commits the remote one lacks (kept, even
    if the remote moved: the push then says so), else the remote branch, else `base`."""
    remote = "" if ignore_remote else _sha(path, f"refs/remotes/origin/{branch}")
    local = _sha(path, f"refs/heads/{branch}")
    if local and not (remote and _is_ancestor(path, local, remote)):
        return local
    return remote or base


def _sha(path: Path, ref: str) -> str:
    result = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=path, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def _is_ancestor(path: Path, ancestor: str, descendant: str) -> bool:
    return git("merge-base", "--is-ancestor", ancestor, descendant, cwd=path, check=False).returncode == 0
