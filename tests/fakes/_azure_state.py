"""The fake Azure DevOps' state and JSON shapes: repositories, work items, pull requests, CI.

Kept apart from the routes (`_azure_api`) so the server's seeding methods and the REST handlers
change the same records.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def fake_sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def identity(name: str) -> dict[str, Any]:
    return {
        "displayName": name.split("@")[0].title(),
        "uniqueName": name,
        "id": str(uuid.uuid5(uuid.NAMESPACE_OID, name)),
    }


@dataclass
class Repo:
    org: str
    project: str
    name: str
    default_branch: str = "main"
    parent: Repo | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    branches: dict[str, str] = field(default_factory=dict)
    clone_url: str | None = None
    """Where `git clone` goes: a real git HTTP server (`tests.agent.git_http_server`), if set."""


@dataclass
class WorkItem:
    id: int
    project: str
    fields: dict[str, Any]
    rev: int = 1
    comments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tags(self) -> list[str]:
        return [tag.strip() for tag in str(self.fields.get("System.Tags") or "").split(";") if tag.strip()]


@dataclass
class Pull:
    id: int
    repo: Repo
    source_repo: Repo
    source: str
    target: str
    title: str
    description: str
    draft: bool = False
    status: str = "active"
    merge_commit: str = ""
    merge_strategy: str = ""
    created_by: str = "tamma@example.com"


@dataclass
class Build:
    id: int
    sha: str
    name: str
    result: str = ""
    log: str = ""


@dataclass
class AzureState:
    repos: dict[str, Repo] = field(default_factory=dict)
    items: dict[int, WorkItem] = field(default_factory=dict)
    pulls: dict[int, Pull] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    builds: dict[int, Build] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        return next(self._ids)

    def add_repo(self, full_name: str, *, default_branch: str = "main", parent: Repo | None = None) -> Repo:
        org, project, name = full_name.split("/")
        repo = Repo(org, project, name, default_branch, parent)
        first = parent.branches[parent.default_branch] if parent else fake_sha(full_name, "initial")
        repo.branches[default_branch] = first
        self.repos[full_name.lower()] = repo
        return repo

    def push(self, repo: Repo, branch: str, title: str) -> str:
        parent = repo.branches.get(branch) or repo.branches[repo.default_branch]
        repo.branches[branch] = sha = fake_sha(repo.name, branch, parent, title)
        return sha

    def add_item(self, project: str, title: str, description: str, tags: list[str], **extra: Any) -> WorkItem:
        number = self.next_id()
        fields = {
            "System.TeamProject": project,
            "System.WorkItemType": "Issue",
            "System.Title": title,
            "System.Description": description,
            "System.State": extra.get("state", "To Do"),
            "System.Tags": "; ".join(sorted(tags, key=str.lower)),
            "System.CreatedBy": identity(extra.get("author", "dev@example.com")),
            "System.CreatedDate": now(),
        }
        item = WorkItem(number, project, {k: v for k, v in fields.items() if v not in ("", None)})
        self.items[number] = item
        return item

    def add_comment(self, item: WorkItem, text: str, author: str = "tamma@example.com") -> dict[str, Any]:
        comment = {
            "workItemId": item.id,
            "id": self.next_id(),
            "version": 1,
            "text": text,
            "format": "markdown",
            "createdBy": identity(author),
            "createdDate": now(),
            "isDeleted": False,
        }
        item.comments.append(comment)
        return comment

    def merge(self, pull: Pull, strategy: str) -> str:
        target, head = pull.repo.branches[pull.target], pull.source_repo.branches[pull.source]
        pull.merge_commit = fake_sha(strategy, target, head)
        pull.repo.branches[pull.target] = pull.merge_commit
        pull.status, pull.merge_strategy = "completed", strategy
        return pull.merge_commit


def repo_json(base: str, repo: Repo) -> dict[str, Any]:
    web = f"{base}/{repo.org}/{repo.project}/_git/{repo.name}"
    return {
        "id": repo.id,
        "name": repo.name,
        "url": f"{base}/{repo.org}/{repo.project}/_apis/git/repositories/{repo.id}",
        "project": {"name": repo.project, "state": "wellFormed", "visibility": "private"},
        "defaultBranch": f"refs/heads/{repo.default_branch}",
        "remoteUrl": repo.clone_url or web,
        "webUrl": web,
        "isFork": repo.parent is not None,
    }


def item_json(base: str, org: str, item: WorkItem) -> dict[str, Any]:
    api = f"{base}/{org}/{item.project}/_apis/wit/workItems/{item.id}"
    return {
        "id": item.id,
        "rev": item.rev,
        "fields": dict(item.fields),
        "_links": {
            "self": {"href": api},
            "html": {"href": f"{base}/{org}/{item.project}/_workitems/edit/{item.id}"},
        },
        "url": api,
    }


def pull_json(base: str, pull: Pull) -> dict[str, Any]:
    body: dict[str, Any] = {
        "repository": repo_json(base, pull.repo),
        "pullRequestId": pull.id,
        "codeReviewId": pull.id,
        "status": pull.status,
        "createdBy": identity(pull.created_by),
        "creationDate": now(),
        "title": pull.title,
        "description": pull.description,
        "sourceRefName": f"refs/heads/{pull.source}",
        "targetRefName": f"refs/heads/{pull.target}",
        "mergeStatus": "succeeded",
        "isDraft": pull.draft,
        "mergeId": str(uuid.uuid5(uuid.NAMESPACE_OID, str(pull.id))),
        "reviewers": [],
        "supportsIterations": True,
        "url": f"{base}/{pull.repo.org}/{pull.repo.project}/_apis/git/repositories/{pull.repo.id}/pullRequests/{pull.id}",
    }
    head = pull.source_repo.branches.get(pull.source)
    if head:
        body["lastMergeSourceCommit"] = {"commitId": head}
    body["lastMergeTargetCommit"] = {"commitId": pull.repo.branches.get(pull.target, "")}
    if pull.merge_commit:
        body["lastMergeCommit"] = {"commitId": pull.merge_commit}
        body["closedDate"] = now()
        body["completionOptions"] = {"mergeStrategy": pull.merge_strategy}
    if pull.source_repo is not pull.repo:
        body["forkSource"] = {
            "name": f"refs/heads/{pull.source}",
            "repository": repo_json(base, pull.source_repo),
        }
    return body
