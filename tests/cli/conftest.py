"""Run the installed `tamma` console script as a real subprocess, in a private TAMMA_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

TAMMA = Path(sys.executable).with_name("tamma")

RunTamma = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def tamma(tmp_path: Path) -> RunTamma:
    """`tamma(*args, env=..., cwd=...)`: the CLI's exit code, stdout and stderr."""
    home = tmp_path / "home"

    def run(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("TAMMA_")}
        environment |= {"TAMMA_HOME": str(home), "COLUMNS": "200", **(env or {})}
        return subprocess.run(
            [str(TAMMA), *args],
            capture_output=True,
            text=True,
            env=environment,
            cwd=cwd or tmp_path,
            timeout=300,
        )

    return run
