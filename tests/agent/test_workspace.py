"""The issue workspace on real git: clone, branch, fingerprint, commit, reset, push, reuse, and
credentials that reach a real smart-HTTP server without ever being written down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tamma.agent.workspace import (
    GitAuthor,
    GitCredentials,
    Workspace,
    branch_name,
    workspace_key,
    workspaces_dir,
)
from tamma.errors import Conflict, InvalidReference, NotFound, PlatformError, WorkspaceTampered
from tamma.git import git
from tamma.platforms import IssueRef
from tests.agent.git_http_server import git_http_server

BRANCH = "tamma/issue-1-fix-it"
TOKEN = "ghp_" + "A1b2C3d4E5" * 3 + "f6G7h8"
"""Shaped like a GitHub token, so tamma.redaction's patterns know it."""
PLAIN_PASSWORD = "correct-horse-battery-staple"
"""Shaped like nothing: only our own care keeps it out of messages."""
DEFAULT_AUTHOR = GitAuthor()


def make_remote(bare: Path) -> Path:
    """A bare repository at `bare` whose `main` has a README, a module and a .gitignore of *.log."""
    source = bare.parent / f"{bare.stem}-source"
    (source / "src").mkdir(parents=True)
    (source / "README.md").write_text("demo\n")
    (source / "src" / "app.py").write_text("print('hi')\n")
    (source / ".gitignore").write_text("*.log\n")
    git("init", "--quiet", "--initial-branch=main", cwd=source)
    git("add", "--all", cwd=source)
    git("commit", "--quiet", "-m", "Initial commit", cwd=source)
    git("clone", "--quiet", "--bare", str(source), str(bare))
    return bare


def push_elsewhere(remote: Path, work: Path, branch: str, files: dict[str, str]) -> str:
    """Someone else's commit of `files` on `branch` (from the remote's branch, else from main)."""
    git("clone", "--quiet", str(remote), str(work))
    found = git("rev-parse", "--verify", "--quiet", f"origin/{branch}", cwd=work, check=False)
    git(
        "checkout",
        "--quiet",
        "-B",
        branch,
        f"origin/{branch}" if found.returncode == 0 else "origin/main",
        cwd=work,
    )
    for name, text in files.items():
        (work / name).write_text(text)
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", "elsewhere", cwd=work)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def remote_sha(remote: Path, ref: str) -> str:
    return git("rev-parse", ref, cwd=remote).stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return make_remote(tmp_path / "remote.git")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workspaces"


def open_workspace(
    root: Path,
    remote: Path | str,
    *,
    key: str = "local-demo-1",
    credentials: GitCredentials | None = None,
    author: GitAuthor = DEFAULT_AUTHOR,
) -> Workspace:
    return Workspace.open(
        root=root,
        key=key,
        clone_url=str(remote),
        branch=BRANCH,
        base_branch="main",
        credentials=credentials,
        author=author,
    )


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Fix the parser's crash on `--help`!!", "tamma/issue-7-fix-the-parser-s-crash-on-help"),
        ("  Café crème: ÜBER straße ", "tamma/issue-7-cafe-creme-uber-strae"),
        ("日本語のタイトル", "tamma/issue-7"),
        ("!!! ???", "tamma/issue-7"),
        ("", "tamma/issue-7"),
        ("a" * 39 + " b c", "tamma/issue-7-" + "a" * 39),
        ("Make the workspace module handle very long issue titles gracefully", None),
    ],
)
def test_branch_name(title: str, expected: str | None) -> None:
    name = branch_name(7, title)
    if expected is not None:
        assert name == expected
    slug = name.removeprefix("tamma/issue-7-")
    assert len(slug) <= 40
    assert not slug.endswith("-")
    assert "--" not in name


def tool_cache(workspace: Workspace) -> Path:
    """A test runner's cache directory, which the workspace keeps out of git's view."""
    cache = workspace.path / ".pytest_cache"
    cache.mkdir(exist_ok=True)
    return cache


def test_fresh_open_clones_and_branches_from_the_base(root: Path, remote: Path) -> None:
    workspace = open_workspace(root, remote)
    assert workspace.path == root.resolve() / "local-demo-1"
    assert (workspace.branch, workspace.base_branch) == (BRANCH, "main")
    assert git("symbolic-ref", "--short", "HEAD", cwd=workspace.path).stdout.strip() == BRANCH
    assert workspace.base_sha == remote_sha(remote, "main") == workspace.head()
    assert (workspace.path / "src" / "app.py").read_text() == "print('hi')\n"
    assert workspace.changed_files() == []
    assert not workspace.has_uncommitted_changes()
    tool_cache(workspace).joinpath("state").write_text("tool state")
    assert git("status", "--porcelain", cwd=workspace.path).stdout == ""


def test_commit_as_the_author_or_nothing(root: Path, remote: Path) -> None:
    workspace = open_workspace(root, remote, author=GitAuthor("Ada Agent", "ada@example.com"))
    assert workspace.commit("nothing yet") is None
    (workspace.path / "src" / "app.py").write_text("print('hello')\n")
    sha = workspace.commit("Say hello")
    assert sha is not None
    assert sha == workspace.head() != workspace.base_sha
    log = git("log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", cwd=workspace.path).stdout.strip()
    assert log == "Ada Agent <ada@example.com>|Ada Agent <ada@example.com>|Say hello"
    assert workspace.commit("again") is None


def test_changed_files_covers_every_state_but_ignored(root: Path, remote: Path) -> None:
    workspace = open_workspace(root, remote)
    (workspace.path / "README.md").write_text("committed change\n")
    workspace.commit("Edit README")
    (workspace.path / "staged.py").write_text("x = 1\n")
    git("add", "staged.py", cwd=workspace.path)
    (workspace.path / "src" / "app.py").write_text("print('unstaged')\n")
    (workspace.path / "new dir").mkdir()
    (workspace.path / "new dir" / "untracked.txt").write_text("new\n")
    (workspace.path / ".gitignore").unlink()
    (workspace.path / "debug.log").write_text("ignored? not any more: .gitignore is gone\n")
    tool_cache(workspace).joinpath("state").write_text("never listed\n")
    assert workspace.changed_files() == [
        ".gitignore",
        "README.md",
        "debug.log",
        "new dir/untracked.txt",
        "src/app.py",
        "staged.py",
    ]
    assert workspace.has_uncommitted_changes()
    git("checkout", "--quiet", "HEAD", "--", ".gitignore", cwd=workspace.path)
    assert "debug.log" not in workspace.changed_files()
    assert git("diff", "--cached", "--name-only", cwd=workspace.path).stdout.split() == ["staged.py"]


def test_tree_fingerprint_follows_content_only(root: Path, remote: Path) -> None:
    workspace = open_workspace(root, remote)
    start = workspace.tree_fingerprint()
    assert workspace.tree_fingerprint() == start
    (workspace.path / "ignored.log").write_text("ignored\n")
    tool_cache(workspace).joinpath("cache").write_text("excluded\n")
    assert workspace.tree_fingerprint() == start

    (workspace.path / "README.md").write_text("edited\n")
    edited = workspace.tree_fingerprint()
    assert edited != start
    (workspace.path / "README.md").write_text("demo\n")
    assert workspace.tree_fingerprint() == start

    (workspace.path / "notes.txt").write_text("untracked\n")
    with_notes = workspace.tree_fingerprint()
    assert with_notes != start
    workspace.commit("Add notes")
    assert workspace.tree_fingerprint() == with_notes
    assert not workspace.has_uncommitted_changes()


def test_reset_to_drops_changes_but_not_ignored_files_or_caches(root: Path, remote: Path) -> None:
    workspace = open_workspace(root, remote)
    (workspace.path / "kept.txt").write_text("kept\n")
    sha = workspace.commit("Keep this")
    assert sha is not None
    before = workspace.tree_fingerprint()
    (workspace.path / "kept.txt").write_text("changed\n")
    (workspace.path / "README.md").unlink()
    (workspace.path / "scratch").mkdir()
    (workspace.path / "scratch" / "junk.py").write_text("junk\n")
    (workspace.path / "run.log").write_text("ignored\n")
    tool_cache(workspace).joinpath("cache").write_text("cached\n")
    workspace.commit("Undo me")

    workspace.reset_to(sha)
    assert workspace.head() == sha
    assert workspace.tree_fingerprint() == before
    assert (workspace.path / "kept.txt").read_text() == "kept\n"
    assert (workspace.path / "README.md").exists()
    assert not (workspace.path / "scratch").exists()
    assert (workspace.path / "run.log").exists()
    assert tool_cache(workspace).joinpath("cache").exists()


def test_push_lands_on_the_remote_and_never_overwrites(root: Path, remote: Path, tmp_path: Path) -> None:
    workspace = open_workspace(root, remote)
    (workspace.path / "fix.py").write_text("fixed = True\n")
    sha = workspace.commit("Fix")
    workspace.push()
    assert remote_sha(remote, BRANCH) == sha
    assert remote_sha(remote, "main") == workspace.base_sha

    theirs = push_elsewhere(remote, tmp_path / "other", BRANCH, {"other.txt": "theirs\n"})
    (workspace.path / "more.py").write_text("more = True\n")
    workspace.commit("More")
    with pytest.raises(Conflict, match=r"git push refused: .*HEAD -> tamma/issue-1-fix-it"):
        workspace.push()
    assert remote_sha(remote, BRANCH) == theirs


def test_reopening_a_key_resumes_the_branch(root: Path, remote: Path, tmp_path: Path) -> None:
    first = open_workspace(root, remote)
    (first.path / "fix.py").write_text("fixed = True\n")
    pushed = first.commit("Fix")
    first.push()
    (first.path / "local.py").write_text("not pushed\n")
    local = first.commit("Local only")
    (first.path / "half-done.py").write_text("the crashed attempt's edit\n")
    new_main = push_elsewhere(remote, tmp_path / "other", "main", {"main.txt": "moved on\n"})

    again = open_workspace(root, remote)
    assert again.path == first.path
    assert again.head() == local  # unpushed commits survive a retry
    assert again.base_sha == first.base_sha != new_main  # the fork point, not main's new tip
    assert not (again.path / "half-done.py").exists()
    assert again.changed_files() == ["fix.py", "local.py"]

    elsewhere = open_workspace(root, remote, key="local-demo-1-retry")
    assert elsewhere.branch == BRANCH
    assert elsewhere.head() == pushed
    assert elsewhere.base_sha == first.base_sha

    theirs = push_elsewhere(remote, tmp_path / "ahead", BRANCH, {"other.txt": "theirs\n"})
    assert open_workspace(root, remote, key="local-demo-1-retry").head() == theirs  # fast-forwarded


def test_a_relative_remote_path_is_reused_too(
    root: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(remote.parent)
    first = open_workspace(root, f"./{remote.name}")
    assert git("remote", "get-url", "origin", cwd=first.path).stdout.strip() == str(remote)
    assert open_workspace(root, remote.name).path == first.path


def test_a_key_holding_something_else_is_a_conflict(root: Path, remote: Path, tmp_path: Path) -> None:
    unrelated = root / "local-demo-1"
    unrelated.mkdir(parents=True)
    (unrelated / "notes.txt").write_text("mine\n")
    with pytest.raises(Conflict, match="is not a clone of"):
        open_workspace(root, remote)
    assert (unrelated / "notes.txt").read_text() == "mine\n"

    other_remote = make_remote(tmp_path / "other.git")
    open_workspace(root, other_remote, key="other-1")
    with pytest.raises(Conflict, match="is not a clone of"):
        open_workspace(root, remote, key="other-1")


def test_bad_arguments_are_refused(root: Path, remote: Path) -> None:
    with pytest.raises(InvalidReference, match="carries credentials") as caught:
        open_workspace(root, f"https://x-access-token:{PLAIN_PASSWORD}@example.com/o/r.git")
    assert PLAIN_PASSWORD not in str(caught.value)
    with pytest.raises(InvalidReference):
        open_workspace(root, f"https://{TOKEN}@example.com/o/r.git")
    with pytest.raises(ValueError, match="plain file name"):
        open_workspace(root, remote, key="../escape")
    with pytest.raises(NotFound, match="'develop' not found"):
        Workspace.open(root=root, key="k", clone_url=str(remote), branch=BRANCH, base_branch="develop")


def test_cleanup_deletes_the_workspace(root: Path, remote: Path) -> None:
    workspace = open_workspace(root, remote)
    workspace.cleanup()
    assert not workspace.path.exists()
    workspace.cleanup()


def test_credentials_keep_the_password_out_of_their_repr() -> None:
    github, gitlab = GitCredentials.for_github(TOKEN), GitCredentials.for_gitlab(TOKEN)
    assert (github.username, gitlab.username) == ("x-access-token", "oauth2")
    assert github.password == gitlab.password == TOKEN
    assert TOKEN not in repr(github) + repr(gitlab)


# -- over a real smart-HTTP server with Basic auth --------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Path:
    return make_remote(tmp_path / "served" / "demo.git")


@pytest.fixture(params=[TOKEN, PLAIN_PASSWORD], ids=["token", "plain-password"])
def password(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def http_url(served: Path, password: str) -> Iterator[str]:
    with git_http_server(served.parent, username="x-access-token", password=password) as base:
        yield f"{base}/demo.git"


@pytest.fixture
def helper_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user whose ~/.gitconfig would store every credential git uses in a plain file."""
    home = tmp_path / "home"
    home.mkdir()
    store = home / "stored-credentials"
    (home / ".gitconfig").write_text(f"[credential]\n\thelper = store --file={store}\n")
    monkeypatch.setenv("HOME", str(home))
    return store


def test_clone_commit_push_over_http_without_writing_the_password(
    root: Path, served: Path, http_url: str, password: str, helper_store: Path
) -> None:
    workspace = open_workspace(root, http_url, credentials=GitCredentials.for_github(password))
    assert workspace.base_sha == remote_sha(served, "main")
    (workspace.path / "fix.py").write_text("fixed = True\n")
    sha = workspace.commit("Fix")
    spy = root.parent / "hook-saw"
    hooks = [workspace.path / ".git" / "hooks" / hook for hook in ("pre-push", "reference-transaction")]
    for script in hooks:  # as code run in the workspace could plant
        script.write_text(f"#!/bin/sh\nenv >> '{spy}'\n")
        script.chmod(0o755)
    with pytest.raises(WorkspaceTampered, match="hooks/pre-push"):
        workspace.push()
    assert not spy.exists()  # no hook ran with the password in its environment
    for script in hooks:
        script.unlink()
    workspace.push()
    assert remote_sha(served, BRANCH) == sha
    assert open_workspace(root, http_url, credentials=GitCredentials.for_github(password)).head() == sha

    assert git("remote", "get-url", "origin", cwd=workspace.path).stdout.strip() == http_url
    assert password not in (workspace.path / ".git" / "config").read_text()
    assert not helper_store.exists()
    written = [path for path in root.rglob("*") if path.is_file() and password.encode() in path.read_bytes()]
    assert written == []


def test_a_wrong_or_missing_password_fails_without_echoing_it(
    root: Path, http_url: str, password: str
) -> None:
    wrong = password[:4] + "Z" * (len(password) - 4)  # the same shape, so redaction patterns apply alike
    with pytest.raises(PlatformError, match=r"git clone failed: .*Authentication failed") as caught:
        open_workspace(root, http_url, credentials=GitCredentials.for_github(wrong))
    assert wrong not in str(caught.value)
    assert password not in str(caught.value)
    assert not (root / "local-demo-1").exists()  # nothing half-cloned for the retry to trip on

    with pytest.raises(PlatformError, match="git clone failed"):
        open_workspace(root, http_url)


def test_a_remote_rewritten_from_inside_the_workspace_gets_no_credentials(
    root: Path, served: Path, http_url: str, password: str
) -> None:
    workspace = open_workspace(root, http_url, credentials=GitCredentials.for_github(password))
    offered: list[str] = []
    (workspace.path / "fix.py").write_text("fixed = True\n")
    workspace.commit("Fix")
    with git_http_server(served.parent, username="x", password="y", offered=offered) as elsewhere:
        # What a test or build script run in the workspace could do to steal the token.
        (workspace.path / ".git" / "config").write_text(
            (workspace.path / ".git" / "config").read_text().replace(http_url, f"{elsewhere}/demo.git")
        )
        with pytest.raises(WorkspaceTampered, match=r"remote\.origin\.url"):
            workspace.push()
    assert offered == []


@pytest.mark.parametrize(
    ("reference", "key"),
    [
        ("github:octo/hello-world#12", "github-octo-hello-world-12"),
        ("gitlab:group/sub/my.project#7", "gitlab-group-sub-my.project-7"),
        ("local:demo#1", "local-demo-1"),
    ],
)
def test_one_workspace_key_per_issue(reference: str, key: str, tmp_path: Path) -> None:
    assert workspace_key(IssueRef.parse(reference)) == key
    assert workspaces_dir(tmp_path) == tmp_path / "workspaces"
