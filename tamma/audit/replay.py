"""What a replay works in: a scratch directory, an offline origin holding the recorded base
commit, and the recorded commit dates.

The replay's workspace is a fresh clone of that origin, so the code the agent reads and the
tests it runs are exactly what the recorded run started from, and nothing the replay pushes
reaches the real repository. The base commit comes from the run's own workspace when it is
still there (offline, whatever the forge), else from the recorded clone URL.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tamma.agent.workspace import CommitClock, workspace_key, workspaces_dir
from tamma.audit.recording import Recording, RunNotRecorded
from tamma.git import git

__all__ = ["Scratch", "commit_clock", "prepare_origin", "recorded_workspace_path"]


@dataclass(frozen=True)
class Scratch:
    """A replay's own directory under `$TAMMA_HOME/replays`: its event store, origin and workspaces."""

    root: Path

    @classmethod
    def create(cls, home: Path, run_id: str) -> Scratch:
        parent = home / "replays"
        parent.mkdir(parents=True, exist_ok=True)
        return cls(Path(tempfile.mkdtemp(prefix=f"{run_id}-", dir=parent)))

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.root / 'events.db'}"

    @property
    def origin(self) -> Path:
        return self.root / "origin.git"

    @property
    def workspaces(self) -> Path:
        return self.root / "workspaces"

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def recorded_workspace_path(recording: Recording, home: Path) -> str:
    """Where the recorded run's workspace was (recorded since WORKSPACE.OPENED has a `path`)."""
    started = recording.workspace or {}
    return str(started.get("path") or workspaces_dir(home) / workspace_key(recording.ref))


def prepare_origin(origin: Path, recording: Recording, sources: Sequence[str]) -> str:
    """A bare repository at `origin` whose base branch is the recorded base commit, fetched from
    the first of `sources` that has it; its path, which the replay platform serves as the clone URL."""
    started = recording.workspace
    if started is None:
        raise RunNotRecorded(f"run {recording.run_id} never opened a workspace")
    base_sha, base_branch = started["base_sha"], started["base_branch"]
    git("init", "--quiet", "--bare", str(origin))
    for source in sources:
        if not source or not _fetch_everything(origin, source):
            continue
        if git("cat-file", "-e", f"{base_sha}^{{commit}}", cwd=origin, check=False).returncode == 0:
            git("update-ref", f"refs/heads/{base_branch}", base_sha, cwd=origin)
            git("symbolic-ref", "HEAD", f"refs/heads/{base_branch}", cwd=origin)
            _drop_fetched_refs(origin)
            return str(origin)
    tried = " or ".join(source for source in sources if source)
    raise RunNotRecorded(f"the base commit {base_sha[:10]} of run {recording.run_id} is not in {tried}")


def commit_clock(recording: Recording) -> CommitClock:
    """The recorded commit dates in order, then None (now): a fork's live commits are new."""
    dates: Iterator[tuple[str, str]] = recording.commit_dates()
    return lambda: next(dates, None)


def _fetch_everything(origin: Path, source: str) -> bool:
    fetched = git("fetch", "--quiet", "--no-tags", source, "+refs/*:refs/fetched/*", cwd=origin, check=False)
    return fetched.returncode == 0


def _drop_fetched_refs(origin: Path) -> None:
    """Only the base branch stays visible (the objects stay), so the clone has no other branch."""
    for ref in git("for-each-ref", "--format=%(refname)", "refs/fetched/", cwd=origin).stdout.split():
        git("update-ref", "-d", ref, cwd=origin)
