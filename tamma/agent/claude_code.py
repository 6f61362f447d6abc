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
  `BudgetGuard` also counts every streamed response, at Tamma's prices, and interrupts the
  session when a cap is reached (`_claude_usage`: each response's final usage, reconciled with
  the CLI's count at the end). The model must have a price, or the backend refuses to start.
- **Environment.** The CLI gets an isolated HOME under `$TAMMA_HOME/claude-code/`, a short
  private TMPDIR, telemetry, updates and non-essential traffic off, and of the secrets only the
  model's API key and base URL, resolved as the built-in provider resolves them
  (`_claude_access`): every other inherited variable is blanked (the SDK merges `env` over
  Tamma's own environment). No command the model runs sees any of it: the sandbox builds its
  environment from an allowlist.
- **Recording.** Every API response, tool call, tool result and refusal becomes the events
  the built-in loop writes (AI.RESPONSE.RECEIVED, TOOL.CALLED, TOOL.RESULT,
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
from pathlib import Path
from typing import Any, TypeVar

from tamma.agent._claude_access import ModelAccess, model_access
from tamma.agent._claude_policy import CLAUDE_CODE_TOOLS, bash_timeout_ms
from tamma.agent._claude_session import ClaudeSession
from tamma.agent._paths import Refused
from tamma.agent.budget import BudgetExceeded, BudgetGuard
from tamma.agent.loop import PhaseOutcome, record_budget_exceeded
from tamma.agent.settings import ClaudeCodeSettings
from tamma.agent.tools import Toolbox
from tamma.errors import ConfigError, TammaError
from tamma.providers import Message, PriceTable, TextBlock
from tamma.recorder import Recorder

__all__ = ["ClaudeCodeBackend", "ClaudeCodeFailed", "ClaudeCodeUnavailable", "ModelAccess", "model_access"]

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
        """`sessions`: the session id each phase had in an earlier attempt, to resume. A model
        without a price is refused here, before any session starts."""
        prices.require(settings.model, setting="agent.claude_code.model")
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
            from claude_agent_sdk import ClaudeSDKClient, ClaudeSDKError, CLINotFoundError, ResultMessage
        except ImportError:
            raise ClaudeCodeUnavailable(
                f"the claude-code agent backend needs claude-agent-sdk; {INSTALL_HINT}"
            ) from None
        reached = self.guard.reached()
        if reached is not None:
            return self.stopped_by_budget(phase, reached)
        session = ClaudeSession(phase, self)
        scratch = Path(tempfile.mkdtemp(prefix="tamma-cc-"))  # short: the CLI's socket path has a limit
        try:
            options = self._options(session, system, scratch)
            async with ClaudeSDKClient(options) as client:
                await client.query(prompt)
                async for message in client.receive_response():
                    if isinstance(message, ResultMessage):
                        return session.finished(message)
                    session.take(message)
                    if session.reached_cap():
                        await client.interrupt()
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

    def _options(self, session: ClaudeSession, system: str, scratch: Path) -> Any:
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
            include_partial_messages=True,  # the API's stream events: each response's final usage
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


def _run_to_completion(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the session's event loop here, or on a thread of its own when this thread already
    runs one (Prefect may call a task from inside an event loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
