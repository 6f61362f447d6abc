"""`tamma bench` as a real subprocess, in a private TAMMA_HOME with no model keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tamma.git import git

TAMMA = Path(sys.executable).with_name("tamma")


def run_tamma(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI's exit code, stdout and stderr; settings only from `home` and `env`."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TAMMA_") and not name.endswith(("_API_KEY", "_TOKEN"))
    }
    environment |= {"TAMMA_HOME": str(home), "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [str(TAMMA), *args], capture_output=True, text=True, env=environment, cwd=home.parent, timeout=240
    )


def commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    """Write `files` into the git repository `repo` (created if needed), commit, return the sha."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--initial-branch=main", cwd=repo)
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo).stdout.strip()
