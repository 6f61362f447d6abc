"""Opening the issue's workspace and the coding agent over it, as configured.

Shared by implementation and CI repair: both work in the same workspace (a retried or later
step reopens it and finds the branch where it was) and spend from the same run budget, which
is rebuilt from the run's recorded model calls so a restarted run cannot spend it twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from event_store import Query
from tamma import event_types
from tamma.agent._detect import detect_lint_command, detect_test_command
from tamma.agent.backend import AgentBackend
from tamma.agent.budget import BudgetGuard
from tamma.agent.claude_code import ClaudeCodeBackend, model_access
from tamma.agent.lint import check_linter_available
from tamma.agent.loop import LoopSettings, ToolUseLoop
from tamma.agent.tools import Toolbox, ToolPolicy
from tamma.agent.workspace import (
    GitAuthor,
    GitCredentials,
    Workspace,
    branch_name,
    workspace_key,
    workspaces_dir,
)
from tamma.errors import ConfigError
from tamma.platforms import Issue
from tamma.providers import PriceTable
from tasks._budget import run_budget
from tasks._context import RunContext

__all__ = ["AgentKit", "open_agent"]


@dataclass
class AgentKit:
    workspace: Workspace
    toolbox: Toolbox
    loop: AgentBackend
    lint_command: tuple[str, ...] | None


def open_agent(ctx: RunContext, issue: Issue) -> AgentKit:
    settings = ctx.settings.agent
    repository = ctx.platform.repository()
    replay = ctx.replay
    workspace = Workspace.open(
        root=replay.workspaces if replay else workspaces_dir(ctx.settings.home),
        key=workspace_key(ctx.ref),
        clone_url=repository.clone_url,
        branch=branch_name(ctx.ref.number, ctx.recorder.redactor.text(issue.title)),  # a published name
        base_branch=repository.default_branch,
        credentials=_credentials(ctx),
        author=GitAuthor(settings.author.name, settings.author.email),
        start_over=replay is not None,
        clock=replay.commit_dates if replay else None,
    )
    ctx.recorder.record(
        event_types.WORKSPACE_OPENED,
        path=str(workspace.path),
        clone_url=repository.clone_url,
        base_branch=repository.default_branch,
        base_sha=workspace.base_sha,
        branch=workspace.branch,
        head=workspace.head(),
    )
    policy = ToolPolicy(
        test_command=settings.test_command or detect_test_command(workspace.path),
        allowed_commands=frozenset(settings.allowed_commands),
        command_timeout_s=settings.command_timeout_s,
    )
    toolbox = Toolbox(workspace.path, policy, sandbox=ctx.sandbox)
    guard = run_budget(ctx)
    backend = _backend(ctx, toolbox, guard, workspace)
    return AgentKit(workspace, toolbox, backend, _lint_command(ctx, toolbox, workspace))


def _lint_command(ctx: RunContext, toolbox: Toolbox, workspace: Workspace) -> tuple[str, ...] | None:
    """The configured lint command (`[]`: no linting), else the detected one if it can run here.

    A configured linter that cannot run is the user's to fix: the agent reports it before any
    model call (`tamma.agent.lint.check_linter_available`). A detected one that cannot run (ruff
    on a machine without it) is only a guess that missed: linting is skipped, and the run's
    record says why (LINT.UNAVAILABLE)."""
    configured = ctx.settings.agent.lint_command
    if configured is not None:
        return configured or None
    detected = detect_lint_command(workspace.path)
    if detected is None:
        return None
    try:
        check_linter_available(toolbox, detected)
    except ConfigError as missing:
        ctx.recorder.record(event_types.LINT_UNAVAILABLE, command=list(detected), reason=str(missing))
        return None
    return detected


def _backend(ctx: RunContext, toolbox: Toolbox, guard: BudgetGuard, workspace: Workspace) -> AgentBackend:
    """The run's choice (`tamma run --agent`), else the configured one (`agent.backend`)."""
    if (ctx.options.agent or ctx.settings.agent.backend) == "builtin":
        return ToolUseLoop(
            ctx.provider,
            toolbox,
            guard,
            ctx.recorder,
            fingerprint=workspace.tree_fingerprint,
            settings=LoopSettings(),
        )
    return ClaudeCodeBackend(
        toolbox,
        guard,
        ctx.recorder,
        settings=ctx.settings.agent.claude_code,
        access=model_access(ctx.settings.providers),
        home=ctx.settings.home / "claude-code" / workspace_key(ctx.ref),
        prices=PriceTable(ctx.settings.prices),
        sessions=_sessions_so_far(ctx),
    )


def _sessions_so_far(ctx: RunContext) -> dict[str, str]:
    started = Query.of(types=[event_types.AGENT_SESSION_STARTED], tags=[ctx.run_tag])
    return {event.data["phase"]: event.data["session_id"] for event in ctx.store.read(started)}


def _credentials(ctx: RunContext) -> GitCredentials | None:
    if ctx.ref.platform == "github":
        token = ctx.settings.platforms.github.token()
        return GitCredentials.for_github(token) if token else None
    if ctx.ref.platform == "gitlab":
        token = ctx.settings.platforms.gitlab.token()
        return GitCredentials.for_gitlab(token) if token else None
    if ctx.ref.platform == "gitea":
        token = ctx.settings.platforms.gitea.token()
        return GitCredentials.for_gitea(token) if token else None
    if ctx.ref.platform == "azure":
        token = ctx.settings.platforms.azure.token()
        return GitCredentials.for_azure(token) if token else None
    if ctx.ref.platform == "bitbucket":
        return _bitbucket_credentials(ctx)
    return None


def _bitbucket_credentials(ctx: RunContext) -> GitCredentials | None:
    """An access token (git user `x-token-auth`), else the username and app password."""
    forge = ctx.settings.platforms.bitbucket
    if token := forge.token():
        return GitCredentials.for_bitbucket(token)
    pair = forge.app_password()
    return GitCredentials(username=pair[0], password=pair[1]) if pair else None
