"""One Claude Code session as it streams: what Tamma records, what it counts, how it ended.

The SDK hands over the CLI's messages one by one: the API's stream events (`message_start`,
`message_delta`), one `AssistantMessage` per content block, the tool results as a
`UserMessage`, and a `ResultMessage` at the end. They become the events the built-in loop
writes, one AI.RESPONSE.RECEIVED per API response with its final usage (`_claude_usage`).
Policy decisions on tool calls are `_claude_policy`'s; this module only applies them, and
refuses every call once a cap of the run's budget is reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tamma import event_types
from tamma.agent._claude_policy import refusal, sandboxed_bash
from tamma.agent._claude_usage import SessionMeter, Spent
from tamma.agent._paths import Refused
from tamma.agent.loop import PhaseOutcome, StopReason, record_file_written

if TYPE_CHECKING:
    from claude_agent_sdk import AssistantMessage, ResultMessage, UserMessage

    from tamma.agent.claude_code import ClaudeCodeBackend

__all__ = ["ClaudeSession"]


@dataclass
class _Response:
    """One API response as it streams, until it is recorded."""

    id: str
    model: str
    spent: Spent
    content: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    error: str | None = None


class ClaudeSession:
    """One phase's conversation as it streams: what to record, and how it ended."""

    def __init__(self, phase: str, backend: ClaudeCodeBackend) -> None:
        self.phase, self.backend = phase, backend
        self.recorder = backend.recorder
        self.meter = SessionMeter(backend.guard, backend.prices, backend.settings.model)
        self.stderr: list[str] = []
        self._calls: dict[str, tuple[str, dict[str, Any]]] = {}
        self._refused: set[str] = set()
        self._opened = 0
        self._pending: _Response | None = None
        self._files: list[str] = []
        self._budget_stop: str | None = None
        self._text = ""

    def take(self, message: Any) -> None:
        """One message of the session but its result."""
        from claude_agent_sdk import AssistantMessage, StreamEvent, SystemMessage, UserMessage

        if isinstance(message, StreamEvent):
            self.streamed(message.event)
        elif isinstance(message, SystemMessage) and message.subtype == "init":
            self.started(str(message.data.get("session_id", "")))
        elif isinstance(message, AssistantMessage):
            self.answered(message)
        elif isinstance(message, UserMessage):
            self.tool_results(message)

    def started(self, session_id: str) -> None:
        self.recorder.record(
            event_types.AGENT_SESSION_STARTED,
            phase=self.phase,
            backend="claude-code",
            session_id=session_id,
            resumed=self.backend.sessions.get(self.phase) == session_id,
        )
        self.backend.sessions[self.phase] = session_id

    def allowed_input(self, call_id: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The input the call runs with (a Bash command in the sandbox), or `Refused` saying why
        Tamma refuses it; once a cap is reached, every call is refused, so nothing more happens
        in the workspace while the interrupt reaches the CLI."""
        toolbox = self.backend.toolbox
        try:
            if self._budget_stop is not None:
                raise Refused(f"the run's budget is spent ({self._budget_stop})")
            why = refusal(toolbox.root, toolbox.policy, tool, arguments)
            if why:
                raise Refused(why)
            return sandboxed_bash(toolbox, arguments) if tool == "Bash" else arguments
        except Refused:
            self._refused.add(call_id)
            raise

    def reached_cap(self) -> bool:
        """True once, when a cap of the run's budget is first reached, which is recorded; from
        then on every call is refused and the session is to be interrupted."""
        if self._budget_stop is not None:
            return False
        reached = self.backend.guard.reached()
        if reached is None:
            return False
        self._budget_stop = str(reached)
        self.backend.stopped_by_budget(self.phase, reached)
        return True

    def streamed(self, event: dict[str, Any]) -> None:
        """An API stream event: `message_start` opens a response and counts its input at once,
        `message_delta` brings its final usage and why it stopped."""
        if event.get("type") == "message_start":
            start = event.get("message") or {}
            self._response(
                start.get("id") or self._unnamed(), str(start.get("model", "")), start.get("usage")
            )
        elif event.get("type") == "message_delta" and self._pending is not None:
            pending = self._pending
            pending.spent = self.meter.ended(pending.model, pending.spent, event.get("usage"))
            pending.stop_reason = (event.get("delta") or {}).get("stop_reason") or pending.stop_reason

    def answered(self, message: AssistantMessage) -> None:
        """One content block of a response (the SDK sends one message per block)."""
        from claude_agent_sdk import TextBlock as SdkText
        from claude_agent_sdk import ToolUseBlock

        response = self._response(message.message_id or self._unnamed(), message.model, message.usage)
        response.stop_reason = message.stop_reason or response.stop_reason
        response.error = message.error or response.error
        for block in message.content:
            if isinstance(block, SdkText):
                response.content.append({"type": "text", "text": block.text})
                self._text = block.text
            elif isinstance(block, ToolUseBlock):
                response.content.append(
                    {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
                )
                self._calls[block.id] = (block.name, block.input)

    def _unnamed(self) -> str:
        """A key for a response whose id did not come (an older CLI's): one response per message."""
        return f"message-{self._opened}"

    def _response(self, key: str, model: str, usage: dict[str, Any] | None) -> _Response:
        """The response `key`: the one streaming, or a new one whose first figures are counted
        (the one before it is recorded)."""
        if self._pending is not None and self._pending.id == key:
            return self._pending
        self.flush()
        self._opened += 1
        self._pending = _Response(key, model, self.meter.started(model, usage))
        return self._pending

    def flush(self) -> None:
        """Record the response taken so far."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._record(pending)

    def _record(self, response: _Response, **marks: Any) -> None:
        """One AI.RESPONSE.RECEIVED, and a TOOL.CALLED per call it makes."""
        self.recorder.record(
            event_types.AI_RESPONSE_RECEIVED,
            actor="model",
            provider="claude-code",
            model=response.model,
            phase=self.phase,
            response={"id": response.id, "content": response.content, "stop_reason": response.stop_reason},
            usage=response.spent.usage.model_dump(),
            cost_usd=response.spent.cost_usd,
            error=response.error,
            **marks,
        )
        for call in (entry for entry in response.content if entry["type"] == "tool_use"):
            self.recorder.record(
                event_types.TOOL_CALLED,
                phase=self.phase,
                call_id=call["id"],
                tool=call["name"],
                input=call["input"],
            )

    def tool_results(self, message: UserMessage) -> None:
        from claude_agent_sdk import ToolResultBlock

        self.flush()
        if isinstance(message.content, str):
            return
        for block in message.content:
            if not isinstance(block, ToolResultBlock):
                continue
            tool, arguments = self._calls.get(block.tool_use_id, ("?", {}))
            content = block.content if isinstance(block.content, str) else _joined(block.content)
            failed = bool(block.is_error)
            self.recorder.record(
                event_types.TOOL_RESULT,
                phase=self.phase,
                call_id=block.tool_use_id,
                tool=tool,
                is_error=failed,
                refused=block.tool_use_id in self._refused,
                content=content,
            )
            if tool in ("Write", "Edit") and not failed:
                self._file_written(str(arguments.get("file_path", "")))

    def _file_written(self, given: str) -> None:
        root = self.backend.toolbox.root.resolve()
        path = Path(given) if Path(given).is_absolute() else root / given
        relative = path.resolve().relative_to(root).as_posix()
        self._files.append(relative)
        record_file_written(self.recorder, self.backend.toolbox, relative, phase=self.phase)

    def finished(self, result: ResultMessage) -> PhaseOutcome:
        """Record the session's end: a correcting figure first when the CLI counted more than the
        responses seen, then the CLI's own figures beside Tamma's total (`cost_usd`)."""
        self.flush()
        unseen = self.meter.unseen(result.usage)
        if unseen is not None:
            self._record(
                _Response(f"{result.session_id}:unseen", self.meter.model, unseen), reconciliation=True
            )
        self.recorder.record(
            event_types.AGENT_SESSION_FINISHED,
            phase=self.phase,
            session_id=result.session_id,
            subtype=result.subtype,
            is_error=result.is_error,
            num_turns=result.num_turns,
            total_cost_usd=result.total_cost_usd,
            usage=result.usage or {},
            cost_usd=self.meter.total.cost_usd,
            permission_denials=result.permission_denials or [],
        )
        if self._budget_stop is not None or result.subtype == "error_max_budget_usd":
            return self.outcome(
                "budget", self._budget_stop or "Claude Code reached the run's remaining dollars"
            )
        if result.is_error:
            reason = result.result or "; ".join(result.errors or []) or result.subtype
            return self.outcome("failed", f"Claude Code stopped: {reason}")
        return self.outcome("finished", "Claude Code ended the phase", summary=result.result or self._text)

    def outcome(self, stop: StopReason, reason: str, summary: str = "") -> PhaseOutcome:
        return PhaseOutcome(
            self.phase, stop, reason, summary=summary, files_written=tuple(dict.fromkeys(self._files))
        )


def _joined(content: Any) -> str:
    if not content:
        return ""
    return "\n".join(str(item.get("text", item)) if isinstance(item, dict) else str(item) for item in content)
