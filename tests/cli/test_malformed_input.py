"""What a new user gets wrong, through the real console script: one `tamma: error:` line naming
the file, key or variable, exit code 1, never a traceback."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from event_store import EventStore
from event_store._schema import HEAD_REVISION
from tests.cli.conftest import RunTamma


def assert_one_error_line(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tamma: error: ")
    for text in expected:
        assert text in lines[0], lines[0]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"databse_url: sqlite:///x.db\n",
            ["tamma.yaml: databse_url: unknown setting (did you mean database_url?)"],
        ),
        (
            b"agent: {budget: {max_cost_usd: -1}}\n",
            ["tamma.yaml: agent.budget.max_cost_usd: ", "greater than 0"],
        ),
        (b"\x00\x01\x02\xff\xfe binary", ["tamma.yaml: not a text file"]),
        (b"- providers\n- agent\n", ["tamma.yaml: expected a mapping", "not a list"]),
        (b"agent:\n  budget: [1\nmetrics: {}\n", ["tamma.yaml: line 3: not valid YAML"]),
    ],
)
def test_a_bad_project_file(tamma: RunTamma, tmp_path: Path, content: bytes, expected: list[str]) -> None:
    (tmp_path / "tamma.yaml").write_bytes(content)
    assert_one_error_line(tamma("config", "show"), *expected)


def test_a_bad_home_config_is_named_by_its_path(tamma: RunTamma, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.yaml").write_text("providers: [{kind: anthropic, timeout_s: 0}]\n")
    config = tmp_path / "home" / "config.yaml"
    assert_one_error_line(tamma("status"), f"{config}: providers[0].timeout_s: ")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TAMMA_PROVIDERS", "not json", "TAMMA_PROVIDERS: providers: not valid JSON"),
        ("TAMMA_CLAIM_LEASE_S", "-1", "TAMMA_CLAIM_LEASE_S: claim_lease_s: Input should be greater than 0"),
    ],
)
def test_a_bad_variable(tamma: RunTamma, name: str, value: str, expected: str) -> None:
    assert_one_error_line(tamma("config", "show", env={name: value}), expected)


def test_a_file_that_is_not_a_database(tamma: RunTamma, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    result = tamma("status", "--database-url", f"sqlite:///{notes}")
    assert_one_error_line(result, f"the event store at sqlite:///{notes} is not a Tamma event store")


@pytest.mark.parametrize("command", [["status"], ["db", "upgrade"], ["events"]])
def test_a_store_from_a_newer_release(tamma: RunTamma, tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "events.db"
    EventStore(f"sqlite:///{path}").close()
    newer = f"{int(HEAD_REVISION) + 1:04d}"
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (newer,))
    result = tamma(*command, "--database-url", f"sqlite:///{path}")
    assert_one_error_line(
        result,
        f"the event store at sqlite:///{path} was written by a newer Tamma "
        f"(schema revision {newer}, this release knows up to {HEAD_REVISION}): upgrade Tamma",
    )
