"""SIGTERM and Ctrl-C stop `tamma run`, `tamma serve` and `tamma worker` with everything they
started: real processes, the Prefect servers and worker they launch, checked through /proc.

SIGINT goes to the process group, as a Ctrl-C at a terminal sends it; SIGTERM to tamma alone,
as `kill` or a process supervisor sends it.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from event_store import EventStore, Query
from tamma import event_types as et
from tamma.demo.scenario import agent_settings, build_world, sandbox_settings
from tests.cli.conftest import TAMMA
from tests.flows.conftest import free_port

RUN = "r-519a1001"
STOPS = [pytest.param(signal.SIGTERM, 143, id="SIGTERM"), pytest.param(signal.SIGINT, 130, id="Ctrl-C")]


class Tamma:
    """A `tamma` process in a session of its own, its output in files, its descendants tracked."""

    def __init__(self, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.stdout, self.stderr = logs.with_suffix(".out"), logs.with_suffix(".err")
        with self.stdout.open("w") as out, self.stderr.open("w") as err:
            self.process = subprocess.Popen(
                [str(TAMMA), *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.started: set[int] = set()

    def wait_for(self, ready: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
        """Poll `ready()` (noting the children seen meanwhile) until it is true."""
        deadline = time.monotonic() + timeout_s
        while not ready():
            assert self.process.poll() is None, (
                f"tamma exited before {what}: {self.stderr.read_text()[-2000:]}"
            )
            assert time.monotonic() < deadline, f"no {what} after {timeout_s} s"
            self.started |= descendants(self.process.pid)
            time.sleep(0.1)
        self.started |= descendants(self.process.pid)

    def stop(self, signum: int) -> None:
        """Send `signum` (SIGINT to the whole group, like a terminal) and wait for the exit."""
        assert self.started, "tamma started no process"
        if signum == signal.SIGINT:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)
        self.process.wait(timeout=60)

    def assert_stopped_cleanly(self, signum: int, exit_code: int, said: str = "") -> None:
        """The exit code; one line of tamma's, the last on stderr (what Prefect's processes log as
        they stop may come before it); no traceback anywhere; no process left."""
        assert self.process.returncode == exit_code, self.stderr.read_text()[-3000:]
        lines = self.stderr.read_text().splitlines()
        assert [line for line in lines if line.startswith("tamma:")] == lines[-1:], lines
        assert lines[-1].startswith(f"tamma: stopped by {signal.Signals(signum).name}"), lines
        assert said in lines[-1]
        assert "Traceback" not in self.stdout.read_text() + self.stderr.read_text()
        assert_gone(self.started)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid in self.started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # the task or the process ended meanwhile
            continue
        for child in children:
            found |= {child} | descendants(child)
    return found


def alive(pid: int) -> bool:
    """Running, or stopped but not yet reaped (a zombie holds no port and runs no code)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_gone(pids: set[int], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while left := {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in pids if alive(pid)}:
        assert time.monotonic() < deadline, f"left running: {left}"
        time.sleep(0.1)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """No Prefect, Tamma or model settings from outside; a private TAMMA_HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAMMA_", "PREFECT_")) and not k.endswith(("_API_KEY", "_TOKEN"))
    }
    return env | {"TAMMA_HOME": str(tmp_path / "home"), "COLUMNS": "200"}


@contextmanager
def tamma(args: list[str], env: dict[str, str], logs: Path) -> Iterator[Tamma]:
    process = Tamma(args, env, logs)
    try:
        yield process
    finally:
        process.kill()


@pytest.mark.parametrize(("signum", "exit_code"), STOPS)
def test_a_stopped_run_stops_its_prefect_server_and_says_how_to_continue(
    tmp_path: Path, clean_env: dict[str, str], signum: int, exit_code: int
) -> None:
    home = tmp_path / "home"
    world = build_world(home, ci_failure=False)
    env = clean_env | {
        "TAMMA_DATABASE_URL": f"sqlite:///{home / 'events.db'}",
        "TAMMA_AGENT": json.dumps(agent_settings()),
        "TAMMA_SANDBOX": json.dumps(sandbox_settings()),
    }
    args = ["run", world.issue_ref, "--run-id", RUN, "--auto-approve", "--script", str(world.script)]

    def coding() -> bool:
        with EventStore(env["TAMMA_DATABASE_URL"]) as store:
            return bool(list(store.read(Query.of(types=[et.AGENT_PHASE_STARTED], tags=[f"run:{RUN}"]))))

    with tamma(args, env, tmp_path / "run") as run:
        run.wait_for(coding, "agent phase")
        run.stop(signum)
        resume = f"tamma run {shlex.quote(world.issue_ref)} --run-id {RUN}"
        run.assert_stopped_cleanly(signum, exit_code, said=f"continue with: {resume}")
        assert len(run.stderr.read_text().splitlines()) == 1  # Prefect's crash reports stay off it


@pytest.mark.parametrize(("signum", "exit_code"), STOPS)
def test_a_stopped_worker_and_server_leave_no_process_and_free_the_port(
    tmp_path: Path, clean_env: dict[str, str], signum: int, exit_code: int
) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    with tamma(["serve", "--port", str(port)], clean_env, tmp_path / "serve") as serve:
        serve.wait_for(lambda: answers(f"{api}/health"), "Prefect server")
        with tamma(["worker"], clean_env | {"PREFECT_API_URL": api}, tmp_path / "worker") as worker:
            worker.wait_for(lambda: "started!" in worker.stdout.read_text(), "polling worker")
            worker.stop(signum)
            worker.assert_stopped_cleanly(signum, exit_code)
        serve.stop(signum)
        serve.assert_stopped_cleanly(signum, exit_code)
        assert port_is_free(port)
