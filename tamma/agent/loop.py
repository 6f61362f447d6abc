"""The tool-use loop: ask the model, run the tools it calls, answer with their results, repeat.

One `run` is one phase's conversation. It ends when the model calls `finish`, or earlier for a
reason the loop decides in code: the budget guard refuses the next call, the model repeats the
same call on an unchanged tree (`repeat_limit` times), or `idle_turns` turns go by without the
tree changing. Every request and response (through `RecordingProvider`), tool call, tool
result, file written and test run becomes an event, so the session can be audited and
replayed. The outcome carries the conversation so a stopped phase can be resumed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tamma import event_types
from tamma.agent.answers import looks_like_refusal, quote_model
from tamma.agent.budget import BudgetExceeded, BudgetGuard
from tamma.agent.tools import Toolbox, ToolResult
from tamma.agent.workspace import Workspace
from tamma.providers import (
    Completed,
    Message,
    Provider,
    Request,
    Response,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from tamma.recorder import Recorder
from tamma.sandbox import CommandResult

__all__ = ["LoopSettings", "PhaseOutcome", "StopReason", "ToolUseLoop", "with_user_text"]

StopReason = Literal["finished", "budget", "repeated_call", "no_progress", "refused", "failed"]
"""`refused`: the model declined the work (its words are in the reason); `failed`: the backend
itself could not go on (Claude Code's API errors, its turn limit)."""
RECORDED_OUTPUT_CHARS = 8_000
RECORDED_FILE_BYTES = 200_000
NUDGE = "Continue by calling the tools; call finish(summary) when this phase is done."


@dataclass(frozen=True)
class LoopSettings:
    model: str = ""
    max_tokens: int = 8192
    repeat_limit: int = 3
    """The same call with the same arguments on an unchanged tree this many times stops the loop."""
    idle_turns: int = 12
    """This many model turns in a row that leave the tree unchanged stop the loop."""


@dataclass(frozen=True)
class PhaseOutcome:
    phase: str
    stop: StopReason
    reason: str
    summary: str = ""
    messages: tuple[Message, ...] = ()
    files_written: tuple[str, ...] = ()
    last_tests: CommandResult | None = None

    @property
    def finished(self) -> bool:
        return self.stop == "finished"


@dataclass
class _Progress:
    """What the loop tracks across turns to notice it is going round in circles."""

    fingerprint: str
    idle_turns: int = 0
    calls_on_this_tree: dict[str, int] = field(default_factory=dict)
    files_written: list[str] = field(default_factory=list)
    last_tests: CommandResult | None = None

    def tree_seen(self, fingerprint: str) -> None:
        if fingerprint == self.fingerprint:
            self.idle_turns += 1
        else:
            self.fingerprint, self.idle_turns = fingerprint, 0
            self.calls_on_this_tree.clear()


class ToolUseLoop:
    """Tamma's own backend: the model calls Tamma's tools, one request at a time."""

    name = "builtin"

    def __init__(
        self,
        provider: Provider,
        toolbox: Toolbox,
        guard: BudgetGuard,
        recorder: Recorder,
        *,
        fingerprint: Callable[[], str],
        settings: LoopSettings | None = None,
    ) -> None:
        self.provider, self.toolbox, self.guard, self.recorder = provider, toolbox, guard, recorder
        self.settings = settings or LoopSettings()
        self._fingerprint = fingerprint

    def run(self, phase: str, system: str, messages: Sequence[Message]) -> PhaseOutcome:
        conversation = list(messages)
        progress = _Progress(self._fingerprint())
        while True:
            request = Request(
                messages=tuple(conversation),
                system=system,
                tools=self.toolbox.specs,
                model=self.settings.model,
                max_tokens=self.settings.max_tokens,
                purpose=phase,
            )
            try:
                self.guard.before_call(request, self.settings.model)
            except BudgetExceeded as exceeded:
                record_budget_exceeded(self.recorder, phase, exceeded, self.guard)
                return self._outcome(phase, "budget", str(exceeded), conversation, progress)
            response = self._ask(request)
            self.guard.after_call(response)
            conversation.append(response.as_message())
            if refused(response):
                reason = f"the model refused: {quote_model(response.text, self.recorder.redactor)}"
                return self._outcome(phase, "refused", reason, conversation, progress)
            if not response.tool_uses:
                conversation = with_user_text(conversation, NUDGE)
            else:
                results, stop = self._run_tools(phase, response.tool_uses, progress)
                conversation.append(Message(role="user", content=tuple(block for block, _ in results)))
                finished = next((r.finished for _, r in results if r.finished is not None), None)
                if finished is not None:
                    return self._outcome(
                        phase, "finished", "the model called finish", conversation, progress, finished
                    )
                if stop is not None:
                    return self._outcome(phase, "repeated_call", stop, conversation, progress)
            progress.tree_seen(self._fingerprint())
            if progress.idle_turns >= self.settings.idle_turns:
                reason = f"{progress.idle_turns} turns in a row changed nothing in the workspace"
                return self._outcome(phase, "no_progress", reason, conversation, progress)

    def _ask(self, request: Request) -> Response:
        """Stream the call (progress can be shown as it comes) and return its final response."""
        for event in self.provider.stream(request):
            if isinstance(event, Completed):
                return event.response
        raise AssertionError("a provider stream always ends with Completed")

    def _run_tools(
        self, phase: str, uses: Sequence[ToolUseBlock], progress: _Progress
    ) -> tuple[list[tuple[ToolResultBlock, ToolResult]], str | None]:
        """Run each call in order; a call repeated on an unchanged tree is refused, and the
        loop stops after answering every call of the turn (the model needs a result for each)."""
        results: list[tuple[ToolResultBlock, ToolResult]] = []
        stop: str | None = None
        for use in uses:
            key = f"{use.name} {json.dumps(use.input, sort_keys=True)}"
            seen = progress.calls_on_this_tree.get(key, 0) + 1
            progress.calls_on_this_tree[key] = seen
            self.recorder.record(
                event_types.TOOL_CALLED,
                actor="model",
                phase=phase,
                call_id=use.id,
                tool=use.name,
                input=use.input,
            )
            if seen >= self.settings.repeat_limit:
                stop = f"{use.name} was called {seen} times with the same arguments on an unchanged workspace"
                result = ToolResult(f"refused: {stop}; the loop stops", is_error=True, refused=True)
            else:
                started = time.perf_counter()
                result = self.toolbox.call(use.name, use.input)
                self._record_effects(phase, result, time.perf_counter() - started, use.id)
            self._record_result(phase, use, result)
            if result.written:
                progress.files_written.append(result.written)
            if result.tests is not None:
                progress.last_tests = result.tests
            results.append(
                (
                    ToolResultBlock(tool_use_id=use.id, content=result.content, is_error=result.is_error),
                    result,
                )
            )
        return results, stop

    def _record_result(self, phase: str, use: ToolUseBlock, result: ToolResult) -> None:
        self.recorder.record(
            event_types.TOOL_RESULT,
            phase=phase,
            call_id=use.id,
            tool=use.name,
            is_error=result.is_error,
            refused=result.refused,
            content=result.content[-RECORDED_OUTPUT_CHARS:],
        )

    def _record_effects(self, phase: str, result: ToolResult, seconds: float, call_id: str) -> None:
        if result.written:
            record_file_written(self.recorder, self.toolbox, result.written, phase=phase, call_id=call_id)
        if result.tests is not None:
            record_command(self.recorder, event_types.TESTS_RAN, result.tests, phase=phase, call_id=call_id)

    def _outcome(
        self,
        phase: str,
        stop: StopReason,
        reason: str,
        conversation: list[Message],
        progress: _Progress,
        summary: str = "",
    ) -> PhaseOutcome:
        return PhaseOutcome(
            phase=phase,
            stop=stop,
            reason=reason,
            summary=summary,
            messages=tuple(conversation),
            files_written=tuple(dict.fromkeys(progress.files_written)),
            last_tests=progress.last_tests,
        )


def refused(response: Response) -> bool:
    """A refusal: the API says so, or a turn with no tool call opens like one. Asking again
    after a refusal only buys the same refusal, so the phase stops at the first."""
    return response.stop_reason == "refusal" or (not response.tool_uses and looks_like_refusal(response.text))


def record_file_written(recorder: Recorder, toolbox: Toolbox, path: str, **context: str) -> None:
    """CODE.FILE.WRITTEN with the file's content (for replay) and its hash (for checks)."""
    data = (toolbox.root / path).read_bytes()
    recorder.record(
        event_types.CODE_FILE_WRITTEN,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content=data[:RECORDED_FILE_BYTES].decode("utf-8", "replace"),
        truncated=len(data) > RECORDED_FILE_BYTES,
        **context,
    )


def record_budget_exceeded(
    recorder: Recorder, phase: str, exceeded: BudgetExceeded, guard: BudgetGuard
) -> None:
    """BUDGET.EXCEEDED: which cap, how far along, and the run's spend so far (every backend)."""
    recorder.record(
        event_types.BUDGET_EXCEEDED,
        phase=phase,
        limit=exceeded.limit,
        used=exceeded.used,
        next_call=exceeded.next_call,
        cap=exceeded.cap,
        spent=vars(guard.spent),
    )


def record_commit(recorder: Recorder, workspace: Workspace, sha: str, **context: str) -> None:
    """COMMIT.CREATED with the commit's tree (what a replay compares) and its dates (what a
    replay pins, so its commit gets the recorded sha)."""
    recorder.record(
        event_types.COMMIT_CREATED, sha=sha, branch=workspace.branch, **workspace.commit_facts(sha), **context
    )


def record_command(recorder: Recorder, event_type: str, result: CommandResult, **context: Any) -> None:
    recorder.record(
        event_type,
        command=list(result.argv),
        exit_code=result.exit_code,
        passed=result.passed,
        timed_out=result.timed_out,
        output=result.output[-RECORDED_OUTPUT_CHARS:],
        **context,
    )


def with_user_text(conversation: Sequence[Message], text: str) -> list[Message]:
    """`conversation` plus `text` from the user, joined to a trailing user turn if there is one
    (turns must alternate between user and assistant)."""
    messages = list(conversation)
    if messages and messages[-1].role == "user":
        last = messages.pop()
        messages.append(Message(role="user", content=(*last.content, TextBlock(text=text))))
    else:
        messages.append(Message.user(text))
    return messages
