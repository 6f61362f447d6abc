"""What a user of gh and Prefect expects of `tamma`: --version, completion, --json, one error line
for an unknown run, examples in help, the store URL in use (password masked), no hard wrap."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest

from event_store import EventStore, NewEvent
from tamma import event_types as et
from tests.cli.conftest import RunTamma

RUN = "r-0c0ffee1"
PLAN = "# Plan\n\nInstall `tamma[claude-code]`, then fix `add()`."


@pytest.fixture
def recorded(tmp_path: Path) -> str:
    """A SQLite store holding one run that proposed a plan and had it approved."""
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    tags = [f"run:{RUN}", "issue:local:shop#1"]
    with EventStore(url) as store:
        store.append(
            [
                NewEvent(et.ISSUE_CLAIMED, {"worker": "w1"}, tags=tags),
                NewEvent(et.RUN_STARTED, {"issue": "local:shop#1"}, tags=tags),
                NewEvent(et.PLAN_PROPOSED, {"plan": PLAN}, tags=tags),
                NewEvent(et.APPROVAL_PROVIDED, {"subject": "plan", "plan": PLAN}, tags=tags),
            ]
        )
    return url


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_from_the_package_metadata(tamma: RunTamma, flag: str) -> None:
    result = tamma(flag)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"tamma {version('tamma')}\n"


def test_help_has_completion_examples_exit_codes_and_literal_brackets(tamma: RunTamma) -> None:
    root = tamma("--help")
    assert root.returncode == 0, root.stderr
    for text in ("--install-completion", "--show-completion", "--version", "Examples:", "Exit codes: 0 ok"):
        assert text in root.stdout, text
    run_help = tamma("run", "--help").stdout
    assert "pip install 'tamma[claude-code]'" in run_help  # not eaten as rich markup
    assert "tamma run local:shop#1 --auto-approve --merge auto" in run_help
    for command in (["status"], ["plan", "show"], ["history"], ["config", "show"], ["db", "upgrade"]):
        assert "Examples:\n    tamma " in tamma(*command, "--help").stdout, command


@pytest.mark.parametrize(("shell", "line"), [("bash", "complete -o default"), ("zsh", "#compdef tamma")])
def test_a_completion_script_for_a_named_shell_without_asking(tamma: RunTamma, shell: str, line: str) -> None:
    result = tamma(env={"_TAMMA_COMPLETE": f"source_{shell}"})
    assert result.returncode == 0, result.stderr
    assert line in result.stdout
    assert f"_TAMMA_COMPLETE=complete_{shell}" in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["status", "r-nope"],
        ["plan", "show", "r-nope"],
        ["history", "r-nope"],
        ["diff", "r-nope", "1", "2"],
        ["approve", "r-nope"],
        ["reject", "r-nope"],
        ["replay", "r-nope"],
        ["events", "--run", "r-nope"],
    ],
    ids=" ".join,
)
def test_an_unknown_run_is_one_error_line_and_exit_code_1(
    tamma: RunTamma, tmp_path: Path, command: list[str]
) -> None:
    result = tamma(*command)
    assert result.returncode == 1, result.stderr
    store = f"sqlite:///{tmp_path / 'home' / 'events.db'}"
    assert result.stderr.startswith(f"tamma: error: no run 'r-nope' in {store}")
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_status_json(tamma: RunTamma, recorded: str) -> None:
    for args in ([], [RUN]):
        result = tamma("status", *args, "--json", "--database-url", recorded)
        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        assert document["store"] == recorded
        assert document["runs"] == [
            {
                "run_id": RUN,
                "issue": "local:shop#1",
                "phase": "approved",
                "pull_request": None,
                "cost_usd": 0.0,
                "failure": None,
            }
        ]


def test_plan_show_json(tamma: RunTamma, recorded: str) -> None:
    result = tamma("plan", "show", RUN, "--json", "--database-url", recorded)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"run_id": RUN, "phase": "approved", "approved": True, "plan": PLAN}


def test_history_json(tamma: RunTamma, recorded: str) -> None:
    result = tamma("history", RUN, "--json", "--database-url", recorded)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {k: document[k] for k in ("run_id", "issue", "phase", "cost_usd")} == {
        "run_id": RUN,
        "issue": "local:shop#1",
        "phase": "approved",
        "cost_usd": 0.0,
    }
    assert isinstance(document["spans"], list)
    at = json.loads(tamma("history", RUN, "--at", "3", "--json", "--database-url", recorded).stdout)
    assert (at["position"], at["state"]["plan"], at["state"]["approved_plan"]) == (3, PLAN, None)


def test_config_show_names_the_default_store_in_use(tamma: RunTamma, tmp_path: Path) -> None:
    result = tamma("config", "show", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["database_url"] == f"sqlite:///{tmp_path / 'home' / 'events.db'}"


def test_config_show_masks_the_database_password(tamma: RunTamma) -> None:
    url = "postgresql+psycopg://tamma:s3cret-pw@db.example:5432/tamma"
    env = {"TAMMA_DATABASE_URL": url}
    text = tamma("config", "show", env=env)
    as_json = tamma("config", "show", "--json", env=env)
    for result in (text, as_json):
        assert result.returncode == 0, result.stderr
        assert "s3cret-pw" not in result.stdout
    assert "database_url: postgresql+psycopg://tamma:***@db.example:5432/tamma" in text.stdout
    assert (
        json.loads(as_json.stdout)["database_url"] == "postgresql+psycopg://tamma:***@db.example:5432/tamma"
    )


def test_piped_output_keeps_a_long_suggested_command_on_one_line(tamma: RunTamma, tmp_path: Path) -> None:
    result = tamma("demo", "--tour", env={"COLUMNS": ""})  # no width given: rich's 80 columns when piped
    assert result.returncode == 0, result.stderr
    hint = f"tamma events --database-url sqlite:///{tmp_path / 'home' / 'tour' / 'events.db'} --tag issue:local:demo#1"
    assert len(hint) > 80
    assert any(hint in line for line in result.stdout.splitlines())
