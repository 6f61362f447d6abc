"""Test-first implementation end to end: a buggy project on a local platform, a scripted model,
real git, real pytest and ruff. The branch must hold the commits and the events the story."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from event_store import EventStore, Query
from tamma import event_types
from tamma.agent.budget import Budget, BudgetGuard
from tamma.agent.loop import LoopSettings, ToolUseLoop
from tamma.agent.test_first import TestFirstAgent
from tamma.agent.tools import Toolbox, ToolPolicy
from tamma.agent.workspace import Workspace, branch_name
from tamma.git import git
from tamma.platforms import Issue, LocalPlatform, init_local_platform
from tamma.providers import (
    AnthropicProvider,
    PriceTable,
    Provider,
    RecordingProvider,
    Response,
    ScriptedProvider,
    scripted_tool_use,
)
from tamma.recorder import Recorder
from tamma.sandbox import Sandbox, SandboxPolicy
from tests.fakes import anthropic as fa
from tests.fakes.anthropic import FakeAnthropic

BUGGY = 'def add(a: int, b: int) -> int:\n    """The sum of a and b."""\n    return a - b\n'
EXISTING_TEST = "from calc import add\n\n\ndef test_zero() -> None:\n    assert add(0, 0) == 0\n"
NEW_TEST = "from calc import add\n\n\ndef test_add() -> None:\n    assert add(1, 2) == 3\n"
WEAK_TEST = "from calc import add\n\n\ndef test_same() -> None:\n    assert add(1, 1) == 0\n"
TEST_COMMAND = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
SANDBOX = Sandbox(SandboxPolicy(env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}))
"""As the demo's (`sandbox_settings`): the project needs no plugin, and loading them costs a second a run."""
LINT_COMMAND = (sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated")


@pytest.fixture
def platform(tmp_path: Path) -> LocalPlatform:
    source = tmp_path / "calc-project"
    (source / "tests").mkdir(parents=True)
    (source / "calc.py").write_text(BUGGY)
    (source / "tests" / "test_existing.py").write_text(EXISTING_TEST)
    created = init_local_platform(source, tmp_path / "local" / "calc", test_command=" ".join(TEST_COMMAND))
    created.create_issue("add() subtracts", "add(1, 2) returns -1 instead of 3.", labels=["tamma"])
    return created


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(f"sqlite:///{tmp_path / 'events.db'}") as opened:
        yield opened


def make_agent(
    platform: LocalPlatform,
    issue: Issue,
    store: EventStore,
    provider: Provider,
    tmp_path: Path,
    budget: Budget,
) -> tuple[TestFirstAgent, Workspace]:
    repository = platform.repository()
    workspace = Workspace.open(
        root=tmp_path / "workspaces",
        key="local-calc-1",
        clone_url=repository.clone_url,
        branch=branch_name(issue.ref.number, issue.title),
        base_branch=repository.default_branch,
    )
    toolbox = Toolbox(
        workspace.path,
        ToolPolicy(test_command=TEST_COMMAND, command_timeout_s=120),
        sandbox=SANDBOX,
    )
    recorder = Recorder(store, ["run:agent-test", issue.ref.tag])
    loop = ToolUseLoop(
        provider,
        toolbox,
        BudgetGuard(budget, PriceTable()),
        recorder,
        fingerprint=workspace.tree_fingerprint,
        settings=LoopSettings(model="claude-sonnet-4-6", max_tokens=512),
    )
    return TestFirstAgent(loop, workspace, recorder, lint_command=LINT_COMMAND), workspace


def call(name: str, n: int, **arguments: object) -> Response:
    return scripted_tool_use(name, dict(arguments), tool_id=f"toolu_{n:02d}")


FIX_SESSION = [
    call("list_dir", 1),
    call("write_file", 2, path="tests/test_add.py", content=NEW_TEST),
    call("run_tests", 3),
    call("finish", 4, summary="tests/test_add.py checks that add(1, 2) == 3"),
    call("edit_file", 5, path="calc.py", old_text="a - b", new_text="a + b"),
    call("run_tests", 6),
    call("finish", 7, summary="add() returned a - b; it returns a + b now"),
    call("finish", 8, summary="nothing to refactor"),
]


def test_the_bug_is_reproduced_then_fixed_on_the_branch(
    platform: LocalPlatform, store: EventStore, tmp_path: Path
) -> None:
    issue = platform.get_issue(1)
    provider = ScriptedProvider(FIX_SESSION)
    agent, workspace = make_agent(platform, issue, store, provider, tmp_path, Budget())
    result = agent.implement(issue)

    assert result.status == "done", result.reason
    assert provider.remaining == 0
    assert result.tests_before is not None
    assert not result.tests_before.passed
    assert "assert -1 == 3" in result.tests_before.output
    assert result.tests_after is not None
    assert result.tests_after.passed
    assert result.files_changed == ("calc.py", "tests/test_add.py")
    assert "a + b" in result.summary

    log = git("log", "--format=%s", f"{workspace.base_sha}..HEAD", cwd=workspace.path).stdout.splitlines()
    assert log == ["Fix local:calc#1: add() subtracts", "Add failing tests for local:calc#1"]
    assert (
        list(map(str, result.commits))
        == git("rev-list", "--reverse", f"{workspace.base_sha}..HEAD", cwd=workspace.path).stdout.split()
    )
    workspace.push()
    assert git("rev-parse", workspace.branch, cwd=platform.remote).stdout.strip() == result.commits[-1]

    story = [(e.type, e.data.get("phase")) for e in store.read(Query.of(tags=[issue.ref.tag]))]
    phases = [phase for kind, phase in story if kind == event_types.AGENT_PHASE_STARTED]
    assert phases == ["tests", "fix", "refactor"]
    verifications = [
        e.data["passed"]
        for e in store.read(Query.of(types=[event_types.TESTS_RAN]))
        if e.data.get("by") == "tamma"
    ]
    assert verifications == [False, True, True]
    assert [kind for kind, _ in story].count(event_types.COMMIT_CREATED) == 2
    assert (event_types.AGENT_PHASE_COMPLETED, "lint") in story  # clean already: no model call


def test_tests_that_pass_in_phase_one_are_rejected(
    platform: LocalPlatform, store: EventStore, tmp_path: Path
) -> None:
    issue = platform.get_issue(1)
    provider = ScriptedProvider(
        [
            call("write_file", 1, path="tests/test_add.py", content=WEAK_TEST),
            call("finish", 2, summary="a test"),
            call("write_file", 3, path="tests/test_add.py", content=NEW_TEST),
            call("finish", 4, summary="a test that fails"),
            *FIX_SESSION[4:],
        ]
    )
    agent, _ = make_agent(platform, issue, store, provider, tmp_path, Budget())
    result = agent.implement(issue)
    assert result.status == "done", result.reason
    told = provider.requests[2].messages[-1].text
    assert "do not capture the issue" in told
    assert "1 passed" in told or "2 passed" in told


def test_a_stopped_session_keeps_its_state_and_says_why(
    platform: LocalPlatform, store: EventStore, tmp_path: Path
) -> None:
    issue = platform.get_issue(1)
    provider = ScriptedProvider(FIX_SESSION)
    agent, _ = make_agent(platform, issue, store, provider, tmp_path, Budget(max_turns=5))
    result = agent.implement(issue)
    assert result.status == "stopped"
    assert result.stopped_in == "fix"
    assert "turns" in result.reason
    assert len(result.commits) == 1  # the failing tests are committed; the fix was not reached
    assert result.conversation[-1].role == "user"  # ready to resume with the next model turn
    finished = next(store.read(Query.of(types=[event_types.AGENT_FINISHED])))
    assert (finished.data["status"], finished.data["stopped_in"]) == ("stopped", "fix")

    # Resumed with a larger budget, the session goes on from the model's next turn in `fix`.
    agent.loop.guard.budget = Budget(max_turns=20)
    resumed = agent.implement(issue, resume=result)
    assert resumed.status == "done", resumed.reason
    assert provider.remaining == 0
    assert len(resumed.commits) == 2
    assert resumed.tests_before == result.tests_before


def test_the_same_session_through_the_anthropic_sdk_against_the_fake_api(
    platform: LocalPlatform, store: EventStore, tmp_path: Path, fake_anthropic: FakeAnthropic
) -> None:
    usage = fa.TokenCounts(input_tokens=1200, output_tokens=80, cache_read_input_tokens=3000)
    fake_anthropic.enqueue(
        *(
            fa.tool_use_message(use.name, use.input, tool_id=use.id, usage=usage)
            for scripted in FIX_SESSION
            for use in scripted.tool_uses
        )
    )
    claude = AnthropicProvider(api_key="sk-ant-api03-" + "f" * 40, base_url=fake_anthropic.base_url)
    issue = platform.get_issue(1)
    agent, _ = make_agent(
        platform, issue, store, RecordingProvider(claude, store, ["run:agent-test"]), tmp_path, Budget()
    )
    result = agent.implement(issue)
    assert result.status == "done", result.reason
    assert len(fake_anthropic.requests) == len(FIX_SESSION)
    assert all(r.json["stream"] is True for r in fake_anthropic.requests)
    first = fake_anthropic.requests[0].json
    assert {tool["name"] for tool in first["tools"]} >= {"read_file", "edit_file", "run_tests", "finish"}
    assert '<untrusted_data source="issue">' in first["messages"][0]["content"][0]["text"]
    fix_turn = fake_anthropic.requests[5].json["messages"]
    assert fix_turn[-1]["content"][0]["type"] == "tool_result"
    assert result.spent.turns == len(FIX_SESSION)
    assert result.spent.cost_usd > 0
    responses = list(store.read(Query.of(types=[event_types.AI_RESPONSE_RECEIVED])))
    assert len(responses) == len(FIX_SESSION)
    assert round(sum(e.data["cost_usd"] for e in responses), 8) == round(result.spent.cost_usd, 8)
