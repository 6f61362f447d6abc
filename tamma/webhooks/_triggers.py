"""What in a delivery starts or resumes a run: an issue given the trigger label, or a comment on
an issue that starts with the command, starts one; any new comment on an issue (but Tamma's own)
may be the answer a run suspended on that issue waits for (`comment_on_issue`). Everything else
(pushes, pull requests, other labels, comments on pull requests, edited comments) is received and
recorded but starts nothing.

Payload shapes are the forges' own: GitHub's `issues`/`issue_comment` events, GitLab's
`Issue Hook`/`Note Hook`, Gitea's and Forgejo's `issues`/`issue_comment`, Bitbucket Cloud's
`issue:comment_created` (its issues have no labels: only the command starts a run there).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from tamma.platforms import marker
from tamma.webhooks._settings import WebhookSettings
from tamma.webhooks._signatures import Forge

__all__ = ["EVENT_HEADERS", "Trigger", "ci_commit_of", "comment_on_issue", "trigger_of"]

EVENT_HEADERS: dict[Forge, str] = {
    "github": "x-github-event",
    "gitlab": "x-gitlab-event",
    "gitea": "x-gitea-event",
    "bitbucket": "x-event-key",
}
_TAMMA_WROTE = marker("").removesuffix(" -->")
"""The start of the hidden marker every comment Tamma posts carries: Tamma's own comments (its
questions among them) answer nothing."""

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Trigger:
    """The issue to resolve (`github:acme/shop#12`) and why."""

    ref: str
    reason: str


@dataclass(frozen=True)
class _Comment:
    """A comment just written on an issue: the issue's reference and the comment's text."""

    ref: str
    body: str


def _lenient(read: Callable[P, R | None]) -> Callable[P, R | None]:
    """A reader of payloads that answers None for one not of the shape it reads: a forge sends
    many kinds of events, and one we do not act on is no error."""

    @functools.wraps(read)
    def reading(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return read(*args, **kwargs)
        except (KeyError, TypeError, AttributeError):
            return None

    return reading


@_lenient
def trigger_of(
    forge: Forge, event: str, payload: Mapping[str, Any], settings: WebhookSettings
) -> Trigger | None:
    """The run this delivery asks for, if any."""
    comment = _new_comment(forge, event, payload)
    if comment is not None:
        asked = _asks(comment.body, settings)
        return Trigger(comment.ref, f"comment {settings.command!r}") if asked else None
    if forge == "gitlab":
        return _gitlab_labelled(event, payload, settings)
    if forge == "bitbucket":
        return None
    return _github_or_gitea_labelled(forge, event, payload, settings)


@_lenient
def comment_on_issue(forge: Forge, event: str, payload: Mapping[str, Any]) -> str | None:
    """The issue (`github:acme/shop#12`) a delivery brings a new comment on, unless Tamma wrote it:
    a run suspended there for answers reads the issue again. Whose reply counts is the run's
    decision (`answers_from`), not the webhook's. A `/tamma run` comment is one too: it also
    starts a run (`trigger_of`), which finds the issue held by the waiting run."""
    comment = _new_comment(forge, event, payload)
    return comment.ref if comment is not None and _TAMMA_WROTE not in comment.body else None


def _new_comment(forge: Forge, event: str, payload: Mapping[str, Any]) -> _Comment | None:
    """A comment just written on an issue, not on a pull request, and not an edit."""
    if forge == "gitlab":
        attributes = payload["object_attributes"]
        if (
            event == "Note Hook"
            and attributes.get("noteable_type") == "Issue"
            and attributes.get("action", "create") == "create"  # older GitLab sends no action
            and not attributes.get("system")
        ):
            return _Comment(_gitlab_ref(payload, payload["issue"]["iid"]), attributes["note"])
        return None
    if forge == "bitbucket":
        if event == "issue:comment_created":
            ref = f"bitbucket:{payload['repository']['full_name']}#{payload['issue']['id']}"
            return _Comment(ref, payload["comment"]["content"]["raw"])
        return None
    if (
        event == "issue_comment"
        and payload.get("action") == "created"
        and not payload["issue"].get("pull_request")
    ):
        return _Comment(_github_or_gitea_ref(forge, payload), payload["comment"]["body"])
    return None


def _github_or_gitea_labelled(
    forge: Forge, event: str, payload: Mapping[str, Any], settings: WebhookSettings
) -> Trigger | None:
    issue = payload["issue"]
    action = payload.get("action")
    if issue.get("pull_request") or event != "issues" or action not in ("labeled", "label_updated", "opened"):
        return None
    named = payload.get("label") or {}
    labels = [named.get("name")] if forge == "github" and action == "labeled" else _names(issue["labels"])
    if settings.trigger_label in labels:
        return Trigger(_github_or_gitea_ref(forge, payload), f"labelled {settings.trigger_label!r}")
    return None


def _gitlab_labelled(event: str, payload: Mapping[str, Any], settings: WebhookSettings) -> Trigger | None:
    if event != "Issue Hook":
        return None
    attributes = payload["object_attributes"]
    labels = payload.get("changes", {}).get("labels")
    added = set(_titles(labels["current"])) - set(_titles(labels["previous"])) if labels else set()
    opened = attributes.get("action") == "open" and settings.trigger_label in _titles(
        payload.get("labels", [])
    )
    if settings.trigger_label in added or opened:
        return Trigger(_gitlab_ref(payload, attributes["iid"]), f"labelled {settings.trigger_label!r}")
    return None


def _github_or_gitea_ref(forge: Forge, payload: Mapping[str, Any]) -> str:
    return f"{forge}:{payload['repository']['full_name']}#{payload['issue']['number']}"


def _gitlab_ref(payload: Mapping[str, Any], iid: int) -> str:
    return f"gitlab:{payload['project']['path_with_namespace']}#{iid}"


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
