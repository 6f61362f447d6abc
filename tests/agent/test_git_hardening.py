"""Tamma's own git runs nothing that code in the workspace planted, and leaks the token nowhere.

Code run in a workspace (tests, build scripts) writes the working tree and, without a sandbox,
`.git/` too. Each attack plants a command that leaves `spy/pwned-<name>` and a copy of its
environment (where a push or fetch keeps the password) in `spy/`. Tamma either ignores what
was planted or refuses with `WorkspaceTampered` before running git; the tests pin which, and
in both cases the command never runs and no file holds the token.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tamma.agent.workspace import GitCredentials, Workspace
from tamma.errors import WorkspaceTampered
from tamma.git import git
from tamma.platforms import init_local_platform
from tests.agent.git_http_server import git_http_server
from tests.agent.test_workspace import BRANCH, TOKEN, make_remote, open_workspace

CREDENTIALS = GitCredentials.for_github(TOKEN)


def plant_command(tmp: Path, name: str, at: Path | None = None) -> str:
    """An executable (at `at`, else in `tmp/planted/`) that leaves `pwned-<name>` and its
    environment in `tmp/spy/`; its path."""
    script = at or tmp / "planted" / name
    script.parent.mkdir(parents=True, exist_ok=True)
    spy = tmp / "spy"
    spy.mkdir(exist_ok=True)
    script.write_text(f"#!/bin/sh\nenv > '{spy}/env-{name}'\ntouch '{spy}/pwned-{name}'\n")
    script.chmod(0o755)
    return str(script)


def assert_nothing_ran(tmp: Path) -> None:
    """No planted command ran (they all write to `tmp/spy/`, which planting one creates), and no
    file under `tmp` holds the token."""
    ran = sorted(path.name for path in (tmp / "spy").iterdir()) if (tmp / "spy").exists() else []
    assert ran == []
    leaked = [path for path in tmp.rglob("*") if path.is_file() and TOKEN.encode() in path.read_bytes()]
    assert leaked == []


def has_branch(repository: Path) -> bool:
    found = git("rev-parse", "--verify", "--quiet", f"refs/heads/{BRANCH}", cwd=repository, check=False)
    return found.returncode == 0


@dataclass
class Scene:
    """A workspace cloned with credentials, with a commit to push and a change to commit, and
    `elsewhere`: a bare repository whose pre-receive hook is a spy (a redirected push lands there)."""

    tmp: Path
    remote: Path
    elsewhere: Path
    workspace: Workspace

    def command(self, name: str, at: Path | None = None) -> str:
        return plant_command(self.tmp, name, at)

    def assert_nothing_ran(self) -> None:
        assert_nothing_ran(self.tmp)
        assert not has_branch(self.elsewhere)


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    remote = make_remote(tmp_path / "remote.git")
    elsewhere = make_remote(tmp_path / "elsewhere.git")
    plant_command(tmp_path, "elsewhere-pre-receive", at=elsewhere / "hooks" / "pre-receive")
    workspace = open_workspace(tmp_path / "workspaces", remote, credentials=CREDENTIALS)
    (workspace.path / "fix.py").write_text("fixed = True\n")
    workspace.commit("Fix")
    (workspace.path / "more.py").write_text("more = True\n")
    return Scene(tmp_path, remote, elsewhere, workspace)


ACTIONS: dict[str, Callable[[Scene], object]] = {
    "commit": lambda scene: scene.workspace.commit("More"),
    "push": lambda scene: scene.workspace.push(),
    "reopen": lambda scene: open_workspace(
        scene.workspace.path.parent, scene.remote, credentials=CREDENTIALS
    ),
    "fingerprint": lambda scene: scene.workspace.tree_fingerprint(),
    "reset": lambda scene: scene.workspace.reset_to(scene.workspace.base_sha),
}


def assert_refused(scene: Scene, action: str, *, named: str, planted_value: str) -> None:
    with pytest.raises(WorkspaceTampered) as caught:
        ACTIONS[action](scene)
    assert named in str(caught.value)
    assert planted_value not in str(caught.value)
    scene.assert_nothing_ran()


@pytest.mark.parametrize(
    ("planted", "named", "action"),
    [
        pytest.param(
            '[remote "origin"]\n\treceivepack = {command}',
            "remote.origin.receivepack",
            "push",
            id="receivepack",
        ),
        pytest.param(
            '[remote "origin"]\n\tuploadpack = {command}',
            "remote.origin.uploadpack",
            "reopen",
            id="uploadpack",
        ),
        pytest.param(
            "[core]\n\thooksPath = {githooks}", "core.hookspath", "commit", id="hooksPath-in-the-tree"
        ),
        pytest.param("[core]\n\tfsmonitor = {command}", "core.fsmonitor", "fingerprint", id="fsmonitor"),
        pytest.param('[filter "x"]\n\tclean = {command}', "filter.x.clean", "commit", id="filter"),
        pytest.param("[diff]\n\texternal = {command}", "diff.external", "commit", id="diff.external"),
        pytest.param('[url "{elsewhere}"]\n\tinsteadOf = {remote}', ".insteadof", "push", id="insteadOf"),
        pytest.param(
            '[url "{elsewhere}"]\n\tpushInsteadOf = {remote}', ".pushinsteadof", "push", id="pushInsteadOf"
        ),
        pytest.param('[remote "origin"]\n\turl = {elsewhere}', "remote.origin.url", "push", id="second-url"),
        pytest.param(
            '[remote "origin"]\n\tpushurl = {elsewhere}', "remote.origin.pushurl", "push", id="pushurl"
        ),
        pytest.param("[core]\n\tsshCommand = {command}", "core.sshcommand", "push", id="sshCommand"),
        pytest.param(
            "[credential]\n\thelper = !{command}", "credential.helper", "push", id="credential.helper"
        ),
        pytest.param("[include]\n\tpath = {included}", "include.path", "commit", id="include.path"),
        pytest.param('[includeIf "gitdir:/"]\n\tpath = {included}', "includeif.", "commit", id="includeIf"),
        pytest.param("[core]\n\tworktree = {outside}", "core.worktree", "commit", id="worktree-outside"),
        pytest.param(
            "[commit]\n\tgpgSign = true\n[gpg]\n\tprogram = {command}", "commit.gpgsign", "commit", id="gpg"
        ),
    ],
)
def test_a_planted_config_key_is_refused(scene: Scene, planted: str, named: str, action: str) -> None:
    tree = scene.workspace.path
    (tree / ".gitattributes").write_text("* filter=x\n")
    githooks = tree / "githooks"
    for hook in ("pre-commit", "commit-msg", "post-commit", "pre-push", "post-checkout"):
        scene.command(f"githooks-{hook}", at=githooks / hook)
    included = scene.tmp / "planted" / "included.gitconfig"
    included.parent.mkdir(exist_ok=True)
    included.write_text(f"[core]\n\thooksPath = {githooks}\n\tfsmonitor = {scene.command('included')}\n")
    outside = scene.tmp / "outside"
    outside.mkdir()
    (outside / "outside.txt").write_text("not the workspace's\n")
    values = {
        "command": scene.command("config"),
        "githooks": str(githooks),
        "included": str(included),
        "outside": str(outside),
        "remote": str(scene.remote),
        "elsewhere": str(scene.elsewhere),
    }
    config = tree / ".git" / "config"
    config.write_text(config.read_text() + planted.format(**values) + "\n")
    planted_value = planted.rsplit("= ", 1)[1].format(**values)
    assert_refused(scene, action, named=named, planted_value=planted_value)


HOOK = "#!/bin/sh\nexec {command}\n"


@pytest.mark.parametrize(
    ("planted", "content", "action"),
    [
        pytest.param(planted, content, action, id=planted)
        for planted, content, action in [
            ("hooks/pre-commit", HOOK, "commit"),
            ("hooks/prepare-commit-msg", HOOK, "commit"),
            ("hooks/commit-msg", HOOK, "commit"),
            ("hooks/post-commit", HOOK, "commit"),
            ("hooks/pre-push", HOOK, "push"),
            ("hooks/reference-transaction", HOOK, "reset"),
            ("hooks/post-checkout", HOOK, "reopen"),
            ("info/attributes", "* filter=x\n", "commit"),
            ("objects/info/alternates", "{elsewhere}/objects\n", "commit"),
            ("commondir", "{elsewhere}\n", "commit"),
            ("config.worktree", "[core]\n\tfsmonitor = {command}\n", "fingerprint"),
        ]
    ],
)
def test_a_planted_git_file_is_refused(scene: Scene, planted: str, content: str, action: str) -> None:
    path = scene.workspace.path / ".git" / planted
    values = {"command": scene.command(planted.replace("/", "-")), "elsewhere": str(scene.elsewhere)}
    path.write_text(content.format(**values))
    path.chmod(0o755)
    assert_refused(scene, action, named=f".git/{planted}", planted_value=path.read_text().split()[-1])


@pytest.mark.parametrize("how", ["gitdir-file", "symlink", "removed-under-another-repository"])
def test_a_git_dir_moved_away_is_refused(scene: Scene, how: str) -> None:
    git_dir = scene.workspace.path / ".git"
    moved = scene.tmp / "moved.git"
    if how == "removed-under-another-repository":  # git would find the repository around the workspace
        shutil.rmtree(git_dir)
        git("init", "--quiet", cwd=scene.tmp)
        moved = scene.tmp / ".git"
    else:
        git_dir.rename(moved)
        if how == "symlink":
            git_dir.symlink_to(moved)
        else:
            git_dir.write_text(f"gitdir: {moved}\n")
    scene.command("moved-pre-commit", at=moved / "hooks" / "pre-commit")
    with (moved / "config").open("a") as config:
        config.write(f"[core]\n\tfsmonitor = {scene.command('moved-fsmonitor')}\n")
    assert_refused(scene, "commit", named=".git", planted_value=str(moved))


@pytest.mark.parametrize("config_file", [".gitconfig", ".config/git/config"])
def test_the_users_own_git_config_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_file: str
) -> None:
    home = tmp_path / "home"
    hooks = home / "hooks"
    for hook in ("pre-commit", "post-commit", "post-checkout", "pre-push", "reference-transaction"):
        plant_command(tmp_path, f"home-{hook}", at=hooks / hook)
    (home / "attributes").write_text("* filter=x\n")
    command = plant_command(tmp_path, "home-config")
    (home / config_file).parent.mkdir(parents=True, exist_ok=True)
    (home / config_file).write_text(
        f"[core]\n\tfsmonitor = {command}\n\thooksPath = {hooks}\n\tattributesFile = {home}/attributes\n"
        f'[filter "x"]\n\tclean = {command}\n\tsmudge = {command}\n'
        f'[remote "origin"]\n\tuploadpack = {command}\n\treceivepack = {command}\n'
    )
    monkeypatch.setenv("HOME", str(home))
    remote = make_remote(tmp_path / "remote.git")
    workspace = open_workspace(tmp_path / "workspaces", remote, credentials=CREDENTIALS)
    (workspace.path / "fix.py").write_text("fixed = True\n")
    sha = workspace.commit("Fix")
    workspace.push()
    workspace.reset_to(workspace.base_sha)
    assert open_workspace(tmp_path / "workspaces", remote, credentials=CREDENTIALS).head() == sha
    assert_nothing_ran(tmp_path)


def test_a_repository_nested_in_the_tree_runs_nothing_on_commit(scene: Scene) -> None:
    """Staging a directory that holds a repository makes git run `git status` in it, under that
    repository's own config, which code in the workspace writes."""
    nested = scene.workspace.path / "vendored"
    nested.mkdir()
    git("init", "--quiet", cwd=nested)
    (nested / ".gitattributes").write_text("* filter=x\n")
    (nested / "data.txt").write_text("data\n")
    git("add", "--all", cwd=nested)
    git("commit", "--quiet", "-m", "nested", cwd=nested)
    with (nested / ".git" / "config").open("a") as config:
        config.write(f'[filter "x"]\n\tclean = {scene.command("nested-clean")}\n')
    assert scene.workspace.commit("More") is not None
    (nested / "data.txt").write_text("changed\n")
    (scene.workspace.path / "later.py").write_text("later = True\n")
    scene.workspace.tree_fingerprint()
    assert scene.workspace.commit("Later") is not None
    scene.assert_nothing_ran()


def test_fetch_does_not_recurse_into_a_repository_planted_at_a_submodule_path(tmp_path: Path) -> None:
    """A fetch whose new commits move a submodule fetches inside it by default, with the
    password in its environment and the nested repository's own remotes."""
    remote = make_remote(tmp_path / "remote.git")
    source = tmp_path / "remote-source"
    (source / ".gitmodules").write_text('[submodule "lib"]\n\tpath = lib\n\turl = ../lib\n')

    def move_submodule(sha: str) -> None:
        git("update-index", "--add", "--cacheinfo", f"160000,{sha},lib", cwd=source)
        git("add", ".gitmodules", cwd=source)
        git("commit", "--quiet", "-m", f"lib at {sha[:7]}", cwd=source)
        git("push", "--quiet", str(remote), "HEAD:refs/heads/main", cwd=source)

    move_submodule("1" * 40)
    workspace = open_workspace(tmp_path / "workspaces", remote, credentials=CREDENTIALS)
    nested = workspace.path / "lib"
    git("init", "--quiet", "--initial-branch=main", cwd=nested)
    git("commit", "--quiet", "--allow-empty", "-m", "nested", cwd=nested)
    with (nested / ".git" / "config").open("a") as config:
        command = plant_command(tmp_path, "nested-uploadpack")
        config.write(
            f'[branch "main"]\n\tremote = evil\n[remote "evil"]\n\turl = {remote}\n\tuploadpack = {command}\n'
        )
    move_submodule("2" * 40)
    open_workspace(tmp_path / "workspaces", remote, credentials=CREDENTIALS)
    assert_nothing_ran(tmp_path)


@contextmanager
def proxy_listener() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback 'proxy': records the first bytes of each connection and hangs up."""
    received: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                received.append(connection.recv(65536))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", received
    finally:
        stop.set()
        thread.join()
        listener.close()


@pytest.mark.parametrize(
    ("section", "named"),
    [("[http]", "http.proxy"), ('[remote "origin"]', "remote.origin.proxy"), ('[http "{url}"]', ".proxy")],
)
def test_a_planted_proxy_never_sees_the_credentialed_push(tmp_path: Path, section: str, named: str) -> None:
    served = make_remote(tmp_path / "served" / "demo.git")
    with (
        git_http_server(served.parent, username="x-access-token", password=TOKEN) as base,
        proxy_listener() as (proxy, received),
    ):
        url = f"{base}/demo.git"
        workspace = open_workspace(tmp_path / "workspaces", url, credentials=CREDENTIALS)
        (workspace.path / "fix.py").write_text("fixed = True\n")
        workspace.commit("Fix")
        with (workspace.path / ".git" / "config").open("a") as config:
            config.write(f"{section.format(url=url)}\n\tproxy = {proxy}\n")
        with pytest.raises(WorkspaceTampered, match=named) as caught:
            workspace.push()
        assert proxy not in str(caught.value)
    assert received == []
    assert_nothing_ran(tmp_path)


def object_files(objects: Path) -> set[tuple[int, int]]:
    return {(path.stat().st_dev, path.stat().st_ino) for path in objects.rglob("*") if path.is_file()}


def test_a_local_clone_shares_no_object_file_with_the_remote(tmp_path: Path) -> None:
    """Hard-linked objects would let code that rewrites the workspace's objects rewrite the remote's."""
    remote = make_remote(tmp_path / "remote.git")
    workspace = open_workspace(tmp_path / "workspaces", remote)
    assert object_files(workspace.path / ".git" / "objects")
    assert not object_files(remote / "objects") & object_files(workspace.path / ".git" / "objects")


def test_a_local_platform_shares_no_object_file_with_the_users_repository(tmp_path: Path) -> None:
    source = make_remote(tmp_path / "remote.git").parent / "remote-source"
    platform = init_local_platform(source, tmp_path / "platform")
    assert object_files(platform.remote / "objects")
    assert not object_files(source / ".git" / "objects") & object_files(platform.remote / "objects")


@pytest.mark.parametrize(
    ("planted", "args"),
    [
        pytest.param("", ("commit", "--quiet", "-m", "x"), id="hooks-in-.git/hooks"),
        pytest.param(
            "[core]\n\thooksPath = {tmp}/planted/hooks", ("commit", "--quiet", "-m", "x"), id="hooksPath"
        ),
        pytest.param("[core]\n\tfsmonitor = {command}", ("add", "--all"), id="fsmonitor"),
        pytest.param(
            "[commit]\n\tgpgSign = true\n[gpg]\n\tprogram = {command}",
            ("commit", "--quiet", "-m", "x"),
            id="gpg",
        ),
        pytest.param(
            '[remote "origin"]\n\treceivepack = {command}',
            ("push", "--quiet", "origin", "HEAD:x"),
            id="receivepack",
        ),
        pytest.param(
            '[remote "origin"]\n\tuploadpack = {command}', ("fetch", "--quiet", "origin"), id="uploadpack"
        ),
    ],
)
def test_tamma_git_ignores_command_keys_even_where_nothing_checked_them(
    tmp_path: Path, planted: str, args: tuple[str, ...]
) -> None:
    """The defence under the config check: a key planted after the check (or in a repository
    Tamma never checks) still runs nothing through `tamma.git.git`."""
    remote = make_remote(tmp_path / "remote.git")
    work = tmp_path / "work"
    git("clone", "--quiet", str(remote), str(work))
    for hook in ("pre-commit", "commit-msg", "post-commit", "pre-push", "reference-transaction"):
        plant_command(tmp_path, f"git-hooks-{hook}", at=work / ".git" / "hooks" / hook)
        plant_command(tmp_path, f"hooksPath-{hook}", at=tmp_path / "planted" / "hooks" / hook)
    with (work / ".git" / "config").open("a") as config:
        config.write(planted.format(tmp=tmp_path, command=plant_command(tmp_path, "config")) + "\n")
    (work / "change.txt").write_text("change\n")
    git("add", "--all", cwd=work)
    git(*args, cwd=work, env={"TAMMA_GIT_PASSWORD": TOKEN}, check=False)
    assert_nothing_ran(tmp_path)
