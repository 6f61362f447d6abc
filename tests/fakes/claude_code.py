"""`FakeAnthropic` as the model behind the Claude Code CLI (the one `claude-agent-sdk` bundles).

Why a module of its own: the CLI is a client with habits the plain Messages API tests never
show. Besides the agent's own turns it may probe `HEAD /api/hello` and ask for a session title
(a request with no tools whose `output_config.format` is a `json_schema`), concurrently with
the first turn; `isolated_env` turns both off, but a test that leaves them on must not break.
`serve_claude_code(fake)` answers them aside, so the script holds exactly the agent's turns:
only a request that offers one of the agent's tools (`AGENT_TOOLS`) takes a scripted reply,
and an unscripted one still gets the fake's 500 naming it. The rest of what the CLI sends
needs nothing special: `?beta=true` (routes ignore the query), `role: "system"` messages,
adaptive `thinking`, `output_config`, `context_management`, `metadata`, `cache_control` and
`defer_loading` tools are recorded and otherwise ignored, and since the CLI always asks for a
stream, every reply goes out as SSE.

The builders (`read`, `write`, `edit`, `bash`, `glob`, `grep`) script one tool call each, with
the input field names of the CLI's tool schemas (CLI 2.1.327; required | optional; paths
absolute, as the schemas ask):

    Read   file_path | offset, limit, pages, allow_large
    Write  file_path, content
    Edit   file_path, old_string, new_string | replace_all
    Bash   command | description, timeout (ms), run_in_background, dangerouslyDisableSandbox
    Glob   pattern | path
    Grep   pattern | path, glob, output_mode, -A, -B, -C, context, -n, -i, -o, type, head_limit,
           offset, multiline

    serve_claude_code(fake_anthropic)
    fake_anthropic.enqueue(cc.read(calc), cc.edit(calc, "a - b", "a + b"), cc.answer("Fixed."))
"""

from __future__ import annotations

import json
from collections.abc import Collection
from functools import partial
from pathlib import Path
from typing import Any

from tests.fakes._server import FakeServer, RecordedRequest, ScriptEntry, TextReply
from tests.fakes.anthropic import FakeAnthropic, MessageReply, text_message, tool_use_message

AGENT_TOOLS = frozenset({"Bash", "Edit", "Glob", "Grep", "Read", "Write"})
"""Built-in tools that mark a request as an agent turn; the CLI's side requests offer none."""

FAKE_API_KEY = "sk-ant-fake-0000000000000000000000000000"


def serve_claude_code(fake: FakeAnthropic, *, agent_tools: Collection[str] = AGENT_TOOLS) -> None:
    """Answer the CLI's probes and side requests outside the script (until `fake.reset()`)."""
    fake.aside = partial(_side_reply, agent_tools=agent_tools)


def _side_reply(request: RecordedRequest, *, agent_tools: Collection[str]) -> ScriptEntry | None:
    """The answer to a request that is not an agent turn; None for an agent turn (the script's).

    A structured-output request gets the smallest JSON its schema accepts (a title request:
    `{"title": "Fake title"}`), so the CLI's own validation passes without a scripted entry.
    """
    if request.path == "/api/hello":
        return TextReply("", status=200)
    if (request.method, request.path) != ("POST", "/v1/messages") or is_agent_request(request, agent_tools):
        return None
    output_format = (request.json.get("output_config") or {}).get("format") or {}
    if output_format.get("type") == "json_schema":
        return text_message(json.dumps(_example(output_format.get("schema") or {})))
    return text_message("Fake side reply")


def is_agent_request(request: RecordedRequest, agent_tools: Collection[str] = AGENT_TOOLS) -> bool:
    """True for a Messages request that offers one of the agent's tools: one turn of the agent."""
    if (request.method, request.path) != ("POST", "/v1/messages") or not isinstance(request.body, dict):
        return False
    return any(tool.get("name") in agent_tools for tool in request.body.get("tools") or [])


def agent_requests(fake: FakeServer, agent_tools: Collection[str] = AGENT_TOOLS) -> list[RecordedRequest]:
    """The agent's turns the fake received, in order, without probes and side requests."""
    return [request for request in fake.requests if is_agent_request(request, agent_tools)]


def tool_results(request: RecordedRequest) -> dict[str, dict[str, Any]]:
    """The `tool_result` blocks of the request's last user message, by `tool_use_id` (the CLI
    may append `role: "system"` messages after it)."""
    content = next(m["content"] for m in reversed(request.json["messages"]) if m["role"] == "user")
    blocks = content if isinstance(content, list) else []
    return {block["tool_use_id"]: block for block in blocks if block.get("type") == "tool_result"}


def _example(schema: dict[str, Any], name: str = "value") -> Any:
    """The smallest value of a simple JSON schema: required properties only, strings `Fake <name>`."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = str(schema.get("type"))
    if kind == "object":
        properties = schema.get("properties") or {}
        return {key: _example(properties.get(key) or {}, key) for key in schema.get("required", [])}
    return {"array": [], "integer": 0, "number": 0, "boolean": False, "null": None}.get(kind, f"Fake {name}")


def isolated_env(base_url: str, home: Path) -> dict[str, str]:
    """`ClaudeAgentOptions.env` for a CLI that talks only to `base_url` and writes only under `home`.

    The SDK merges this over `os.environ`, so every inherited setting that matters is overridden:
    nonessential traffic (title request, `/api/hello`, DNS look-ups), telemetry and updates off,
    config, transcripts, temp files and sockets under `home`, and a single retry with a 30 s
    timeout so a broken fake fails the test in seconds instead of minutes of backoff.
    """
    return {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": FAKE_API_KEY,
        "ANTHROPIC_AUTH_TOKEN": "",
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "CLAUDE_CODE_TMPDIR": str(home / "tmp"),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": "1",
        "API_TIMEOUT_MS": "30000",
    }


# -- the agent's turns --------------------------------------------------------------------------


def read(
    file_path: str, *, offset: int | None = None, limit: int | None = None, text: str | None = None
) -> MessageReply:
    return _call("Read", text, file_path=file_path, offset=offset, limit=limit)


def write(file_path: str, content: str, *, text: str | None = None) -> MessageReply:
    return _call("Write", text, file_path=file_path, content=content)


def edit(
    file_path: str,
    old_string: str,
    new_string: str,
    *,
    replace_all: bool | None = None,
    text: str | None = None,
) -> MessageReply:
    return _call(
        "Edit",
        text,
        file_path=file_path,
        old_string=old_string,
        new_string=new_string,
        replace_all=replace_all,
    )


def bash(
    command: str, *, description: str | None = None, timeout: int | None = None, text: str | None = None
) -> MessageReply:
    """`timeout` is in milliseconds, as the CLI's schema has it."""
    return _call("Bash", text, command=command, description=description, timeout=timeout)


def glob(pattern: str, *, path: str | None = None, text: str | None = None) -> MessageReply:
    return _call("Glob", text, pattern=pattern, path=path)


def grep(
    pattern: str, *, path: str | None = None, glob: str | None = None, text: str | None = None
) -> MessageReply:
    return _call("Grep", text, pattern=pattern, path=path, glob=glob)


def answer(text: str) -> MessageReply:
    """The agent's last turn: text and `end_turn`, after which the CLI reports its result."""
    return text_message(text)


def _call(name: str, text: str | None, **fields: Any) -> MessageReply:
    """One tool call, preceded by `text` when given; fields left as None are not sent."""
    tool_input = {key: value for key, value in fields.items() if value is not None}
    return tool_use_message(name, tool_input, text=text)
