"""`tamma metrics` as a real process, for the tests of what it serves and on which port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.cli.conftest import TAMMA


@dataclass
class ServedMetrics:
    """Where the endpoint listened; once stopped, how the process ended."""

    url: str
    returncode: int | None = None
    stderr: str = ""

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])


@contextmanager
def tamma_metrics(
    directory: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[ServedMetrics]:
    """`tamma metrics` on `directory`'s events.db, run there (so its tamma.yaml counts), until the
    block ends; then stopped with SIGINT as a person would."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TAMMA_")}
    environment |= {"TAMMA_HOME": str(directory / "home"), "PYTHONUNBUFFERED": "1", **(env or {})}
    url = f"sqlite:///{directory / 'events.db'}"
    process = subprocess.Popen(
        [str(TAMMA), "metrics", "--database-url", url, *options],
        cwd=directory,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/metrics", line)
        assert found, line + (process.stderr.read() if process.stderr else "")
        served = ServedMetrics(found.group(0))
        yield served
        process.send_signal(signal.SIGINT)
        _, served.stderr = process.communicate(timeout=20)
        served.returncode = process.returncode
    finally:
        process.kill()
        process.wait()
