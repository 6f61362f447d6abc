"""Tamma's deployments, in code: what `tamma deploy` registers, from a checkout or a wheel.

prefect.yaml describes the same three for `prefect deploy --all` run in a checkout; its path
entrypoints and its pull step need the checkout's files. These name the flows by module
(`flows.resolve_issue.resolve_issue`), so a worker runs them from the Tamma installed beside
it, wherever that is, and no checkout is needed anywhere. tests/flows/test_deployments.py holds
the two descriptions equal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

__all__ = ["DEPLOYMENTS", "TAGS", "DeploymentSpec", "apply_deployments"]

TAGS = ("tamma",)


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    module: str
    """Where the flow lives: `module:function`, importable wherever Tamma is installed."""
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)
    from_environment: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Parameters read when deploying: name -> (environment variable, default when unset)."""
    cron: str | None = None
    """A UTC schedule, on by default."""

    def parameters_now(self) -> dict[str, Any]:
        """The parameters with those from the environment filled in, as prefect.yaml's
        `{{ $VARIABLE }}` would be."""
        found = {
            name: os.environ.get(variable, default)
            for name, (variable, default) in self.from_environment.items()
        }
        return {**found, **self.parameters}


DEPLOYMENTS = (
    DeploymentSpec(
        name="resolve-issue",
        module="flows.resolve_issue:resolve_issue",
        description="Resolve one issue, from claim to merge checkpoint; pauses for plan approval.",
        parameters={"auto_approve": False, "merge_policy": "stop"},
    ),
    DeploymentSpec(
        name="replay-run",
        module="flows.replay_run:replay_run",
        description="Replay a recorded run offline and report the first divergence; with "
        "from_position, fork it and go on live.",
    ),
    DeploymentSpec(
        name="backlog-sweep",
        module="flows.backlog_sweep:backlog_sweep",
        description="Resolve the open issues labelled `tamma` of one repository, a few at a time.",
        from_environment={"repo": ("TAMMA_SWEEP_REPO", "local:demo")},
        parameters={
            "label": "tamma",
            "limit": 10,
            "concurrency": 2,
            "auto_approve": True,
            "merge_policy": "stop",
        },
        cron="0 * * * *",
    ),
)


def apply_deployments(pool: str) -> dict[str, UUID]:
    """Create or update every deployment on the Prefect server, to run on `pool` (the scheduled
    sweep on $TAMMA_SWEEP_REPO). Returns each deployment's id by name."""
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.deployments.runner import RunnerDeployment
    from prefect.flows import load_flow_from_entrypoint
    from prefect.types.entrypoint import EntrypointType

    applied = {}
    for spec in DEPLOYMENTS:
        deployment = RunnerDeployment.from_flow(
            load_flow_from_entrypoint(spec.module, use_placeholder_flow=False),
            name=spec.name,
            description=spec.description,
            parameters=spec.parameters_now(),
            schedules=[CronSchedule(cron=spec.cron, timezone="UTC")] if spec.cron else None,
            tags=list(TAGS),
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        deployment_id = deployment.apply(work_pool_name=pool)
        assert isinstance(deployment_id, UUID)  # sync_compatible, called outside an event loop
        applied[spec.name] = deployment_id
    return applied
