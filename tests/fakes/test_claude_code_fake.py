"""The fake Anthropic API as the model behind the real Claude Code CLI (bundled in claude-agent-sdk).

Why the real CLI: what it sends (`?beta=true`, `role: "system"` messages, adaptive thinking,
deferred tools, side requests) changes with its version, and only a real run shows whether the
fake still answers it. The first tests need no CLI and pin the side-request rules quickly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import anthropic
import httpx
import pytest
from claude_agent_sdk import (
    ClaudeAgentOptions,
    ClaudeSDKClient,
    Message,
    PermissionResultAllow,
    PermissionResultDeny,
    ResultMessage,
    ToolPermissionContext,
)

from tests.fakes import FakeAnthropic
from tests.fakes import claude_code as cc

TOOLS = ["Read", "Write", "Edit", "Glob", "Grep", "Bash"]
MODEL = "claude-opus-5-5"
TITLE_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}},
    "required": ["title"],
    "additionalProperties": False,
}
SIDE_REQUEST: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 128,
    "tools": [],
    "messages": [{"role": "user", "content": "<session>calc.add is wrong</session>"}],
}
"""How the CLI asks for a session title, less its `output_config` (no tools: not an agent turn)."""
CLI_EXTRAS: dict[str, Any] = {
    "thinking": {"type": "adaptive", "display": "updates"},
    "output_config": {"effort": "medium"},
    "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    "metadata": {"user_id": "{}"},
}
"""Top-level fields of an agent turn that the Messages API tests never send."""


@pytest.fixture
def client(fake_anthropic: FakeAnthropic) -> Iterator[anthropic.Anthropic]:
    cc.serve_claude_code(fake_anthropic)
    with anthropic.Anthropic(base_url=fake_anthropic.base_url, api_key=cc.FAKE_API_KEY, max_retries=0) as sdk:
        yield sdk


# -- side requests, through the anthropic SDK ---------------------------------------------------


@pytest.mark.parametrize(
    ("output_config", "text"),
    [
        ({"format": {"type": "json_schema", "schema": TITLE_SCHEMA}}, '{"title": "Fake title"}'),
        ({}, "Fake side reply"),
    ],
    ids=["title", "plain"],
)
def test_a_side_request_is_answered_without_touching_the_script(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic, output_config: dict[str, Any], text: str
) -> None:
    fake_anthropic.enqueue(cc.answer("for the agent"))

    with client.messages.stream(
        **SIDE_REQUEST, extra_body={"output_config": output_config}, extra_query={"beta": "true"}
    ) as stream:
        message = stream.get_final_message()

    assert [block.to_dict() for block in message.content] == [{"type": "text", "text": text}]
    assert fake_anthropic.pending == 1
    assert cc.agent_requests(fake_anthropic) == []


def test_an_agent_turn_with_the_cli_extras_takes_the_script(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_anthropic.enqueue(cc.read("/ws/calc.py"))
    tools = [
        {"name": "Read", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}},
        {"name": "DeferredToolPlaceholder", "defer_loading": True, "input_schema": {"type": "object"}},
    ]
    messages = [{"role": "user", "content": "Fix calc"}, {"role": "system", "content": "# Environment"}]

    message = client.messages.create(
        model=MODEL,
        max_tokens=128,
        messages=[],
        extra_body={**CLI_EXTRAS, "tools": tools, "messages": messages},
    )

    assert [block.to_dict() for block in message.content] == [
        {"type": "tool_use", "id": ANY, "name": "Read", "input": {"file_path": "/ws/calc.py"}}
    ]
    (turn,) = cc.agent_requests(fake_anthropic)
    assert (turn.json["messages"], turn.json["tools"]) == (messages, tools)
    assert fake_anthropic.pending == 0


def test_the_probe_is_answered_and_an_unscripted_turn_still_fails_clearly(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    with httpx.Client(base_url=fake_anthropic.base_url) as http:
        assert http.head("/api/hello").status_code == 200
        assert http.head("/v1/models").status_code == 404  # length announced, no body: the next one parses
        assert http.get("/v1/models").status_code == 404

    with pytest.raises(anthropic.InternalServerError, match="did not script a reply"):
        client.messages.create(
            model=MODEL,
            max_tokens=8,
            messages=[],
            extra_body={"tools": [{"name": "Bash", "input_schema": {}}]},
        )
    assert len(fake_anthropic.unscripted) == 1


def test_a_failing_aside_answers_500_and_reset_ends_the_claude_code_mode(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_anthropic.aside = lambda request: 1 // 0

    with pytest.raises(anthropic.InternalServerError, match="aside responder failed"):
        client.messages.create(**SIDE_REQUEST)
    fake_anthropic.reset()

    assert fake_anthropic.aside is None


# -- the real CLI -------------------------------------------------------------------------------


@dataclass
class Session:
    """What one CLI run produced: its messages, the tools the gate was asked about, the CLI's stderr."""

    messages: list[Message] = field(default_factory=list)
    permission_asks: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    @property
    def result(self) -> ResultMessage:
        results = [message for message in self.messages if isinstance(message, ResultMessage)]
        assert results, f"no ResultMessage; CLI stderr: {self.stderr[-10:]}"
        return results[-1]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    return root


def run_cli(fake: FakeAnthropic, workspace: Path, home: Path, prompt: str) -> Session:
    """One prompt through `ClaudeSDKClient` and the bundled CLI, gated to `workspace`."""
    session = Session()
    (home / "tmp").mkdir(parents=True)

    async def gate(
        tool: str, tool_input: dict[str, Any], context: ToolPermissionContext
    ) -> PermissionResultAllow | PermissionResultDeny:
        session.permission_asks.append(tool)
        path = Path(tool_input.get("file_path") or tool_input.get("path") or workspace).resolve()
        if path.is_relative_to(workspace.resolve()):
            return PermissionResultAllow()
        return PermissionResultDeny(message=f"{path} is outside the workspace")

    options = ClaudeAgentOptions(
        cwd=workspace,
        tools=TOOLS,
        allowed_tools=[],
        setting_sources=[],
        permission_mode="default",
        can_use_tool=gate,
        system_prompt={"type": "preset", "preset": "claude_code"},
        max_turns=8,
        env=cc.isolated_env(fake.base_url, home),
        stderr=session.stderr.append,
    )

    async def converse() -> None:
        async with ClaudeSDKClient(options=options) as client:
            await client.query(prompt)
            session.messages.extend([message async for message in client.receive_response()])

    asyncio.run(converse())
    return session


@pytest.mark.timeout(120)
def test_the_cli_reads_and_edits_a_file_against_the_fake(
    fake_anthropic: FakeAnthropic, workspace: Path, tmp_path: Path
) -> None:
    calc = str(workspace / "calc.py")
    read_turn = cc.read(calc, text="Let me look at calc.py.")
    edit_turn = cc.edit(calc, "return a - b", "return a + b")
    cc.serve_claude_code(fake_anthropic)
    fake_anthropic.enqueue(read_turn, edit_turn, cc.answer("Fixed: add() now adds."))

    session = run_cli(fake_anthropic, workspace, tmp_path / "home", "calc.add is wrong. Fix it.")

    assert (workspace / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert (session.result.subtype, session.result.is_error) == ("success", False)
    assert session.result.result == "Fixed: add() now adds."
    assert "Edit" in session.permission_asks
    turns = cc.agent_requests(fake_anthropic)
    assert len(turns) == 3
    assert (fake_anthropic.pending, fake_anthropic.unscripted) == (0, [])
    assert all(turn.streaming and turn.path == "/v1/messages" for turn in turns)
    roles = {message["role"] for turn in turns for message in turn.json["messages"]}
    assert roles <= {"user", "assistant", "system"}  # the default model's turns carry a "system" one
    read_result = cc.tool_results(turns[1])[read_turn.content[-1]["id"]]
    assert "return a - b" in json.dumps(read_result["content"])
    assert not read_result.get("is_error")
    assert not cc.tool_results(turns[2])[edit_turn.content[-1]["id"]].get("is_error")


@pytest.mark.timeout(120)
def test_the_builders_use_the_cli_tool_schemas(
    fake_anthropic: FakeAnthropic, workspace: Path, tmp_path: Path
) -> None:
    cc.serve_claude_code(fake_anthropic)
    fake_anthropic.enqueue(cc.answer("Nothing to do."))

    run_cli(fake_anthropic, workspace, tmp_path / "home", "Say hello.")

    schemas = {
        tool["name"]: tool["input_schema"] for tool in cc.agent_requests(fake_anthropic)[0].json["tools"]
    }
    calls = [
        cc.read("/ws/a.py", offset=1, limit=2),
        cc.write("/ws/a.py", "x = 1\n"),
        cc.edit("/ws/a.py", "1", "2", replace_all=True),
        cc.bash("python -m pytest -q", description="Run the tests", timeout=60_000),
        cc.glob("**/*.py", path="/ws"),
        cc.grep("def add", path="/ws", glob="*.py"),
    ]
    for call in (reply.content[-1] for reply in calls):
        schema = schemas[call["name"]]
        assert set(schema["required"]) <= set(call["input"]) <= set(schema["properties"]), call["name"]


@pytest.mark.timeout(120)
def test_an_unscripted_turn_ends_the_run_with_the_fakes_error(
    fake_anthropic: FakeAnthropic, workspace: Path, tmp_path: Path
) -> None:
    cc.serve_claude_code(fake_anthropic)

    session = run_cli(fake_anthropic, workspace, tmp_path / "home", "calc.add is wrong. Fix it.")

    assert (session.result.is_error, session.result.api_error_status) == (True, 500)
    assert "did not script a reply" in (session.result.result or "")
    assert fake_anthropic.unscripted == cc.agent_requests(fake_anthropic)
    assert (workspace / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"
