"""Claude Code as the agent backend: one test-first phase is one Claude Code session.

The session runs through `claude-agent-sdk` (its wheel bundles the Claude Code CLI) in the
workspace, under Tamma's rules rather than Claude Code's own:

- **Tools.** Only Read, Write, Edit, Glob, Grep and Bash are offered. Every call passes a
  PreToolUse hook that applies Tamma's policy (`_claude_policy`): paths inside the workspace,
  reads included; `.git/` never writable; shell commands only from the allowlist. The
  permission callback applies the same policy to anything that reaches it. Refusals go back to
  the model and are recorded.
- **Shell.** An allowed Bash command runs in Tamma's sandbox, never in the CLI's shell (whose
  environment holds the API key): the hook allows it with an `updatedInput` that runs its argv
  through `python -I -m tamma.sandbox` (`_claude_policy.sandboxed_bash`), which the bundled
  CLI (2.1.x) honours. Chosen over an MCP tool calling `Toolbox.run` because the model keeps
  the Bash tool it knows. A call that cannot be rewritten is refused.
- **Budget.** The run's remaining turns and dollars are passed to the CLI. Tamma's own
  `BudgetGuard` also counts every streamed response and interrupts the session when a cap is
  reached.
- **Environment.** The CLI gets an isolated HOME under `$TAMMA_HOME/claude-code/`, a short
  private TMPDIR, telemetry, updates and non-essential traffic off, and of the secrets only the
  model's API key: every other inherited variable is blanked (the SDK merges `env` over
  Tamma's own environment). No command the model runs sees any of it: the sandbox builds its
  environment from an allowlist.
- **Recording.** Every assistant message, tool call, tool result and refusal becomes the
  events the built-in loop writes (AI.RESPONSE.RECEIVED, TOOL.CALLED, TOOL.RESULT,
  CODE.FILE.WRITTEN), tagged `agent:claude-code`; a call as the model sent it (its command,
  not the sandbox's wrapper). The session id is recorded, so a retried phase resumes its
  session instead of starting over.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tamma import event_types
from tamma.agent._claude_policy import CLAUDE_CODE_TOOLS, bash_timeout_ms, refusal, sandboxed_bash
from tamma.agent._paths import Refused
from tamma.agent.budget import BudgetExceeded, BudgetGuard
from tamma.agent.loop import PhaseOutcome, StopReason, record_budget_exceeded, record_file_written
from tamma.agent.settings import ClaudeCodeSettings
from tamma.agent.tools import Toolbox
from tamma.errors import ConfigError, TammaError
from tamma.providers import Message, PriceTable, TextBlock, Usage
from tamma.recorder import Recorder

if TYPE_CHECKING:
    from claude_agent_sdk import AssistantMessage, ResultMessage, UserMessage

__all__ = ["ClaudeCodeBackend", "ClaudeCodeFailed", "ClaudeCodeUnavailable", "ModelAccess"]

INSTALL_HINT = "install it with: pip install 'tamma[claude-code]'"
PHASE_RULES = """
You work for Tamma, inside one git workspace, on one phase of a test-first change.
- Use only the workspace's files. Tamma's policy refuses paths outside it, writes to .git/, and
  shell commands other than the test command and the allowed programs.
- Do not commit, push or create branches: Tamma checks, commits and pushes each phase itself.
- When the phase's work is done, stop and answer with a short summary of what you did."""
_QUIET = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_UPDATES": "1",
    "CLAUDE_CODE_MAX_RETRIES": "2",
    "API_TIMEOUT_MS": "300000",
    "PYTHONDONTWRITEBYTECODE": "1",
}
"""No telemetry, updates, error reports or other traffic but the model's; few, bounded retries."""
_INHERITED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
"""The only variables of Tamma's environment the CLI keeps; the SDK merges `env` over the rest."""
T = TypeVar("T")


class ClaudeCodeUnavailable(ConfigError):
    """The claude-code backend was chosen but its package or CLI is not there."""


class ClaudeCodeFailed(TammaError):
    """The Claude Code CLI could not start or stopped with an error of its own."""


@dataclass(frozen=True)
class ModelAccess:
    """What the CLI needs to reach the model, and nothing more."""

    api_key: str = field(repr=False)
    base_url: str | None = None


class ClaudeCodeBackend:
    name = "claude-code"

    def __init__(
        self,
        toolbox: Toolbox,
        guard: BudgetGuard,
        recorder: Recorder,
        *,
        settings: ClaudeCodeSettings,
        access: ModelAccess,
        home: Path,
        prices: PriceTable,
        sessions: Mapping[str, str] | None = None,
    ) -> None:
        """`sessions`: the session id each phase had in an earlier attempt, to resume."""
        self.toolbox, self.guard = toolbox, guard
        self.recorder = recorder.with_tags("agent:claude-code")
        self.settings, self.access, self.home, self.prices = settings, access, home, prices
        self.sessions = dict(sessions or {})
        """The session id of each phase so far: a phase run again resumes its session."""

    def run(self, phase: str, system: str, messages: Sequence[Message]) -> PhaseOutcome:
        prompt = "\n\n".join(
            block.text for message in messages for block in message.content if isinstance(block, TextBlock)
        )
        return _run_to_completion(self._session(phase, system, prompt))

    async def _session(self, phase: str, system: str, prompt: str) -> PhaseOutcome:
        try:
            from claude_agent_sdk import (
                AssistantMessage,
                ClaudeSDKClient,
                ClaudeSDKError,
                CLINotFoundError,
                ResultMessage,
                SystemMessage,
                UserMessage,
            )
        except ImportError:
            raise ClaudeCodeUnavailable(
                f"the claude-code agent backend needs claude-agent-sdk; {INSTALL_HINT}"
            ) from None
        reached = self.guard.reached()
        if reached is not None:
            return self.stopped_by_budget(phase, reached)
        session = _Session(phase, self)
        scratch = Path(tempfile.mkdtemp(prefix="tamma-cc-"))  # short: the CLI's socket path has a limit
        try:
            options = self._options(session, system, scratch)
            async with ClaudeSDKClient(options) as client:
                await client.query(prompt)
                async for message in client.receive_response():
                    if isinstance(message, SystemMessage) and message.subtype == "init":
                        session.started(str(message.data.get("session_id", "")))
                    elif isinstance(message, AssistantMessage):
                        if session.answered(message) is not None and not session.interrupted:
                            session.interrupted = True
                            await client.interrupt()
                    elif isinstance(message, UserMessage):
                        session.tool_results(message)
                    elif isinstance(message, ResultMessage):
                        return session.finished(message)
        except CLINotFoundError as missing:
            raise ClaudeCodeUnavailable(
                f"the Claude Code CLI was not found ({missing}); {INSTALL_HINT}"
            ) from None
        except ClaudeSDKError as failed:
            detail = " | ".join(session.stderr[-5:]) or str(failed)
            raise ClaudeCodeFailed(self.recorder.redactor.text(f"Claude Code failed: {detail}")) from None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return session.outcome("failed", "the Claude Code session ended without a result")

    def _options(self, session: _Session, system: str, scratch: Path) -> Any:
        from claude_agent_sdk import (
            ClaudeAgentOptions,
            HookMatcher,
            PermissionResultAllow,
            PermissionResultDeny,
        )

        async def pre_tool_use(hook_input: Any, tool_use_id: str | None, context: Any) -> Any:
            call = (tool_use_id or "", hook_input["tool_name"], hook_input["tool_input"])
            decision: dict[str, Any] = {
                "permissionDecision": "allow",
                "permissionDecisionReason": "allowed by Tamma's policy",
            }
            try:
                decision["updatedInput"] = session.allowed_input(*call)
            except Refused as refused:
                decision = {"permissionDecision": "deny", "permissionDecisionReason": str(refused)}
            return {"hookSpecificOutput": {"hookEventName": "PreToolUse", **decision}}

        async def can_use_tool(tool: str, arguments: dict[str, Any], context: Any) -> Any:
            try:
                allowed = session.allowed_input(context.tool_use_id or "", tool, arguments)
            except Refused as refused:
                return PermissionResultDeny(message=str(refused))
            return PermissionResultAllow(updated_input=allowed)

        spent = self.guard.spent
        budget = self.guard.budget
        self.home.mkdir(parents=True, exist_ok=True)
        return ClaudeAgentOptions(
            cwd=str(self.toolbox.root),
            tools=list(CLAUDE_CODE_TOOLS),
            allowed_tools=[],  # an allow rule would skip the permission callback
            setting_sources=[],  # no user or project settings: they can add hooks and rules
            permission_mode="default",
            hooks={"PreToolUse": [HookMatcher(hooks=[pre_tool_use])]},
            can_use_tool=can_use_tool,
            system_prompt={"type": "preset", "preset": "claude_code", "append": f"{system}\n{PHASE_RULES}"},
            model=self.settings.model,
            max_turns=max(1, min(self.settings.max_turns, budget.max_turns - spent.turns)),
            max_budget_usd=max(0.0, budget.max_cost_usd - spent.cost_usd),
            cli_path=self.settings.cli_path,
            resume=self.sessions.get(session.phase),
            env=self._environment(scratch),
            stderr=session.stderr.append,
        )

    def _environment(self, scratch: Path) -> dict[str, str]:
        blanked = {name: "" for name in os.environ if name not in _INHERITED}
        model = {"ANTHROPIC_API_KEY": self.access.api_key, "ANTHROPIC_AUTH_TOKEN": ""}
        if self.access.base_url:
            model["ANTHROPIC_BASE_URL"] = self.access.base_url
        return {
            **blanked,
            **_QUIET,
            **model,
            "HOME": str(self.home),
            "CLAUDE_CONFIG_DIR": str(self.home / ".claude"),
            "CLAUDE_CODE_TMPDIR": str(scratch),
            "TMPDIR": str(scratch),
            "BASH_MAX_TIMEOUT_MS": str(bash_timeout_ms(self.toolbox.policy)),
        }

    def stopped_by_budget(self, phase: str, reached: BudgetExceeded) -> PhaseOutcome:
        """Record the cap reached and the phase's outcome."""
        record_budget_exceeded(self.recorder, phase, reached, self.guard)
        return PhaseOutcome(phase, "budget", str(reached))


class _Session:
    """One phase's conversation as it streams: what to record, and how it ended."""

    def __init__(self, phase: str, backend: ClaudeCodeBackend) -> None:
        self.phase, self.backend = phase, backend
        self.recorder = backend.recorder
        self.stderr: list[str] = []
        self.interrupted = False
        self._calls: dict[str, tuple[str, dict[str, Any]]] = {}
        self._refused: set[str] = set()
        self._responses: set[str] = set()
        self._pending: dict[str, Any] | None = None
        self._files: list[str] = []
        self._budget_stop: str | None = None
        self._text = ""

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

    def answered(self, message: AssistantMessage) -> BudgetExceeded | None:
        """Take one streamed assistant message (an API response may come as several, one per
        content block); the budget cap reached, if any, so the session can be interrupted."""
        from claude_agent_sdk import TextBlock as SdkText
        from claude_agent_sdk import ToolUseBlock

        key = message.message_id or f"message-{len(self._responses)}"
        if self._pending is not None and self._pending["id"] != key:
            self.flush()
        if self._pending is None:
            usage, cost = self._usage(message)
            self._responses.add(key)
            self._pending = {"id": key, "message": message, "content": [], "usage": usage, "cost": cost}
        for block in message.content:
            if isinstance(block, SdkText):
                self._pending["content"].append({"type": "text", "text": block.text})
                self._text = block.text
            elif isinstance(block, ToolUseBlock):
                self._pending["content"].append(
                    {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
                )
                self._calls[block.id] = (block.name, block.input)
        reached = self.backend.guard.reached()
        if reached is not None and self._budget_stop is None:
            self._budget_stop = str(reached)
            self.flush()
            self.backend.stopped_by_budget(self.phase, reached)
        return reached

    def flush(self) -> None:
        """Record the response taken so far as one AI.RESPONSE.RECEIVED and its tool calls."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        message, content = pending["message"], pending["content"]
        self.recorder.record(
            event_types.AI_RESPONSE_RECEIVED,
            actor="model",
            provider="claude-code",
            model=message.model,
            phase=self.phase,
            response={"id": pending["id"], "content": content, "stop_reason": message.stop_reason},
            usage=pending["usage"].model_dump(),
            cost_usd=pending["cost"],
            error=message.error,
        )
        for call in (entry for entry in content if entry["type"] == "tool_use"):
            self.recorder.record(
                event_types.TOOL_CALLED,
                phase=self.phase,
                call_id=call["id"],
                tool=call["name"],
                input=call["input"],
            )

    def _usage(self, message: AssistantMessage) -> tuple[Usage, float]:
        """The response's usage and cost, added to the run's budget (once per response)."""
        raw = message.usage or {}
        usage = Usage(
            input_tokens=int(raw.get("input_tokens", 0)),
            output_tokens=int(raw.get("output_tokens", 0)),
            cache_read_tokens=int(raw.get("cache_read_input_tokens", 0)),
            cache_write_tokens=int(raw.get("cache_creation_input_tokens", 0)),
        )
        cost = self.backend.prices.cost(message.model, usage)
        self.backend.guard.add(usage.total_input_tokens + usage.output_tokens, cost)
        return usage, cost

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
        self.flush()
        self.recorder.record(
            event_types.AGENT_SESSION_FINISHED,
            phase=self.phase,
            session_id=result.session_id,
            subtype=result.subtype,
            is_error=result.is_error,
            num_turns=result.num_turns,
            total_cost_usd=result.total_cost_usd,
            usage=result.usage or {},
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


def _run_to_completion(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the session's event loop here, or on a thread of its own when this thread already
    runs one (Prefect may call a task from inside an event loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
