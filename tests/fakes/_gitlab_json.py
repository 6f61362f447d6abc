"""How GitLab API v4 presents the fake's records: the JSON entities python-gitlab reads.

Why a module of its own: the shapes are the part of the fake that must match gitlab.com field
by field (python-gitlab turns every key into an attribute, and Tamma's adapter reads
`iid`, `labels`, `assignees`, `sha`, `head_pipeline`, `detailed_merge_status`, ...). Fields
GitLab sends but nothing here models (milestones, time stats, ...) are sent with GitLab's
empty values so that code reading them sees what a fresh gitlab.com object has.

`base` is the server root (`http://127.0.0.1:PORT`); `web_url`s and clone URLs hang off it.
"""

from __future__ import annotations

from typing import Any

from tests.fakes._gitlab_state import (
    Commit,
    CommitStatus,
    Issue,
    Job,
    Label,
    MergeRequest,
    Note,
    Pipeline,
    Project,
    User,
)

Json = dict[str, Any]

_ROOT = User(1, "root", "Administrator")
"""Who pipelines and statuses ran as: the fake does not track it, GitLab always names someone."""


def user(base: str, record: User) -> Json:
    return {
        "id": record.id,
        "username": record.username,
        "name": record.name,
        "state": "active",
        "locked": False,
        "avatar_url": None,
        "web_url": f"{base}/{record.username}",
    }


def project(base: str, record: Project) -> Json:
    namespace, _, path = record.path_with_namespace.rpartition("/")
    web_url = f"{base}/{record.path_with_namespace}"
    host = base.split("://", 1)[-1].split(":", 1)[0]
    return {
        "id": record.id,
        "name": path,
        "path": path,
        "description": "",
        "name_with_namespace": record.path_with_namespace.replace("/", " / "),
        "path_with_namespace": record.path_with_namespace,
        "default_branch": record.default_branch,
        "visibility": "private",
        "archived": False,
        "web_url": web_url,
        "http_url_to_repo": record.clone_url or f"{web_url}.git",
        "ssh_url_to_repo": f"git@{host}:{record.path_with_namespace}.git",
        "namespace": {
            "id": record.id + 1_000_000,
            "name": namespace.rsplit("/", 1)[-1],
            "path": namespace.rsplit("/", 1)[-1],
            "kind": "group",
            "full_path": namespace,
        },
        "open_issues_count": sum(issue.state == "opened" for issue in record.issues.values()),
        "issues_enabled": True,
        "merge_requests_enabled": True,
        "jobs_enabled": True,
        "only_allow_merge_if_pipeline_succeeds": record.only_allow_merge_if_pipeline_succeeds,
        "merge_method": "merge",
        "squash_option": "default_off",
        "created_at": record.commits[next(iter(record.commits))].created_at,
    }


def commit(base: str, owner: Project, record: Commit) -> Json:
    return {
        "id": record.sha,
        "short_id": record.sha[:8],
        "title": record.title,
        "message": record.title + "\n",
        "parent_ids": list(record.parent_ids),
        "author_name": "Administrator",
        "author_email": "admin@example.com",
        "authored_date": record.created_at,
        "committer_name": "Administrator",
        "committer_email": "admin@example.com",
        "committed_date": record.created_at,
        "created_at": record.created_at,
        "web_url": f"{base}/{owner.path_with_namespace}/-/commit/{record.sha}",
    }


def branch(base: str, owner: Project, name: str) -> Json:
    return {
        "name": name,
        "merged": False,
        "protected": name == owner.default_branch,
        "default": name == owner.default_branch,
        "developers_can_push": False,
        "developers_can_merge": False,
        "can_push": True,
        "web_url": f"{base}/{owner.path_with_namespace}/-/tree/{name}",
        "commit": commit(base, owner, owner.commits[owner.branches[name]]),
    }


def label(owner: Project, record: Label) -> Json:
    return {
        "id": record.id,
        "name": record.name,
        "color": record.color,
        "text_color": "#FFFFFF",
        "description": record.description or None,
        "open_issues_count": sum(
            record.name in issue.labels and issue.state == "opened" for issue in owner.issues.values()
        ),
        "priority": None,
        "is_project_label": True,
    }


def issue(base: str, owner: Project, record: Issue) -> Json:
    assignees = [user(base, person) for person in record.assignees]
    return {
        "id": record.id,
        "iid": record.iid,
        "project_id": owner.id,
        "title": record.title,
        "description": record.description,
        "state": record.state,
        "type": "ISSUE",
        "issue_type": "issue",
        "labels": list(record.labels),
        "author": user(base, record.author),
        "assignees": assignees,
        "assignee": assignees[0] if assignees else None,
        "milestone": None,
        "confidential": False,
        "discussion_locked": None,
        "user_notes_count": len(record.notes),
        "merge_requests_count": 0,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "closed_at": record.closed_at,
        "closed_by": None,
        "due_date": None,
        "web_url": f"{base}/{owner.path_with_namespace}/-/issues/{record.iid}",
        "references": _references(owner, "#", record.iid),
    }


def note(base: str, owner: Project, record: Note) -> Json:
    return {
        "id": record.id,
        "type": None,
        "body": record.body,
        "attachment": None,
        "author": user(base, record.author),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "system": False,
        "noteable_id": record.noteable_id,
        "noteable_type": record.noteable_type,
        "noteable_iid": record.noteable_iid,
        "project_id": owner.id,
        "resolvable": False,
        "confidential": False,
        "internal": False,
    }


def merge_request(base: str, owner: Project, record: MergeRequest, *, single: bool = False) -> Json:
    """The list entity; `single=True` adds what GET of one merge request adds (`head_pipeline`)."""
    assignees = [user(base, person) for person in record.assignees]
    mergeable = record.state == "opened" and not record.draft and not record.has_conflicts
    if record.draft:
        detailed = "draft_status"
    elif record.has_conflicts:
        detailed = "broken_status"
    else:
        detailed = "mergeable" if record.state == "opened" else "not_open"
    body: Json = {
        "id": record.id,
        "iid": record.iid,
        "project_id": owner.id,
        "title": record.title,
        "description": record.description,
        "state": record.state,
        "draft": record.draft,
        "work_in_progress": record.draft,
        "source_branch": record.source_branch,
        "target_branch": record.target_branch,
        "source_project_id": record.source_project_id,
        "target_project_id": owner.id,
        "author": user(base, record.author),
        "assignees": assignees,
        "assignee": assignees[0] if assignees else None,
        "reviewers": [],
        "labels": list(record.labels),
        "milestone": None,
        "sha": record.sha,
        "merge_commit_sha": record.merge_commit_sha,
        "squash_commit_sha": record.squash_commit_sha,
        "squash": record.squash,
        "has_conflicts": record.has_conflicts,
        "merge_status": "can_be_merged" if mergeable else "cannot_be_merged",
        "detailed_merge_status": detailed,
        "merge_when_pipeline_succeeds": record.merge_when_pipeline_succeeds,
        "should_remove_source_branch": None,
        "force_remove_source_branch": record.remove_source_branch,
        "blocking_discussions_resolved": True,
        "user_notes_count": len(record.notes),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "merged_at": record.merged_at,
        "closed_at": record.closed_at,
        "web_url": f"{base}/{owner.path_with_namespace}/-/merge_requests/{record.iid}",
        "references": _references(owner, "!", record.iid),
    }
    if single:
        head = owner.head_pipeline(record)
        body["head_pipeline"] = pipeline(base, owner, head, single=True) if head else None
        body["pipeline"] = pipeline(base, owner, head) if head else None
        body["diff_refs"] = {"base_sha": owner.branches.get(record.target_branch), "head_sha": record.sha}
        body["rebase_in_progress"] = False
    return body


def pipeline(base: str, owner: Project, record: Pipeline, *, single: bool = False) -> Json:
    body: Json = {
        "id": record.id,
        "iid": record.iid,
        "project_id": owner.id,
        "sha": record.sha,
        "ref": record.ref,
        "status": record.status,
        "source": record.source,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "web_url": f"{base}/{owner.path_with_namespace}/-/pipelines/{record.id}",
    }
    if single:
        started = [job.started_at for job in record.jobs if job.started_at]
        finished = [job.finished_at for job in record.jobs if job.finished_at]
        done = record.status in ("success", "failed", "canceled", "skipped")
        body |= {
            "before_sha": "0" * 40,
            "tag": False,
            "user": user(base, _ROOT),
            "started_at": min(started) if started else None,
            "finished_at": max(finished) if done and finished else None,
            "duration": None,
            "coverage": None,
            "detailed_status": {"group": record.status, "text": record.status, "label": record.status},
        }
    return body


def job(base: str, owner: Project, record: Job) -> Json:
    parent = owner.pipelines[record.pipeline_id]
    body: Json = {
        "id": record.id,
        "name": record.name,
        "stage": record.stage,
        "status": record.status,
        "ref": parent.ref,
        "tag": False,
        "allow_failure": record.allow_failure,
        "coverage": None,
        "created_at": record.created_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "duration": None,
        "queued_duration": None,
        "user": user(base, _ROOT),
        "commit": commit(base, owner, owner.commits[parent.sha]) if parent.sha in owner.commits else None,
        "pipeline": {
            "id": parent.id,
            "project_id": owner.id,
            "ref": parent.ref,
            "sha": parent.sha,
            "status": parent.status,
        },
        "web_url": f"{base}/{owner.path_with_namespace}/-/jobs/{record.id}",
        "artifacts": [],
        "runner": None,
    }
    if record.status == "failed":
        body["failure_reason"] = "script_failure"
    return body


def job_status(base: str, owner: Project, parent: Pipeline, record: Job) -> Json:
    """A job as the commit-statuses API lists it: GitLab keeps jobs and external statuses alike."""
    return {
        "id": record.id,
        "sha": parent.sha,
        "ref": parent.ref,
        "status": record.status,
        "name": record.name,
        "target_url": f"{base}/{owner.path_with_namespace}/-/jobs/{record.id}",
        "description": None,
        "created_at": record.created_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "allow_failure": record.allow_failure,
        "coverage": None,
        "pipeline_id": parent.id,
        "author": user(base, _ROOT),
    }


def commit_status(base: str, record: CommitStatus) -> Json:
    return {
        "id": record.id,
        "sha": record.sha,
        "ref": record.ref,
        "status": record.status,
        "name": record.name,
        "target_url": record.target_url,
        "description": record.description,
        "created_at": record.created_at,
        "started_at": None,
        "finished_at": None,
        "allow_failure": False,
        "coverage": None,
        "author": user(base, _ROOT),
    }


def _references(owner: Project, sigil: str, iid: int) -> Json:
    return {
        "short": f"{sigil}{iid}",
        "relative": f"{sigil}{iid}",
        "full": f"{owner.path_with_namespace}{sigil}{iid}",
    }
