"""The Claude Code backend: the real claude-agent-sdk and its bundled CLI against the fake
Anthropic API, under Tamma's policy, budget and recording."""

from __future__ import annotations

import json
import shlex
import socket
import stat
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from event_store import Event, EventStore, Query
from tamma import event_types as et
from tamma.agent._claude_policy import sandboxed_bash
from tamma.agent._paths import Refused
from tamma.agent.budget import Budget, BudgetGuard
from tamma.agent.claude_code import ClaudeCodeBackend, ClaudeCodeFailed, ClaudeCodeUnavailable, ModelAccess
from tamma.agent.settings import ClaudeCodeSettings
from tamma.agent.tools import Toolbox, ToolPolicy
from tamma.providers import Message, PriceTable
from tamma.recorder import Recorder
from tamma.sandbox.__main__ import policy_from_json
from tests.fakes import claude_code as cc
from tests.fakes.anthropic import FakeAnthropic, TokenCounts

pytestmark = pytest.mark.timeout(120)
TAGS = ("run:r-cc000001", "issue:local:shop#1")
SECRET = "PlatformSecretValue" + "7" * 12
"""Shapeless, so only blanking (not redaction) keeps it out of what the CLI and its tools see."""
POLICY = ToolPolicy(
    test_command=(sys.executable, "-m", "pytest", "-q"),
    allowed_commands=frozenset({"printenv"}),
    command_timeout_s=30,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(f"sqlite:///{tmp_path / 'events.db'}") as opened:
        yield opened


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path)


def make_workspace(parent: Path) -> Path:
    """A workspace under `parent` whose `add()` subtracts."""
    root = parent / "workspace"
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
    policy: ToolPolicy = POLICY,
    access: ModelAccess | None = None,
    prices: PriceTable | None = None,
) -> ClaudeCodeBackend:
    cc.serve_claude_code(fake)
    return ClaudeCodeBackend(
        Toolbox(workspace, policy),
        BudgetGuard(budget or Budget(), prices or PriceTable()),
        Recorder(store, TAGS),
        settings=settings or ClaudeCodeSettings(),
        access=access or ModelAccess(api_key=cc.FAKE_API_KEY, base_url=fake.base_url),
        home=workspace.parent / "claude-home",
        prices=prices or PriceTable(),
    )


def recorded(store: EventStore, *types: str) -> list[Event]:
    return list(store.read(Query.of(types=list(types), tags=[TAGS[0]])))


def model_saw(fake: FakeAnthropic, *, turn: int) -> str:
    """The text of the tool results the model read in agent turn `turn` (counted from 0)."""
    results = cc.tool_results(cc.agent_requests(fake)[turn]).values()
    assert results, f"agent turn {turn} carries no tool result"
    return json.dumps([result["content"] for result in results])


def run_probe(workspace: Path, store: EventStore, fake: FakeAnthropic, probe: str) -> str:
    """Run the test file `probe` through Bash with the test command; the output the model read."""
    (workspace / "test_probe.py").write_text(probe)
    fake.enqueue(cc.bash(f"{sys.executable} -m pytest -q test_probe.py"), cc.answer("Ran the probe."))
    outcome = backend_for(workspace, store, fake).run("tests", "Run the tests.", [Message.user("Go.")])
    assert outcome.finished, outcome.reason
    assert recorded(store, et.TOOL_CALLED)[0].data["input"]["command"].endswith("pytest -q test_probe.py")
    return model_saw(fake, turn=1)


def test_a_phase_edits_the_workspace_and_is_recorded_like_the_builtin_loop(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_PLATFORM_TOKEN", SECRET)  # in Tamma's environment, never in the CLI's
    calc = str(workspace / "calc.py")
    fake_anthropic.enqueue(
        cc.read(calc, text="Reading the code."),
        cc.edit(calc, "return a - b", "return a + b"),
        cc.bash("printenv"),
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
    assert calls[2].data["input"]["command"] == "printenv"  # what the model asked for, not the wrapper
    recorded_environment = results["Bash"].data["content"]
    model_read = model_saw(fake_anthropic, turn=3)  # before Tamma's redaction of the record
    for environment in (recorded_environment, model_read):
        assert "HOME=/tmp/home" in environment  # the sandbox's, not the CLI's
        assert SECRET not in environment
        assert cc.FAKE_API_KEY not in environment
        assert "ANTHROPIC_" not in environment
        assert "CLAUDE_CODE_" not in environment
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
    told = [result for turn in cc.agent_requests(fake_anthropic) for result in cc.tool_results(turn).values()]
    assert len(told) == 5
    assert all(result.get("is_error") for result in told)  # the model was told


def test_no_process_a_shell_command_can_see_holds_the_api_key(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic
) -> None:
    output = run_probe(
        workspace,
        store,
        fake_anthropic,
        f"""import os
from pathlib import Path


def test_no_environment_holds_the_key():
    environments = {{}}
    for process in Path("/proc").iterdir():
        try:
            environments[process.name] = (process / "environ").read_bytes()
        except OSError:
            continue
    assert str(os.getpid()) in environments and str(os.getppid()) in environments
    holders = [pid for pid, env in environments.items() if {cc.FAKE_API_KEY.encode()!r} in env]
    assert not holders, f"the API key is in the environment of {{holders}}"
    assert not [pid for pid, env in environments.items() if b"ANTHROPIC_" in env]
""",
    )

    assert "1 passed" in output, output


def test_a_shell_command_cannot_reach_a_service_on_the_host(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as service:
        port = service.getsockname()[1]
        output = run_probe(
            workspace,
            store,
            fake_anthropic,
            f"""import socket

import pytest


def test_the_host_is_unreachable():
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", {port}), timeout=5)
""",
        )
        service.setblocking(False)
        with pytest.raises(BlockingIOError):
            service.accept()  # nobody connected

    assert "1 passed" in output, output


def test_a_shell_command_cannot_write_the_git_config(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic
) -> None:
    config = workspace / ".git" / "config"
    config.write_text("[core]\n\tbare = false\n")
    output = run_probe(
        workspace,
        store,
        fake_anthropic,
        """from pathlib import Path


def test_append_to_the_git_config():
    with (Path(__file__).parent / ".git" / "config").open("a") as config:
        config.write("[core]\\n\\thooksPath = hooks\\n")
""",
    )

    assert "Read-only file system" in output, output
    assert config.read_text() == "[core]\n\tbare = false\n"


def test_a_module_the_model_wrote_does_not_replace_the_sandbox(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic
) -> None:
    # The wrapper starts in the workspace: a plain `python -m tamma.sandbox` would import this.
    impostor = workspace / "tamma" / "sandbox"
    impostor.mkdir(parents=True)
    (workspace / "tamma" / "__init__.py").write_text("")
    (impostor / "__init__.py").write_text("")
    (impostor / "__main__.py").write_text(
        "import os, pathlib\npathlib.Path('escaped').write_text(str(sorted(os.environ)))\n"
    )
    fake_anthropic.enqueue(cc.bash("printenv"), cc.answer("Done."))

    outcome = backend_for(workspace, store, fake_anthropic).run("fix", "Fix it.", [Message.user("Go.")])

    assert outcome.finished, outcome.reason
    assert not (workspace / "escaped").exists()
    assert "HOME=/tmp/home" in model_saw(fake_anthropic, turn=1)


def test_a_slow_command_is_stopped_by_the_sandbox_not_moved_to_the_background_by_bash(
    workspace: Path, store: EventStore, fake_anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    fake_anthropic.enqueue(cc.bash("sleep 10"), cc.answer("Too slow."))
    policy = replace(POLICY, allowed_commands=frozenset({"sleep"}), command_timeout_s=1)
    backend = backend_for(workspace, store, fake_anthropic, policy=policy)

    outcome = backend.run("fix", "Fix it.", [Message.user("Go.")])

    assert outcome.finished, outcome.reason
    assert "killed after 1 s" in model_saw(fake_anthropic, turn=1)
    # Bash's own limit, raised to the sandbox's: past it, the CLI backgrounds a command.
    assert backend._environment(tmp_path)["BASH_MAX_TIMEOUT_MS"] == "31000"


def test_a_bash_call_is_rewritten_to_run_in_the_sandbox_or_refused(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toolbox = Toolbox(workspace, ToolPolicy(test_command=("pytest",), command_timeout_s=900, output_cap=99))

    rewritten = sandboxed_bash(toolbox, {"command": "pytest -k 'a b'", "description": "Run the tests"})

    argv = shlex.split(rewritten["command"])
    assert argv[: argv.index("--policy")] == [sys.executable, "-I", "-m", "tamma.sandbox"]
    assert policy_from_json(argv[argv.index("--policy") + 1]) == toolbox.sandbox.policy
    assert argv[argv.index("--workspace") + 1] == str(toolbox.root)
    assert argv[argv.index("--output-cap") + 1] == "99"
    assert argv[argv.index("--") + 1 :] == ["pytest", "-k", "a b"]
    assert rewritten["timeout"] == 930_000  # the sandbox's 900 s and time to start and report
    assert rewritten["description"] == "Run the tests"
    monkeypatch.setattr(sys, "executable", "")
    with pytest.raises(Refused, match="no command runs"):
        sandboxed_bash(toolbox, {"command": "pytest"})


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
