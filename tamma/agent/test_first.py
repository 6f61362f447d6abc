"""Test-first implementation: four phases, each a conversation with its own prompt, each
checked in code before the next one starts.

1. tests: the model writes tests for the issue; the suite must then FAIL (if it passes, the
   model is told its tests do not capture the issue and tries again);
2. fix: the model changes the code; the suite must PASS;
3. refactor: the suite must stay green, or the refactoring is reverted;
4. lint: the linter must report no problem the change introduced in the changed files
   (skipped when it reports none; problems already there before the change do not count, see
   `tamma.agent.lint`).

The checks are Tamma's own runs of the test and lint commands, not the model's word. Each
passed phase is a commit on the issue branch. Budgets, loop detection and recording live in
`ToolUseLoop`; this module decides only what each phase needs and whether it got it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from tamma import event_types
from tamma.agent.backend import AgentBackend
from tamma.agent.budget import Spend
from tamma.agent.lint import LintReport, check_linter_available, lint_change
from tamma.agent.loop import (
    PhaseOutcome,
    StopReason,
    record_command,
    record_commit,
    with_user_text,
)
from tamma.agent.prompts import Phase, feedback, phase_system_prompt, task_message
from tamma.agent.workspace import Workspace
from tamma.platforms import Issue
from tamma.providers import Message
from tamma.recorder import Recorder
from tamma.sandbox import CommandResult

__all__ = ["Implementation", "TestFirstAgent"]

EVIDENCE_CHARS = 2_000
"""How much of the test output before and after goes into AGENT.FINISHED (and the PR body)."""


@dataclass(frozen=True)
class Implementation:
    """How the session ended and what it left on the branch."""

    status: Literal["done", "stopped"]
    reason: str
    stopped_in: Phase | None = None
    summaries: dict[str, str] = field(default_factory=dict)
    commits: tuple[str, ...] = ()
    files_changed: tuple[str, ...] = ()
    tests_before: CommandResult | None = None
    tests_after: CommandResult | None = None
    spent: Spend = field(default_factory=Spend)
    conversation: tuple[Message, ...] = ()
    """The stopped phase's conversation, to resume it with a larger budget."""
    passed: frozenset[str] = frozenset()
    """Phases already behind it (passed, skipped, reverted), to resume after them."""

    @property
    def summary(self) -> str:
        return "\n\n".join(f"{phase}: {text}" for phase, text in self.summaries.items() if text)


@dataclass(frozen=True)
class _Verdict:
    ok: bool
    result: CommandResult | None
    feedback: str = ""


class _Stopped(Exception):
    def __init__(
        self,
        phase: Phase,
        cause: StopReason | Literal["check"],
        reason: str,
        conversation: tuple[Message, ...],
    ) -> None:
        super().__init__(reason)
        self.phase, self.cause, self.reason, self.conversation = phase, cause, reason, conversation


class TestFirstAgent:
    __test__ = False  # a pytest collection hint: this class is not a test

    def __init__(
        self,
        loop: AgentBackend,
        workspace: Workspace,
        recorder: Recorder,
        *,
        lint_command: tuple[str, ...] | None = None,
        attempts_per_phase: int = 3,
    ) -> None:
        self.loop, self.workspace, self.recorder = loop, workspace, recorder
        self.lint_command = lint_command
        self.attempts = attempts_per_phase
        self._commits: list[str] = []
        self._summaries: dict[str, str] = {}
        self._resume: Implementation | None = None
        self._plan = ""

    def implement(
        self, issue: Issue, *, plan: str = "", resume: Implementation | None = None
    ) -> Implementation:
        """Run the phases in order. `resume` is a stopped session on this same workspace (for
        instance stopped by its budget): its passed phases are skipped and the phase it stopped
        in goes on from its conversation; give the loop's guard a larger budget first. `plan` is
        the approved plan, shown to the model with the issue. A run resumed after a kill passes
        its completed phases (`passed`), with the workspace at the last one's commit.

        A lint command that cannot run is a `ConfigError`, raised before any model call."""
        self._resume, self._plan = resume, plan
        self._summaries = dict(resume.summaries) if resume else {}
        self._commits = list(resume.commits) if resume else []
        done = set(self._summaries) | (resume.passed if resume else frozenset())
        if self.lint_command and "lint" not in done:
            check_linter_available(self.loop.toolbox, self.lint_command)
        before = resume.tests_before if resume else None
        after = resume.tests_after if resume else None
        try:
            if "tests" not in done:
                before = self._phase(issue, "tests", self._tests_fail, f"Add failing tests for {issue.ref}")
            if "fix" not in done:
                after = self._phase(issue, "fix", self._tests_pass, f"Fix {issue.ref}: {issue.title}")
            if "refactor" not in done:
                after = self._refactor(issue) or after
            if "lint" not in done:
                self._lint(issue)
        except _Stopped as stopped:
            return self._finish("stopped", stopped.reason, stopped.phase, before, None, stopped.conversation)
        return self._finish("done", "all phases passed their checks", None, before, after)

    # -- phases -----------------------------------------------------------------------------------

    def _phase(
        self, issue: Issue, phase: Phase, check: Callable[[], _Verdict], commit_message: str, first: str = ""
    ) -> CommandResult | None:
        """Converse until `check` passes (at most `attempts` times), then commit the phase."""
        self.recorder.record(event_types.AGENT_PHASE_STARTED, phase=phase)
        messages = self._resumed_conversation(phase) or [
            Message.user(first or task_message(issue, phase, self._plan))
        ]
        for attempt in range(1, self.attempts + 1):
            outcome = self.loop.run(phase, phase_system_prompt(phase), messages)
            if not outcome.finished:
                raise _Stopped(phase, outcome.stop, f"{phase}: {outcome.reason}", outcome.messages)
            verdict = check()
            if verdict.ok:
                self._complete(phase, outcome, attempt, commit_message)
                return verdict.result
            messages = with_user_text(outcome.messages, verdict.feedback)
        reason = f"{phase}: the check still failed after {self.attempts} attempts"
        raise _Stopped(phase, "check", reason, tuple(messages))

    def _resumed_conversation(self, phase: Phase) -> list[Message]:
        if self._resume is None or self._resume.stopped_in != phase:
            return []
        return list(self._resume.conversation)

    def _refactor(self, issue: Issue) -> CommandResult | None:
        """Refactoring is optional: if it cannot keep the suite green (or goes in circles), it is
        reverted and the fix stands without it. Only an exhausted budget stops the session."""
        fixed = self.workspace.head()
        try:
            return self._phase(issue, "refactor", self._still_green, f"Refactor after fixing {issue.ref}")
        except _Stopped as stopped:
            if stopped.cause == "budget":
                raise
            self.workspace.reset_to(fixed)
            self.recorder.record(
                event_types.AGENT_PHASE_COMPLETED, phase="refactor", reverted=True, reason=stopped.reason
            )
            return None

    def _lint(self, issue: Issue) -> None:
        report = self._run_lint()
        if report is None or report.passed:
            self.recorder.record(event_types.AGENT_PHASE_COMPLETED, phase="lint", skipped=True)
            return
        first = f"{task_message(issue, 'lint')}\n\n{feedback('lint', report.new_problems)}"
        self._phase(issue, "lint", self._lint_clean, f"Lint fixes for {issue.ref}", first)

    def _complete(self, phase: Phase, outcome: PhaseOutcome, attempts: int, commit_message: str) -> None:
        self._summaries[phase] = outcome.summary
        commit_message = self.recorder.redactor.text(commit_message)  # it names the issue; it is pushed
        sha = self.workspace.commit(commit_message)
        if sha is not None:
            self._commits.append(sha)
            record_commit(self.recorder, self.workspace, sha, phase=phase, message=commit_message)
        self.recorder.record(
            event_types.AGENT_PHASE_COMPLETED,
            phase=phase,
            attempts=attempts,
            summary=outcome.summary,
            commit=sha,
        )

    # -- checks -------------------------------------------------------------------------------------

    def _verify_tests(self, phase: str) -> CommandResult:
        result = self.loop.toolbox.run_tests()
        record_command(self.recorder, event_types.TESTS_RAN, result, phase=phase, by="tamma")
        return result

    def _tests_fail(self) -> _Verdict:
        if not self.workspace.has_uncommitted_changes():
            return _Verdict(False, None, "You changed no file. Write the tests that reproduce the issue.")
        result = self._verify_tests("tests")
        return _Verdict(not result.passed, result, feedback("tests_pass", result.output))

    def _tests_pass(self) -> _Verdict:
        result = self._verify_tests("fix")
        return _Verdict(result.passed, result, feedback("tests_fail", result.output))

    def _still_green(self) -> _Verdict:
        result = self._verify_tests("refactor")
        return _Verdict(result.passed, result, feedback("suite_red", result.output))

    def _lint_clean(self) -> _Verdict:
        report = self._run_lint()
        tests = self._verify_tests("lint")
        if report is not None and not report.passed:
            return _Verdict(False, tests, feedback("lint", report.new_problems))
        return _Verdict(tests.passed, tests, feedback("tests_fail", tests.output))

    def _run_lint(self) -> LintReport | None:
        """The changed files linted against their base versions; None when nothing is linted
        (no lint command, or `()`: linting turned off)."""
        if not self.lint_command:
            return None
        changed = self.workspace.changed_files()
        report = lint_change(self.loop.toolbox, self.lint_command, changed, base=self.workspace.base_sha)
        if report is None:
            return None
        record_command(
            self.recorder,
            event_types.LINT_RAN,
            report.head,
            by="tamma",
            tree="head",
            pre_existing_problems=report.pre_existing,
            new_problems=len(report.new),
        )
        if report.base is not None:
            record_command(self.recorder, event_types.LINT_RAN, report.base, by="tamma", tree="base")
        return report

    def _finish(
        self,
        status: Literal["done", "stopped"],
        reason: str,
        phase: Phase | None,
        before: CommandResult | None,
        after: CommandResult | None,
        conversation: tuple[Message, ...] = (),
    ) -> Implementation:
        """The outcome, returned and recorded as AGENT.FINISHED."""
        result = Implementation(
            status=status,
            reason=reason,
            stopped_in=phase,
            summaries=dict(self._summaries),
            commits=tuple(self._commits),
            files_changed=tuple(self.workspace.changed_files()),
            tests_before=before,
            tests_after=after,
            spent=replace(self.loop.guard.spent),
            conversation=conversation,
        )
        self.recorder.record(
            event_types.AGENT_FINISHED,
            status=status,
            reason=reason,
            stopped_in=phase,
            summaries=result.summaries,
            commits=list(result.commits),
            files_changed=list(result.files_changed),
            tests_before_passed=before.passed if before else None,
            tests_before_output=before.output[-EVIDENCE_CHARS:] if before else "",
            tests_after_passed=after.passed if after else None,
            tests_after_output=after.output[-EVIDENCE_CHARS:] if after else "",
            spent=vars(result.spent),
        )
        return result
