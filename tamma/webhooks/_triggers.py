"""What in a delivery starts a run: an issue given the trigger label, or a comment on an issue
that starts with the command. Everything else (pushes, pull requests, other labels, comments on
pull requests) is received and recorded but starts nothing.

Payload shapes are the forges' own: GitHub's `issues`/`issue_comment` events, GitLab's
`Issue Hook`/`Note Hook`, Gitea's and Forgejo's `issues`/`issue_comment`, Bitbucket Cloud's
`issue:comment_created` (its issues have no labels: only the command starts a run there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tamma.webhooks._settings import WebhookSettings
from tamma.webhooks._signatures import Forge

__all__ = ["EVENT_HEADERS", "Trigger", "ci_commit_of", "trigger_of"]

EVENT_HEADERS: dict[Forge, str] = {
    "github": "x-github-event",
    "gitlab": "x-gitlab-event",
    "gitea": "x-gitea-event",
    "bitbucket": "x-event-key",
}


@dataclass(frozen=True)
class Trigger:
    """The issue to resolve (`github:acme/shop#12`) and why."""

    ref: str
    reason: str


def trigger_of(
    forge: Forge, event: str, payload: Mapping[str, Any], settings: WebhookSettings
) -> Trigger | None:
    """The run this delivery asks for, if any."""
    try:
        if forge == "gitlab":
            return _gitlab(event, payload, settings)
        if forge == "bitbucket":
            return _bitbucket(event, payload, settings)
        return _github_or_gitea(forge, event, payload, settings)
    except (KeyError, TypeError, AttributeError):  # not the shape of a trigger: nothing to start
        return None


def _github_or_gitea(
    forge: Forge, event: str, payload: Mapping[str, Any], settings: WebhookSettings
) -> Trigger | None:
    issue = payload["issue"]
    if issue.get("pull_request"):
        return None
    ref = f"{forge}:{payload['repository']['full_name']}#{issue['number']}"
    action = payload.get("action")
    if event == "issues" and action in ("labeled", "label_updated", "opened"):
        named = payload.get("label") or {}
        labels = [named.get("name")] if forge == "github" and action == "labeled" else _names(issue["labels"])
        if settings.trigger_label in labels:
            return Trigger(ref, f"labelled {settings.trigger_label!r}")
    if event == "issue_comment" and action == "created" and _asks(payload["comment"]["body"], settings):
        return Trigger(ref, f"comment {settings.command!r}")
    return None


def _gitlab(event: str, payload: Mapping[str, Any], settings: WebhookSettings) -> Trigger | None:
    project = payload["project"]["path_with_namespace"]
    attributes = payload["object_attributes"]
    if event == "Issue Hook":
        labels = payload.get("changes", {}).get("labels")
        added = set(_titles(labels["current"])) - set(_titles(labels["previous"])) if labels else set()
        opened = attributes.get("action") == "open" and settings.trigger_label in _titles(
            payload.get("labels", [])
        )
        if settings.trigger_label in added or opened:
            return Trigger(f"gitlab:{project}#{attributes['iid']}", f"labelled {settings.trigger_label!r}")
    if (
        event == "Note Hook"
        and attributes.get("noteable_type") == "Issue"
        and _asks(attributes["note"], settings)
    ):
        return Trigger(f"gitlab:{project}#{payload['issue']['iid']}", f"comment {settings.command!r}")
    return None


def _bitbucket(event: str, payload: Mapping[str, Any], settings: WebhookSettings) -> Trigger | None:
    if event == "issue:comment_created" and _asks(payload["comment"]["content"]["raw"], settings):
        ref = f"bitbucket:{payload['repository']['full_name']}#{payload['issue']['id']}"
        return Trigger(ref, f"comment {settings.command!r}")
    return None


def _asks(comment: str, settings: WebhookSettings) -> bool:
    return comment.strip().lower().startswith(settings.command.lower())


def _names(labels: list[dict[str, Any]]) -> list[str]:
    return [label["name"] for label in labels]


def _titles(labels: list[dict[str, Any]]) -> list[str]:
    return [label["title"] for label in labels]


_CI_COMMITS: dict[tuple[Forge, str], tuple[str, ...]] = {
    ("github", "status"): ("sha",),
    ("github", "check_run"): ("check_run", "head_sha"),
    ("github", "check_suite"): ("check_suite", "head_sha"),
    ("github", "workflow_run"): ("workflow_run", "head_sha"),
    ("gitlab", "Pipeline Hook"): ("object_attributes", "sha"),
    ("gitlab", "Job Hook"): ("sha",),
    ("gitea", "status"): ("sha",),
    ("gitea", "workflow_run"): ("workflow_run", "head_sha"),
    ("bitbucket", "repo:commit_status_created"): ("commit_status", "commit", "hash"),
    ("bitbucket", "repo:commit_status_updated"): ("commit_status", "commit", "hash"),
}
"""Where each forge's CI events name their commit."""


def ci_commit_of(forge: Forge, event: str, payload: Mapping[str, Any]) -> str | None:
    """The commit a CI event is about (a status, a check, a pipeline, a job), if it is one: a run
    watching that commit's CI looks again at once instead of at its next poll."""
    path = _CI_COMMITS.get((forge, event))
    value: Any = payload
    for key in path or ():
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if path and isinstance(value, str) and value else None
