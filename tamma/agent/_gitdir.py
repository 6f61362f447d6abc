"""Is a workspace's git directory still what Tamma's clone made? Checked before Tamma runs git
there, since code run in the workspace can write `.git/` when no sandbox stops it.

`tamma.git` overrides the single-valued config keys that run commands; the rest (driver
families named by `.gitattributes`, `url.<base>.insteadOf`, `include.path`, `core.worktree`,
see its docstring) only the repository's own files can set, so the check holds them to what a
clone writes:

- `.git` is a real directory: not a `gitdir:` file or a symlink to another repository, and not
  missing, which would make git use whatever repository surrounds the workspace;
- `.git/config` is a regular file with only the keys `git clone` writes (`_CLONE_KEYS`, and
  `branch.<name>.remote|merge`), `remote.origin.url` being the clone URL, once;
- `.git/hooks/` holds only git's `*.sample` files, which never run (git runs a hook by its exact
  name); Tamma runs no hooks anyway;
- `commondir` (another repository's config, refs and objects), `config.worktree`,
  `objects/info/alternates` (another object store) and `info/attributes` do not exist: a clone
  writes none of them.

The config is listed by `git config --file ... --no-includes`: it parses exactly as git does and
runs nothing. A violation is `WorkspaceTampered`, naming the key or file but not its value,
which may be an attack string or a secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tamma.errors import WorkspaceTampered
from tamma.git import git

__all__ = ["check_git_dir", "nested_repositories"]

_CLONE_KEYS = frozenset(
    {
        "core.repositoryformatversion",
        "core.filemode",
        "core.bare",
        "core.logallrefupdates",
        "core.ignorecase",  # on case-insensitive file systems
        "core.precomposeunicode",  # on macOS
        "core.symlinks",  # where symlinks are not supported
        "remote.origin.url",
        "remote.origin.fetch",
    }
)
_BRANCH_KEYS = ("remote", "merge")
_NEVER_WRITTEN = ("commondir", "config.worktree", "objects/info/alternates", "info/attributes")
_GITLINK_MODE = "160000"


def check_git_dir(worktree: Path, clone_url: str) -> None:
    """Raise `WorkspaceTampered` unless `worktree/.git` is as described in the module docstring."""
    git_dir = worktree / ".git"
    if git_dir.is_symlink() or not git_dir.is_dir():
        raise _tampered(".git")
    for name in _NEVER_WRITTEN:
        if os.path.lexists(git_dir / name):
            raise _tampered(f".git/{name}")
    hooks = git_dir / "hooks"
    for name in sorted(os.listdir(hooks)) if hooks.is_dir() else []:
        if not name.endswith(".sample"):
            raise _tampered(f".git/hooks/{name}")
    config = git_dir / "config"
    if config.is_symlink() or not config.is_file():
        raise _tampered(".git/config")
    listed = git("config", "--file", str(config), "--list", "--null", "--no-includes", cwd=worktree)
    urls = []
    for entry in filter(None, listed.stdout.split("\0")):
        key, has_value, value = entry.partition("\n")
        if key == "remote.origin.url":
            urls.append(value if has_value else None)
        elif key not in _CLONE_KEYS and not _is_branch_key(key):
            raise _tampered(f".git/config ({key})")
    if urls != [clone_url]:
        raise _tampered(".git/config (remote.origin.url)")


def nested_repositories(worktree: Path, env: Mapping[str, str] | None = None) -> list[str]:
    """The submodule paths in the index (`env` may name another one) whose directory holds a
    repository. `git add` on one runs `git status` inside it, under that repository's own config
    and attributes, which code in the workspace can write: a clean filter there would run."""
    staged = git("ls-files", "-z", "--stage", cwd=worktree, env=env).stdout.split("\0")
    gitlinks = (entry.partition("\t")[2] for entry in staged if entry.startswith(f"{_GITLINK_MODE} "))
    return [path for path in gitlinks if os.path.lexists(worktree / path / ".git")]


def _is_branch_key(key: str) -> bool:
    section, _, rest = key.partition(".")
    name, _, variable = rest.rpartition(".")
    return section == "branch" and bool(name) and variable in _BRANCH_KEYS


def _tampered(what: str) -> WorkspaceTampered:
    shown = ascii(what)[1:-1]  # names come from the file system and the config: no control characters
    return WorkspaceTampered(
        f"the workspace's {shown} was changed outside Tamma; refusing to run git there", platform="git"
    )
