"""`tamma --log-format json|text`: a run's steps, decisions and tool calls as JSON lines on
stderr, each naming its run, issue and Prefect flow run, with no secret; `text` as before.

The JSON run is a real `tamma run` subprocess against the session's Prefect server, on an issue
whose title holds a configured secret: the commit lines quote it, redacted. The formats'
redaction and the environment's choice are checked in this process, on one line.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest

from event_store import Event, EventStore, Query
from tamma import event_types as et
from tamma.demo.scenario import ISSUE_BODY, ISSUE_TITLE, DemoWorld, build_world, conversations
from tamma.logs import ENV_VAR, configure
from tamma.recorder import Recorder
from tamma.redaction import MASK, Redactor
from tasks._logging import log_steps_to_prefect
from tests.flows.test_cli_run import TAMMA, environment

RUN = "r-10650a15"
SECRET = "tamma-logs-credential-8k2q"  # no shape: only its configured value can catch it


def tamma_run(home: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TAMMA), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={k: v for k, v in environment(home).items() if k != ENV_VAR} | env,
        timeout=180,
    )


def leaky_issue(world: DemoWorld) -> str:
    """A second issue on the demo's project whose title (which the run's commit messages quote)
    ends with the secret, past the 40 characters a branch name takes from it."""
    issue = world.platform.create_issue(
        f"{ISSUE_TITLE} (seen with {SECRET})", ISSUE_BODY, labels=["tamma"], author="alice"
    )
    return str(issue.ref)


def flow_run_of(home: Path) -> str:
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        started = next(iter(store.read(Query.of(types=[et.RUN_STARTED], tags=[f"run:{RUN}"]))))
    return str(started.data["flow_run_id"])


def test_json_lines_name_the_run_for_each_step_decision_and_tool_call(home: Path) -> None:
    world = build_world(home, ci_failure=False)
    issue = leaky_issue(world)
    result = tamma_run(
        home,
        *("--log-format", "json", "run", issue, "--run-id", RUN, "--auto-approve"),
        *("--script", str(world.script), "--ci-poll", "0.2"),
        env={"GITLAB_TOKEN": SECRET},
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # every line is one object
    flow_run_id = flow_run_of(home)
    for line in lines:
        assert (line["run_id"], line["issue"], line["flow_run_id"]) == (RUN, issue, flow_run_id)
        assert {"timestamp", "level", "message", "event", "position"} <= line.keys()
    steps = {(line["step"], line["event"]) for line in lines if line["event"].startswith("STEP.")}
    for step in ("claim", "analyze", "plan", "implement", "pull-request", "watch-ci"):
        assert {(step, et.STEP_STARTED), (step, et.STEP_FINISHED)} <= steps, step
    [decision] = [line for line in lines if line["event"] == et.APPROVAL_PROVIDED]
    assert (decision["decision"], decision["subject"], decision["actor"]) == ("approve", "plan", "policy")
    calls = [line for line in lines if line["event"] == et.TOOL_CALLED]
    scripted = [use.name for phase in ("tests", "fix", "refactor") for use in _tools(phase)]
    assert [call["tool"] for call in calls] == scripted
    assert {(call["step"], call["phase"]) for call in calls} == {
        ("implement", "tests"),
        ("implement", "fix"),
        ("implement", "refactor"),
    }
    commits = [line["message"] for line in lines if line["event"] == et.COMMIT_CREATED]
    assert any(commit.endswith(f"Fix {issue}: {ISSUE_TITLE} (seen with {MASK})") for commit in commits)
    assert SECRET not in result.stderr + result.stdout
    assert "plan approved by policy" in result.stdout  # the terminal's progress is unchanged


def _tools(phase: str) -> Iterator[Any]:
    for answer in conversations(ci_failure=False)[phase]:
        yield from answer.tool_uses


def log_an_unredacted_escalation(store_path: Path) -> None:
    """Follow a run outside any flow run (so only the JSON lines are written) and hand its
    observer an event holding the secret, as no recorder would have stored it."""
    with EventStore(f"sqlite:///{store_path}") as store:
        recorder = Recorder(store, [f"run:{RUN}"], redactor=Redactor([SECRET]))
        ctx = SimpleNamespace(recorder=recorder, run_id=RUN, ref="local:shop#1")
        log_steps_to_prefect(ctx)  # type: ignore[arg-type]
        log_steps_to_prefect(ctx)  # type: ignore[arg-type]  # once per context
        [observer] = recorder.observers
        data = {"v": 1, "reason": f"the model printed {SECRET}"}
        observer(Event(7, uuid4(), et.ESCALATION_TRIGGERED, data, (), {}, datetime.now(UTC)))


@pytest.fixture
def log_format(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process logs as TAMMA_LOG_FORMAT (the parameter) asks, for the test's length."""
    monkeypatch.setenv(ENV_VAR, request.param)
    configure()
    yield request.param
    configure("text")


@pytest.mark.parametrize("log_format", ["json"], indirect=True)
def test_a_line_is_redacted_with_the_runs_redactor(
    log_format: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_an_unredacted_escalation(tmp_path / "events.db")
    [line] = [json.loads(text) for text in capsys.readouterr().err.splitlines()]
    assert line["message"] == f"escalated to a human: the model printed {MASK}"
    assert (line["level"], line["event"], line["run_id"], line["flow_run_id"]) == (
        "warning",
        et.ESCALATION_TRIGGERED,
        RUN,
        None,
    )


@pytest.mark.parametrize("log_format", ["text"], indirect=True)
def test_text_keeps_stderr_as_it_was(
    log_format: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_an_unredacted_escalation(tmp_path / "events.db")
    assert capsys.readouterr().err == ""  # a warning too: no last-resort handler prints it
