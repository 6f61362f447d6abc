"""The escape corpus (tests/security/escapes.py) against the sandbox, as root and as `nobody`.

As root, through `Sandbox.run` in this process (cgroups bound the processes); as an ordinary
user, through `python -m tamma.sandbox` started with setpriv as `nobody`, run by Debian's
Python from a copy of the package (this project's interpreter lives under /root, which
`nobody` cannot enter), where rlimits alone bound the processes. Either way the runner's
environment holds the secrets of `world.SECRETS`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tamma.sandbox import CommandResult, Sandbox, SandboxPolicy
from tests.security.escapes import CASES, CORPUS_LIMITS, Escape
from tests.security.world import SECRETS, World, built_world

SYSTEM_PYTHON = "/usr/bin/python3"
NOBODY = 65534
OUTPUT_CAP = 4_000
POLICY = SandboxPolicy(limits=CORPUS_LIMITS)


@pytest.fixture(scope="module")
def package_copy() -> Iterator[Path]:
    """tamma/ where `nobody` can read it."""
    assert os.path.exists(SYSTEM_PYTHON), f"the escape corpus runs {SYSTEM_PYTHON} as nobody"
    assert shutil.which("setpriv"), "the escape corpus needs setpriv (util-linux)"
    copy = Path(tempfile.mkdtemp(prefix="tamma-package-"))
    shutil.copytree(Path(__file__).resolve().parents[2] / "tamma", copy / "tamma")
    for path in (copy, *copy.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield copy
    shutil.rmtree(copy)


def run_as_root(world: World, case: Escape, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    result = Sandbox(POLICY).run(
        ["sh", "-c", case.script.format(**world.values(), py=SYSTEM_PYTHON)],
        workspace=world.workspace,
        timeout_s=case.timeout_s,
        output_cap=OUTPUT_CAP,
    )
    return _seen(result)


def run_as_nobody(world: World, case: Escape, package: Path) -> str:
    script = case.script.format(**world.values(), py=SYSTEM_PYTHON)
    command = [
        *("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"),
        *(SYSTEM_PYTHON, "-m", "tamma.sandbox", "--policy", json.dumps(POLICY.describe())),
        *("--workspace", str(world.workspace), "--timeout", str(case.timeout_s)),
        *("--output-cap", str(OUTPUT_CAP), "--", "sh", "-c", script),
    ]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(package), **SECRETS}
    ran = subprocess.run(
        command, env=env, cwd=world.root, capture_output=True, text=True, timeout=60, check=False
    )
    assert not ran.stderr, ran.stderr
    return ran.stdout


def _seen(result: CommandResult) -> str:
    return result.output  # not the summary: it repeats the script, ESCAPED included


@pytest.mark.parametrize("user", ["root", "nobody"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.family}: {case.name}")
def test_an_escape_attempt_is_stopped_or_harmless(
    case: Escape, user: str, package_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with built_world(owner=NOBODY if user == "nobody" else None) as world:
        output = (
            run_as_root(world, case, monkeypatch)
            if user == "root"
            else run_as_nobody(world, case, package_copy)
        )
        assert "ESCAPED" not in output, output
        assert world.breaches(output) == [], output
        if case.expect:
            wanted = case.expect.format(**world.values()).split(" | ")
            assert any(text in output for text in wanted), output
        assert len(output) < OUTPUT_CAP + 500
