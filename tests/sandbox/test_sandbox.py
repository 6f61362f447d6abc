"""The sandbox's settings and what each of them opens: the positive side of the escape corpus.

The corpus (tests/security) shows what a command cannot do; these show that what a policy
allows does work (network, extra read-only paths, fixed variables), that bad settings and a
missing bubblewrap are one-line errors, and that `python -m tamma.sandbox` reports how a
command ended through its exit code.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tamma.config import load_settings
from tamma.errors import ConfigError
from tamma.sandbox import Sandbox, SandboxLimits, SandboxPolicy, SandboxUnavailable
from tamma.sandbox._bubblewrap import bubblewrap_program, bubblewrap_version


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    return root


@pytest.fixture
def loopback_server() -> Iterator[tuple[int, list[str]]]:
    """A TCP server on 127.0.0.1: its port, and a list that grows with each connection."""
    server = socket.create_server(("127.0.0.1", 0))
    reached: list[str] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            reached.append("connected")
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], reached
    server.close()


def connect(port: int) -> list[str]:
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), 2); print('connected')"
    return [sys.executable, "-c", code]


def test_network_is_closed_by_default_and_opens_when_configured(
    workspace: Path, loopback_server: tuple[int, list[str]]
) -> None:
    port, reached = loopback_server
    closed = Sandbox().run(connect(port), workspace=workspace, timeout_s=20)
    assert not closed.passed
    assert "Connection refused" in closed.output
    assert reached == []
    opened = Sandbox(SandboxPolicy(network=True)).run(connect(port), workspace=workspace, timeout_s=20)
    assert opened.passed, opened.output
    assert reached == ["connected"]


def test_read_only_paths_are_readable_never_writable(workspace: Path, tmp_path: Path) -> None:
    toolchain = tmp_path / "toolchain"
    toolchain.mkdir()
    (toolchain / "version.txt").write_text("toolchain 1.2\n")
    script = f"cat {toolchain}/version.txt; touch {toolchain}/new 2>&1; true"
    hidden = Sandbox().run(["sh", "-c", script], workspace=workspace, timeout_s=20)
    assert "No such file" in hidden.output
    shown = Sandbox(SandboxPolicy(read_only_paths=(str(toolchain),)))
    seen = shown.run(["sh", "-c", script], workspace=workspace, timeout_s=20)
    assert "toolchain 1.2" in seen.output
    assert "Read-only file system" in seen.output
    assert not (toolchain / "new").exists()


def test_a_read_only_path_that_would_reveal_the_workspaces_is_refused(workspace: Path) -> None:
    revealing = Sandbox(SandboxPolicy(read_only_paths=(str(workspace.parent),)))
    with pytest.raises(ConfigError, match="cannot be shown read-only"):
        revealing.run(["true"], workspace=workspace, timeout_s=20)


def test_fixed_variables_reach_the_command_and_nothing_else_does(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAVA_OPTS", "-Xmx1g")
    policy = SandboxPolicy(env={"GREETING": "hello"})
    result = Sandbox(policy).run(["printenv"], workspace=workspace, timeout_s=20)
    assert "GREETING=hello" in result.output
    assert "JAVA_OPTS" not in result.output
    names = {line.split("=", 1)[0] for line in result.output.splitlines() if "=" in line}
    assert names <= {
        "GREETING",
        "PATH",
        "HOME",
        "TMPDIR",
        "PYTHONDONTWRITEBYTECODE",
        "PWD",
        "LANG",
        "LC_ALL",
        "TZ",
    }


def test_a_program_the_sandbox_cannot_see_is_said_before_it_starts(workspace: Path) -> None:
    result = Sandbox().run(["no-such-program-here"], workspace=workspace, timeout_s=20)
    assert result.exit_code is None
    assert "not found inside the sandbox" in result.output
    assert "sandbox.read_only_paths" in result.output


def test_unconfined_runs_keep_the_environment_allowlist_and_the_limits(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "U" * 36)
    unconfined = Sandbox(SandboxPolicy(backend="none", limits=SandboxLimits(file_size_mb=1)))
    env = unconfined.run(["sh", "-c", "env; echo $HOME > home.txt"], workspace=workspace, timeout_s=20)
    assert "GITHUB_TOKEN" not in env.output
    private_home = Path((workspace / "home.txt").read_text().strip())
    assert private_home != Path.home()
    assert not private_home.exists()  # made for the command, removed after it
    big = unconfined.run(["sh", "-c", "head -c 3000000 /dev/zero > big"], workspace=workspace, timeout_s=20)
    assert not big.passed
    assert (workspace / "big").stat().st_size == 2**20


def test_describe_records_the_policy_and_how_it_is_enforced() -> None:
    described = Sandbox(SandboxPolicy(network=True)).describe()
    assert described["backend"] == "bubblewrap"
    assert described["network"] is True
    assert described["limits"]["processes"] == SandboxLimits().processes
    assert described["bubblewrap"] == bubblewrap_version()
    assert isinstance(described["cgroups"], bool)
    assert "bubblewrap" not in Sandbox(SandboxPolicy(backend="none")).describe()


def test_a_missing_bubblewrap_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    bubblewrap_program.cache_clear()
    bubblewrap_version.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap") as raised:
            Sandbox().check()
        assert "sandbox: none" in str(raised.value)
        Sandbox(SandboxPolicy(backend="none")).check()  # unconfined needs no bubblewrap
    finally:
        bubblewrap_program.cache_clear()
        bubblewrap_version.cache_clear()


@pytest.mark.parametrize(
    ("given", "backend", "network"),
    [
        ("none", "none", False),
        ("bubblewrap", "bubblewrap", False),
        ('{"backend": "bubblewrap", "network": true}', "bubblewrap", True),
    ],
)
def test_the_sandbox_setting_takes_a_backend_name_or_a_policy(
    project: Path, monkeypatch: pytest.MonkeyPatch, given: str, backend: str, network: bool
) -> None:
    monkeypatch.setenv("TAMMA_SANDBOX", given)
    policy = load_settings().sandbox
    assert (policy.backend, policy.network) == (backend, network)


def test_the_sandbox_setting_from_yaml(project: Path) -> None:
    (project / "tamma.yaml").write_text("sandbox:\n  network: true\n  limits: {processes: 99}\n")
    policy = load_settings().sandbox
    assert policy.network
    assert policy.limits.processes == 99
    (project / "tamma.yaml").write_text("sandbox: none\n")
    assert load_settings().sandbox.backend == "none"


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("docker", "sandbox.backend"),
        ('{"netwrk": true}', "netwrk"),
        ('{"limits": {"processes": 0}}', "at least 1"),
        ('{"env": {"HOME": "/root"}}', "HOME"),
        ('{"read_only_paths": ["relative/dir"]}', "absolute"),
        ("{not json", "sandbox"),
    ],
)
def test_bad_sandbox_settings_are_config_errors(
    project: Path, monkeypatch: pytest.MonkeyPatch, given: str, problem: str
) -> None:
    monkeypatch.setenv("TAMMA_SANDBOX", given)
    with pytest.raises(ConfigError, match="TAMMA_SANDBOX: ") as raised:
        load_settings()
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("command", "exit_code", "shown"),
    [
        (["sh", "-c", "echo out; exit 3"], 3, "out"),
        (["sleep", "30"], 124, "killed after 1 s"),
        (["no-such-program-here"], 127, "not found inside the sandbox"),
    ],
)
def test_the_command_line_reports_how_the_command_ended(
    workspace: Path, command: list[str], exit_code: int, shown: str
) -> None:
    ran = subprocess.run(
        [
            *(sys.executable, "-m", "tamma.sandbox", "--policy", json.dumps({"network": False})),
            *("--workspace", str(workspace), "--timeout", "1", "--", *command),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == exit_code
    assert shown in ran.stdout
