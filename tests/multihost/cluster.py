"""Tamma on three hosts (`topology`): the server host runs a Prefect server on PostgreSQL, the
event store's PostgreSQL database (behind a relay on the server's address) and the forge, a
fake GitHub with a real git server and CI; each worker host runs `tamma worker` with its own
TAMMA_HOME and reaches all of it only over the namespace network, as deployments/README.md
sets machines up.

Why a forge and not `local:`: a local platform is a directory every process can open, so it
would let a worker host skip the network; the fake GitHub is reached only over HTTP.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from tamma.demo.scenario import ISSUE_BODY, ISSUE_TITLE, agent_settings, build_world, sandbox_settings
from tests.agent.git_http_server import git_http_server
from tests.fakes.github import FakeGitHub
from tests.flows.forges import branch_heads, on_every_new_head, run_ci
from tests.multihost.topology import (
    Network,
    WorkerHost,
    kill_tree,
    network,
    process_tree,
    tcp_relay,
    tree_rss_bytes,
)

__all__ = ["ADMIN_URL", "REPO", "Cluster", "Sample", "Worker", "cluster"]

ADMIN_URL = os.environ.get("TAMMA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REPO = "acme/shop"
TOKEN = "ghp_" + "H0sts" * 7 + "x"
CHECKOUT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("VIRTUAL_ENV", CHECKOUT / ".venv")) / "bin"
SAMPLE_S = 0.5


def _outside_env() -> dict[str, str]:
    """This process's environment without Prefect's, Tamma's, the forge's or a proxy's settings:
    each host gets its own, and nothing here may route to another machine."""
    dropped = ("PREFECT_", "TAMMA_", "GITHUB_")
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped) and "proxy" not in k.lower()}


@contextmanager
def _database(name: str, *, extension: str | None = None) -> Iterator[str]:
    """A fresh PostgreSQL database beside the admin one, dropped at the end; its URL."""
    admin = make_url(ADMIN_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name)
    try:
        if extension:
            with psycopg.connect(
                url.set(drivername="postgresql").render_as_string(False), autocommit=True
            ) as db:
                db.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextmanager
def _prefect_server(host: str, home: Path, database_url: str) -> Iterator[str]:
    """`prefect server start` on `host`, its database in PostgreSQL (README step 2); its API URL."""
    port = _free_port(host)
    env = _outside_env() | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_API_DATABASE_CONNECTION_URL": make_url(database_url)
        .set(drivername="postgresql+asyncpg")
        .render_as_string(hide_password=False),
    }
    home.mkdir(parents=True)
    with (home / "server.log").open("w") as log:
        server = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", host, "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    api = f"http://{host}:{port}/api"
    try:
        _wait(
            lambda: server.poll() is None and _healthy(api),
            180,
            f"the Prefect server (see {home}/server.log)",
        )
        yield api
    finally:
        _stop(server)


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(ready: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} was not ready within {timeout_s:g} s")
        time.sleep(0.5)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, then SIGKILL to whatever of the tree is left."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill_tree(process.pid)
        process.wait(timeout=10)


@dataclass(frozen=True)
class Forge:
    """The fake GitHub on the server host, the scripted model session and what a worker needs
    to reach the forge."""

    github: FakeGitHub
    script: Path
    issues: tuple[int, ...]

    def env(self) -> dict[str, str]:
        return {
            "GITHUB_TOKEN": TOKEN,
            "TAMMA_PLATFORMS": json.dumps({"github": {"base_url": self.github.base_url}}),
        }


@contextmanager
def _forge(root: Path, host: str, issues: int) -> Iterator[Forge]:
    """The demo project as `REPO` on a fake GitHub bound to `host`, with `issues` copies of its
    issue labelled `tamma`; clone and push over a git server on `host`; a check run for each
    pushed head from running its tests (as `tests.flows.forges.on_github` does on loopback)."""
    world = build_world(root, ci_failure=False)
    bare = world.platform.remote
    with ExitStack() as stack:
        github = stack.enter_context(FakeGitHub(host=host))

        def actions(branch: str, sha: str) -> None:
            # Concurrent pushes: another push's hook may have seen this head before this push's
            # own hook recorded it, so record it here first (else: 422 "No commit found").
            github.adopt_git_refs(REPO, branch_heads(bare))
            run = github.add_check_run(REPO, sha, "tests", status="in_progress")
            passed, log = run_ci(bare, sha)
            github.update_check_run(REPO, run, conclusion="success" if passed else "failure", log=log)

        hook = on_every_new_head(bare, lambda: github.adopt_git_refs(REPO, branch_heads(bare)), actions)
        base = stack.enter_context(
            git_http_server(bare.parent, username="x-access-token", password=TOKEN, on_push=hook, host=host)
        )
        github.create_repo(REPO, clone_url=f"{base}/{bare.name}")
        github.adopt_git_refs(REPO, branch_heads(bare))
        numbers = tuple(
            github.create_issue(REPO, f"{ISSUE_TITLE} ({n})", ISSUE_BODY, labels=["tamma"])
            for n in range(1, issues + 1)
        )
        yield Forge(github, world.script, numbers)


@dataclass(frozen=True)
class Sample:
    """One look at a worker host: when, its process tree's RSS, the flow runs in that tree."""

    at: float
    rss: int
    flow_runs: frozenset[str]


@dataclass
class Worker:
    """`tamma worker` on a worker host, watched every `SAMPLE_S` from /proc."""

    host: WorkerHost
    home: Path
    process: subprocess.Popen[bytes]
    samples: list[Sample] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    """Every flow run id this worker ran, from its processes' environments."""

    def watch(self) -> None:
        while self.process.poll() is None:
            runs = self.flow_runs()
            self.seen |= runs
            self.samples.append(Sample(time.monotonic(), tree_rss_bytes(self.process.pid), frozenset(runs)))
            time.sleep(SAMPLE_S)

    def flow_runs(self) -> set[str]:
        """The flow runs executing on this host now: a process worker gives each flow run's
        process PREFECT__FLOW_RUN_ID."""
        runs = set()
        for pid in process_tree(self.process.pid):
            with suppress(OSError):
                for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                    if entry.startswith(b"PREFECT__FLOW_RUN_ID="):
                        runs.add(entry.split(b"=", 1)[1].decode())
        return runs

    def lose_power(self) -> None:
        """SIGKILL to every process of the host: nothing gets to say goodbye."""
        self.seen |= self.flow_runs()
        kill_tree(self.process.pid)
        self.process.wait(timeout=30)


@dataclass(frozen=True)
class Cluster:
    network: Network
    api: str
    store_url: str
    """The event store as the server host sees it (loopback); workers go through the relay."""
    worker_store_url: str
    forge: Forge
    workers: tuple[Worker, ...]
    server_log: Path

    def start(self, deployment: str, **parameters: Any) -> str:
        """A run of `deployment` (`flow/deployment`), as `prefect deployment run` makes it; its id."""
        found = httpx.get(f"{self.api}/deployments/name/{deployment}", timeout=30)
        found.raise_for_status()
        created = httpx.post(
            f"{self.api}/deployments/{found.json()['id']}/create_flow_run",
            json={"parameters": parameters},
            timeout=30,
        )
        created.raise_for_status()
        return str(created.json()["id"])

    def flow_run(self, flow_run_id: str) -> dict[str, Any]:
        reply = httpx.get(f"{self.api}/flow_runs/{flow_run_id}", timeout=30)
        reply.raise_for_status()
        return dict(reply.json())

    def logs(self) -> list[Path]:
        """The Prefect server's log and each worker's."""
        return [self.server_log, *(worker.home / "worker.log" for worker in self.workers)]

    def every(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """All that a `.../filter` endpoint answers to `body`, page by page."""
        found: list[dict[str, Any]] = []
        while True:
            reply = httpx.post(
                f"{self.api}{path}", json={**body, "limit": 200, "offset": len(found)}, timeout=30
            )
            reply.raise_for_status()
            found += reply.json()
            if len(reply.json()) < 200:
                return found


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(f"{argv}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


@contextmanager
def cluster(root: Path, *, issues: int = 10, lease_s: float = 20.0, max_runs: int = 10) -> Iterator[Cluster]:
    """The three hosts, deployed (`tamma deploy --max-runs`), with both workers polling; every
    process, namespace, link and database is gone again after the block."""
    tag = f"tmh_{os.getpid()}"
    with ExitStack() as stack:
        net = stack.enter_context(network(2))
        store_url = stack.enter_context(_database(f"{tag}_events"))
        prefect_db = stack.enter_context(_database(f"{tag}_prefect", extension="pg_trgm"))
        relay_port = stack.enter_context(
            tcp_relay(net.server_ip, ("127.0.0.1", make_url(ADMIN_URL).port or 5432))
        )
        worker_store_url = (
            make_url(store_url).set(host=net.server_ip, port=relay_port).render_as_string(False)
        )
        api = stack.enter_context(_prefect_server(net.server_ip, root / "server" / "prefect", prefect_db))
        forge = stack.enter_context(_forge(root / "server", net.server_ip, issues))
        server_env = _outside_env() | {
            "PREFECT_API_URL": api,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "TAMMA_SWEEP_REPO": f"github:{REPO}",
        }
        _run([str(BIN / "tamma"), "deploy", "--max-runs", str(max_runs)], server_env, CHECKOUT)
        workers: list[Worker] = []
        for host in net.workers:
            home = root / host.namespace
            home.mkdir()
            env = (
                _outside_env()
                | forge.env()
                | {
                    "TAMMA_HOME": str(home),
                    "TAMMA_DATABASE_URL": worker_store_url,
                    "TAMMA_AGENT": json.dumps(agent_settings()),
                    "TAMMA_SANDBOX": json.dumps(sandbox_settings()),
                    "TAMMA_CLAIM_LEASE_S": f"{lease_s:g}",
                    "PREFECT_API_URL": api,
                    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "PREFECT_WORKER_QUERY_SECONDS": "2",
                }
            )
            if not workers:  # README step 3: once, from any machine
                _run(host.command([str(BIN / "tamma"), "db", "upgrade"]), env, home)
            with (home / "worker.log").open("w") as log:
                process = subprocess.Popen(
                    host.command([str(BIN / "tamma"), "worker"]),
                    env=env,
                    cwd=home,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            worker = Worker(host, home, process)
            stack.callback(_stop, process)
            threading.Thread(target=worker.watch, name=f"watch-{host.namespace}", daemon=True).start()
            workers.append(worker)
        yield Cluster(
            net,
            api,
            store_url,
            worker_store_url,
            forge,
            tuple(workers),
            root / "server" / "prefect" / "server.log",
        )
