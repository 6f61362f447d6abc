"""The Claude Code backend: the real claude-agent-sdk and its bundled CLI against the fake
Anthropic API, under Tamma's policy, budget and recording."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from event_store import Event, EventStore, Query
from tamma import event_types as et
from tamma.agent.budget import Budget, BudgetGuard
from tamma.agent.claude_code import ClaudeCodeBackend, ClaudeCodeFailed, ClaudeCodeUnavailable, ModelAccess
from tamma.agent.settings import ClaudeCodeSettings
from tamma.agent.tools import Toolbox, ToolPolicy
from tamma.providers import Message, PriceTable
from tamma.recorder import Recorder
from tests.fakes import claude_code as cc
from tests.fakes.anthropic import FakeAnthropic, TokenCounts

pytestmark = pytest.mark.timeout(120)
TAGS = ("run:r-cc000001", "issue:local:shop#1")
SECRET = "PlatformSecretValue" + "7" * 12
"""Shapeless, so only blanking (not redaction) keeps it out of what the CLI and its tools see."""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(f"sqlite:///{tmp_path / 'events.db'}") as opened:
        yield opened


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    (root / ".git").mkdir(parents=True)
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    return root


def backend_for(
    workspace: Path,
    store: EventStore,
    fake: FakeAnthropic,
    *,
    budget: Budget | None = None,
    settings: ClaudeCodeSettings | None = None,
) -> ClaudeCodeBackend:
    cc.serve_claude_code(fake)
    policy = ToolPolicy(
        test_command=(sys.executable, "-m", "pytest", "-q"),
        allowed_commands=frozenset({"env"}),
        command_timeout_s=30,
    )
    return ClaudeCodeBackend(
        Toolbox(workspace, policy, home=workspace / ".tamma" / "home"),
        BudgetGuard(budget or Budget(), PriceTable()),
        Recorder(store, TAGS),
        settings=settings or ClaudeCodeSettings(),
        access=ModelAccess(api_key=cc.FAKE_API_KEY, base_url=fake.base_url),
        home=workspace.parent / "claude-home",
        prices=PriceTable(),
    )


def recorded(store: EventStore, *types: str) -> list[Event]:
    return list(store.read(Query.of(types=list(types), tags=[TAGS[0]])))


def test_a_phase_edits_the_workspace_and_is_recorded_like_the_builtin_loop(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_PLATFORM_TOKEN", SECRET)  # in Tamma's environment, never in the CLI's
    calc = str(workspace / "calc.py")
    fake_anthropic.enqueue(
        cc.read(calc, text="Reading the code."),
        cc.edit(calc, "return a - b", "return a + b"),
        cc.bash("env"),
        cc.answer("add() now returns a + b."),
    )
    backend = backend_for(workspace, store, fake_anthropic)

    outcome = backend.run("fix", "Make add() add.", [Message.user("Fix add().")])

    assert outcome.finished, outcome.reason
    assert outcome.summary == "add() now returns a + b."
    assert outcome.files_written == ("calc.py",)
    assert "return a + b" in (workspace / "calc.py").read_text()
    calls = recorded(store, et.TOOL_CALLED)
    assert [c.data["tool"] for c in calls] == ["Read", "Edit", "Bash"]
    assert all("agent:claude-code" in c.tags for c in calls)
    results = {r.data["tool"]: r for r in recorded(store, et.TOOL_RESULT)}
    assert not results["Edit"].data["is_error"]
    environment = results["Bash"].data["content"]
    assert "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1" in environment
    assert f"HOME={workspace.parent / 'claude-home'}" in environment
    assert SECRET not in environment
    written = recorded(store, et.CODE_FILE_WRITTEN)
    assert [w.data["path"] for w in written] == ["calc.py"]
    responses = recorded(store, et.AI_RESPONSE_RECEIVED)
    assert len(responses) == 4  # one per API response, though the first streamed as two messages
    assert responses[0].data["response"]["content"][0] == {"type": "text", "text": "Reading the code."}
    assert backend.guard.spent.turns == 4
    assert sum(r.data["usage"]["output_tokens"] for r in responses) > 0
    session = recorded(store, et.AGENT_SESSION_STARTED, et.AGENT_SESSION_FINISHED)
    assert [e.type for e in session] == [et.AGENT_SESSION_STARTED, et.AGENT_SESSION_FINISHED]
    assert session[0].data["session_id"] == session[1].data["session_id"]
    assert session[1].data["num_turns"] >= 4
    turns = cc.agent_requests(fake_anthropic)
    assert SECRET not in str([t.body for t in turns])
    assert "Make add() add." in str(turns[0].json["system"])  # the phase's instructions


def test_paths_outside_and_commands_off_the_allowlist_are_refused_and_recorded(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    fake_anthropic.enqueue(
        cc.write(str(outside), "escaped\n"),
        cc.read("/etc/hostname"),
        cc.write(str(workspace / ".git" / "config"), "[core]\n"),
        cc.bash("curl http://example.invalid"),
        cc.bash(f"{sys.executable} -m pytest -q; rm -rf /"),
        cc.answer("I could not do those things."),
    )
    backend = backend_for(workspace, store, fake_anthropic)

    outcome = backend.run("tests", "Write tests.", [Message.user("Go.")])

    assert outcome.finished
    assert not outside.exists()
    assert (workspace / ".git" / "config").exists() is False
    results = recorded(store, et.TOOL_RESULT)
    assert len(results) == 5
    assert all(r.data["refused"] and r.data["is_error"] for r in results)
    reasons = [r.data["content"] for r in results]
    assert "outside the workspace" in reasons[0]
    assert "outside the workspace" in reasons[1]
    assert ".git/" in reasons[2]
    assert "'curl' is not an allowed command" in reasons[3]
    assert "shell operators" in reasons[4]
    turns = cc.agent_requests(fake_anthropic)
    refused = cc.tool_results(turns[1])
    assert all(result.get("is_error") for result in refused.values())  # the model was told


def test_a_cost_cap_interrupts_the_session(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic
) -> None:
    expensive = TokenCounts(input_tokens=200_000, output_tokens=1_000)  # $0.615 on sonnet-4
    calc = str(workspace / "calc.py")
    fake_anthropic.enqueue(
        replace(cc.read(calc), usage=expensive),
        cc.edit(calc, "return a - b", "return a + b"),
        cc.answer("done"),
    )
    backend = backend_for(
        workspace,
        store,
        fake_anthropic,
        budget=Budget(max_cost_usd=0.5),
        settings=ClaudeCodeSettings(model="claude-sonnet-4-5"),
    )

    outcome = backend.run("fix", "Fix it.", [Message.user("Go.")])

    assert outcome.stop == "budget"
    assert "cost_usd" in outcome.reason
    assert "return a - b" in (workspace / "calc.py").read_text()  # no edit after the cap
    exceeded = recorded(store, et.BUDGET_EXCEEDED)
    assert len(exceeded) == 1
    assert exceeded[0].data["limit"] == "cost_usd"
    later = [r for r in recorded(store, et.TOOL_RESULT) if r.position > exceeded[0].position]
    assert all(r.data["refused"] for r in later)  # a call already on its way is refused
    assert recorded(store, et.AGENT_SESSION_FINISHED)[0].data["is_error"]


def test_a_missing_or_broken_cli_is_a_clear_error_not_a_hang(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    missing = backend_for(
        workspace, store, fake_anthropic, settings=ClaudeCodeSettings(cli_path=tmp_path / "no-such-claude")
    )
    with pytest.raises(ClaudeCodeUnavailable, match=r"pip install 'tamma\[claude-code\]'"):
        missing.run("fix", "Fix it.", [Message.user("Go.")])

    broken_cli = tmp_path / "broken-claude"
    broken_cli.write_text("#!/bin/sh\necho 'claude: cannot start here' >&2\nexit 3\n")
    broken_cli.chmod(broken_cli.stat().st_mode | stat.S_IXUSR)
    broken = backend_for(workspace, store, fake_anthropic, settings=ClaudeCodeSettings(cli_path=broken_cli))
    with pytest.raises(ClaudeCodeFailed, match="Claude Code failed"):
        broken.run("fix", "Fix it.", [Message.user("Go.")])


def test_an_unanswerable_api_ends_the_phase_as_failed(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic
) -> None:
    # Nothing scripted: every turn is a 500, which the CLI retries twice and then reports.
    outcome = backend_for(workspace, store, fake_anthropic).run("fix", "Fix it.", [Message.user("Go.")])
    assert outcome.stop == "failed"
    assert "Claude Code stopped" in outcome.reason


def test_a_phase_run_again_resumes_its_session(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic
) -> None:
    calc = str(workspace / "calc.py")
    fake_anthropic.enqueue(
        cc.read(calc),
        cc.answer("I looked; the fix is next."),
        cc.edit(calc, "return a - b", "return a + b"),  # the second attempt, same session
        cc.answer("Fixed."),
    )
    first = backend_for(workspace, store, fake_anthropic)
    first.run("fix", "Fix it.", [Message.user("Go.")])
    # A retried step builds a new backend from the run's events: the session ids recorded so far.
    sessions = {e.data["phase"]: e.data["session_id"] for e in recorded(store, et.AGENT_SESSION_STARTED)}
    again = backend_for(workspace, store, fake_anthropic)
    again.sessions.update(sessions)

    outcome = again.run("fix", "Fix it.", [Message.user("The tests still fail; fix calc.py.")])

    assert outcome.finished
    started = recorded(store, et.AGENT_SESSION_STARTED)
    assert [s.data["resumed"] for s in started] == [False, True]
    assert started[0].data["session_id"] == started[1].data["session_id"]
    resumed_turn = cc.agent_requests(fake_anthropic)[2]
    conversation = json.dumps(resumed_turn.json["messages"])
    assert "I looked; the fix is next." in conversation  # the earlier turns came along
    assert "The tests still fail" in conversation
