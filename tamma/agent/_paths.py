"""Confinement of the model's file access to its workspace.

A path the model gives is relative to the workspace root and must stay inside it once every
symlink is resolved: `../`, absolute paths and a symlink pointing out are refused, and
nothing under `.git/` may be written (hooks and config there would run code on our side).
`.git` is matched as case-insensitive and Windows file systems read a name (`.GIT`, `.git.`,
`.git `), since a workspace may live on one. A name that is no file name (a NUL, a lone
surrogate) and a symlink loop are refused here too, so no tool meets them as an exception.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["Refused", "confined_path", "first_lone_surrogate", "names_git_metadata", "relative_name"]


class Refused(Exception):
    """A tool call outside the policy; the message goes back to the model as the tool's error."""


def confined_path(root: Path, given: str, *, for_writing: bool = False, absolute_ok: bool = False) -> Path:
    """The real path of `given` inside `root`, or `Refused` saying why not.

    `absolute_ok` lets an absolute path through when it resolves inside `root`: command lines
    name files that way, the file tools never need to."""
    if not given:
        raise Refused("a path is required (relative to the workspace root)")
    if "\0" in given:
        raise Refused(f"{given!r} contains a NUL byte, which no file name can hold")
    if first_lone_surrogate(given) is not None:
        raise Refused(f"{given!r} is not valid Unicode text, so it names no file")
    if given.startswith("~") or (Path(given).is_absolute() and not absolute_ok):
        raise Refused(f"{given!r} is absolute; use a path relative to the workspace root")
    real_root = root.resolve()
    # realpath, not Path.resolve: it leaves a symlink loop unresolved instead of raising.
    resolved = Path(os.path.realpath(real_root / given))
    if resolved != real_root and real_root not in resolved.parents:
        raise Refused(f"{given!r} resolves outside the workspace; only files inside it are reachable")
    if any(os.path.islink(part) for part in (resolved, *resolved.parents)):
        raise Refused(f"{given!r} is a symlink loop; it names no file")
    if for_writing and names_git_metadata(relative_name(real_root, resolved)):
        raise Refused(f"{given!r} is inside .git/ (in any spelling), which is not writable")
    return resolved


def names_git_metadata(relative: str) -> bool:
    """Whether a component of the workspace-relative `relative` is `.git` as a case-insensitive
    file system, or Windows (which drops trailing dots and spaces), would read it."""
    return any(part.rstrip(". ").lower() == ".git" for part in relative.split("/"))


def first_lone_surrogate(value: str) -> int | None:
    """Where `value` stops being encodable text, or None: JSON lets the model send lone
    surrogates, which no file name, file content or program argument can carry."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as invalid:
        return invalid.start
    return None


def relative_name(root: Path, path: Path) -> str:
    """`path` as the model names it: relative to the workspace root, with forward slashes."""
    relative = path.relative_to(root.resolve()).as_posix()
    return "." if relative in ("", ".") else relative
