"""Confinement of the model's file access to its workspace.

A path the model gives is relative to the workspace root and must stay inside it once every
symlink is resolved: `../`, absolute paths and a symlink pointing out are refused, and
nothing under `.git/` may be written (hooks and config there would run code on our side).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["Refused", "confined_path", "relative_name"]

_PROTECTED_FOR_WRITING = (".git",)


class Refused(Exception):
    """A tool call outside the policy; the message goes back to the model as the tool's error."""


def confined_path(root: Path, given: str, *, for_writing: bool = False) -> Path:
    """The real path of `given` inside `root`, or `Refused` saying why not."""
    if not given or "\0" in given:
        raise Refused("a path is required (relative to the workspace root)")
    if Path(given).is_absolute() or given.startswith("~"):
        raise Refused(f"{given!r} is absolute; use a path relative to the workspace root")
    real_root = root.resolve()
    resolved = (real_root / given).resolve()
    if resolved != real_root and real_root not in resolved.parents:
        raise Refused(f"{given!r} resolves outside the workspace; only files inside it are reachable")
    if for_writing and relative_name(real_root, resolved).split("/")[0] in _PROTECTED_FOR_WRITING:
        raise Refused(f"{given!r} is inside .git/, which is not writable")
    return resolved


def relative_name(root: Path, path: Path) -> str:
    """`path` as the model names it: relative to the workspace root, with forward slashes."""
    relative = path.relative_to(root.resolve()).as_posix()
    return "." if relative in ("", ".") else relative
