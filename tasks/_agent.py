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
from tamma.agent.budget import BudgetGuard, Spend
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
from tamma.platforms import Issue
from tamma.providers import PriceTable
from tasks._context import RunContext

__all__ = ["AgentKit", "open_agent"]


@dataclass
class AgentKit:
    workspace: Workspace
    toolbox: Toolbox
    loop: ToolUseLoop
    lint_command: tuple[str, ...] | None


def open_agent(ctx: RunContext, issue: Issue) -> AgentKit:
    settings = ctx.settings.agent
    repository = ctx.platform.repository()
    replay = ctx.replay
    workspace = Workspace.open(
        root=replay.workspaces if replay else workspaces_dir(ctx.settings.home),
        key=workspace_key(ctx.ref),
        clone_url=repository.clone_url,
        branch=branch_name(ctx.ref.number, issue.title),
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
    toolbox = Toolbox(workspace.path, policy, home=workspace.home)
    guard = BudgetGuard(settings.budget, PriceTable(ctx.settings.prices), spent=_spent_so_far(ctx))
    loop = ToolUseLoop(
        ctx.provider,
        toolbox,
        guard,
        ctx.recorder,
        fingerprint=workspace.tree_fingerprint,
        settings=LoopSettings(),
    )
    lint = settings.lint_command or detect_lint_command(workspace.path)
    return AgentKit(workspace, toolbox, loop, lint)


def _credentials(ctx: RunContext) -> GitCredentials | None:
    if ctx.ref.platform == "github":
        token = ctx.settings.platforms.github.token()
        return GitCredentials.for_github(token) if token else None
    if ctx.ref.platform == "gitlab":
        token = ctx.settings.platforms.gitlab.token()
        return GitCredentials.for_gitlab(token) if token else None
    return None


def _spent_so_far(ctx: RunContext) -> Spend:
    spent = Spend()
    for event in ctx.store.read(Query.of(types=[event_types.AI_RESPONSE_RECEIVED], tags=[ctx.run_tag])):
        usage = event.data["usage"]
        spent.turns += 1
        spent.tokens += sum(usage.values())
        spent.cost_usd = round(spent.cost_usd + event.data["cost_usd"], 8)
    return spent
