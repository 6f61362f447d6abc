"""The whole `resolve_issue` flow with Claude Code writing the code: the real claude-agent-sdk
and its bundled CLI against the fake Anthropic API, the demo's bug fixed test-first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from event_store import EventStore, Query
from flows.resolve_issue import resolve_in_process
from tamma import event_types as et
from tamma.audit.history import timeline
from tamma.audit.recording import Recording, RunNotRecorded
from tamma.demo.scenario import NEW_TEST, DemoWorld, session
from tamma.providers import save_script
from tests.fakes import claude_code as cc
from tests.fakes.anthropic import FakeAnthropic

pytestmark = pytest.mark.timeout(300)
RUN = "r-c1a0de01"


def test_claude_code_resolves_the_demo_issue_test_first(
    world: DemoWorld, home: Path, fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "TAMMA_PROVIDERS", json.dumps([{"kind": "anthropic", "base_url": fake_anthropic.base_url}])
    )
    monkeypatch.setenv("ANTHROPIC_API_KEY", cc.FAKE_API_KEY)
    cc.serve_claude_code(fake_anthropic)
    workspace = home / "workspaces" / "local-shop-1"
    fake_anthropic.enqueue(
        cc.write(str(workspace / "tests" / "test_add.py"), NEW_TEST),  # phase "tests"
        cc.answer("tests/test_add.py shows add(1, 2) == -1"),
        cc.read(str(workspace / "calc.py")),  # phase "fix"
        cc.edit(str(workspace / "calc.py"), "return a - b", "return a + b"),
        cc.answer("add() returns a + b"),
        cc.answer("one line; nothing to refactor"),  # phase "refactor"
    )
    analysis_and_plan = save_script(session(ci_failure=False)[:2], home / "plan-only.json")

    result = resolve_in_process(
        world.issue_ref,
        run_id=RUN,
        auto_approve=True,
        script=str(analysis_and_plan),
        ci_poll_s=0.1,
        agent="claude-code",
    )

    assert result["outcome"] == "awaiting-merge", result
    pull = world.platform.find_pull_request(result["pull_request"]["head"])
    assert pull is not None
    assert "add() returns a + b" in pull.body
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        events = list(store.read(Query.of(tags=[f"run:{RUN}"])))
        with pytest.raises(RunNotRecorded, match="claude-code backend"):
            Recording.load(store, RUN)
    by_claude = [e for e in events if "agent:claude-code" in e.tags]
    sessions = [e.data["phase"] for e in by_claude if e.type == et.AGENT_SESSION_STARTED]
    assert sessions == ["tests", "fix", "refactor"]
    assert [e.data["tool"] for e in by_claude if e.type == et.TOOL_CALLED] == ["Write", "Read", "Edit"]
    written = [e.data["path"] for e in by_claude if e.type == et.CODE_FILE_WRITTEN]
    assert written == ["tests/test_add.py", "calc.py"]
    phases = [e.data["phase"] for e in events if e.type == et.AGENT_PHASE_COMPLETED]
    assert phases == ["tests", "fix", "refactor", "lint"]
    assert len(cc.agent_requests(fake_anthropic)) == 6
    spans = {span.name: span for span in timeline(events)}
    assert spans["  agent fix"].model_calls == 3  # history counts Claude Code's turns like the loop's
