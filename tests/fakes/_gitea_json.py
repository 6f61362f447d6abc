"""How Gitea API v1 prints the fake's records: the JSON a client reads, field by field.

Why a module of its own: these shapes are what must match a real Gitea (and Forgejo,
which forked from it and kept them). Fields nothing here models (milestones, due dates, ...) are
sent with Gitea's empty values. No `draft` is sent on pull requests, as older releases do not:
a draft is its "WIP:" title. `base` is the server root; web URLs hang off it.
"""

from __future__ import annotations

from typing import Any

from tests.fakes._gitea_state import (
    Comment,
    CommitStatus,
    Issue,
    Job,
    Label,
    Repo,
    Run,
    User,
    job_commit_status,
    worst,
)

Json = dict[str, Any]


def user(base: str, record: User) -> Json:
    return {
        "id": record.id,
        "login": record.login,
        "login_name": "",
        "full_name": record.full_name,
        "email": f"{record.login}@noreply.localhost",
        "avatar_url": f"{base}/avatars/{record.id}",
        "html_url": f"{base}/{record.login}",
        "language": "",
        "is_admin": False,
        "restricted": False,
        "active": True,
        "username": record.login,
    }


def repo(base: str, record: Repo) -> Json:
    web = f"{base}/{record.full_name}"
    return {
        "id": record.id,
        "owner": user(base, record.owner),
        "name": record.name,
        "full_name": record.full_name,
        "description": "",
        "empty": False,
        "private": False,
        "fork": record.parent is not None,
        "template": False,
        "parent": repo(base, record.parent) if record.parent else None,
        "mirror": False,
        "html_url": web,
        "url": f"{base}/api/v1/repos/{record.full_name}",
        "ssh_url": f"git@{base.split('://', 1)[-1]}:{record.full_name}.git",
        "clone_url": record.clone_url or f"{web}.git",
        "default_branch": record.default_branch,
        "archived": False,
        "has_issues": True,
        "has_pull_requests": True,
        "has_actions": True,
        "allow_merge_commits": True,
        "allow_rebase": True,
        "allow_rebase_explicit": True,
        "allow_squash_merge": True,
        "default_merge_style": "merge",
        "permissions": {"admin": True, "push": True, "pull": True},
    }


def label(record: Label) -> Json:
    return {
        "id": record.id,
        "name": record.name,
        "exclusive": False,
        "is_archived": False,
        "color": record.color,
        "description": "",
        "url": "",
    }


def comment(base: str, owner: Repo, issue: Issue, record: Comment) -> Json:
    web = f"{base}/{owner.full_name}/issues/{issue.number}"
    return {
        "id": record.id,
        "html_url": f"{web}#issuecomment-{record.id}",
        "pull_request_url": web if issue.pull else "",
        "issue_url": "" if issue.pull else web,
        "user": user(base, record.user),
        "original_author": "",
        "original_author_id": 0,
        "body": record.body,
        "assets": [],
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def _issuable(base: str, owner: Repo, record: Issue, kind: str) -> Json:
    return {
        "id": record.id,
        "url": f"{base}/api/v1/repos/{owner.full_name}/{kind}/{record.number}",
        "html_url": f"{base}/{owner.full_name}/{kind}/{record.number}",
        "number": record.number,
        "user": user(base, record.user),
        "title": record.title,
        "body": record.body,
        "labels": [label(item) for item in record.labels],
        "milestone": None,
        "assignee": user(base, record.assignees[0]) if record.assignees else None,
        "assignees": [user(base, item) for item in record.assignees] or None,
        "state": record.state,
        "is_locked": False,
        "comments": len(record.comments),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "closed_at": record.closed_at,
        "due_date": None,
    }


def issue(base: str, owner: Repo, record: Issue) -> Json:
    pull = record.pull
    summary = (
        {
            "merged": pull.merged,
            "merged_at": pull.merged_at,
            "html_url": f"{base}/{owner.full_name}/pulls/{record.number}",
        }
        if pull
        else None
    )
    return {
        **_issuable(base, owner, record, "pulls" if pull else "issues"),
        "original_author": "",
        "ref": "",
        "assets": [],
        "pull_request": summary,
        "repository": {
            "id": owner.id,
            "name": owner.name,
            "owner": owner.owner.login,
            "full_name": owner.full_name,
        },
        "pin_order": 0,
    }


def pull_request(base: str, owner: Repo, record: Issue) -> Json:
    pull = record.pull
    assert pull is not None
    return {
        **_issuable(base, owner, record, "pulls"),
        "diff_url": f"{base}/{owner.full_name}/pulls/{record.number}.diff",
        "patch_url": f"{base}/{owner.full_name}/pulls/{record.number}.patch",
        "mergeable": not pull.has_conflicts,
        "merged": pull.merged,
        "merged_at": pull.merged_at,
        "merge_commit_sha": pull.merged_sha,
        "merged_by": user(base, owner.owner) if pull.merged else None,
        "allow_maintainer_edit": False,
        "base": _branch_info(base, owner, pull.base_branch, owner.branches.get(pull.base_branch, "")),
        "head": _branch_info(base, pull.head_repo, pull.head_branch, pull.head_sha),
        "merge_base": owner.branches.get(pull.base_branch, ""),
    }


def _branch_info(base: str, owner: Repo, name: str, sha: str) -> Json:
    return {"label": name, "ref": name, "sha": sha, "repo_id": owner.id, "repo": repo(base, owner)}


def branch(base: str, owner: Repo, name: str) -> Json:
    sha = owner.branches[name]
    return {
        "name": name,
        "commit": {
            "id": sha,
            "message": "",
            "url": f"{base}/{owner.full_name}/commit/{sha}",
            "author": {"name": owner.owner.login, "email": "", "username": owner.owner.login},
        },
        "protected": False,
        "user_can_push": True,
        "user_can_merge": True,
    }


def commit_status(base: str, owner: Repo, record: CommitStatus) -> Json:
    return {
        "id": record.id,
        "status": record.status,
        "target_url": record.target_url,
        "description": record.description,
        "url": f"{base}/api/v1/repos/{owner.full_name}/statuses/{record.sha}",
        "context": record.context,
        "creator": user(base, owner.owner),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def combined_status(
    base: str, owner: Repo, sha: str, latest: list[CommitStatus], page: list[CommitStatus]
) -> Json:
    """`latest`: each context's newest status, which the state combines; `page`: those listed."""
    return {
        "state": worst([record.status for record in latest]),
        "sha": sha,
        "total_count": len(latest),
        "statuses": [commit_status(base, owner, record) for record in page],
        "repository": repo(base, owner),
        "commit_url": f"{base}/api/v1/repos/{owner.full_name}/git/commits/{sha}",
        "url": f"{base}/api/v1/repos/{owner.full_name}/commits/{sha}/status",
    }


def run_url(base: str, owner: Repo, run: Run) -> str:
    """A run's page: by its number (index in the repository), as Gitea's web routes have it."""
    return f"{base}/{owner.full_name}/actions/runs/{run.number}"


def workflow_run(base: str, owner: Repo, run: Run) -> Json:
    done = all(job.status == "completed" for job in run.jobs)
    outcomes = [job_commit_status(job) for job in run.jobs]
    return {
        "id": run.id,
        "url": f"{base}/api/v1/repos/{owner.full_name}/actions/runs/{run.id}",
        "html_url": run_url(base, owner, run),
        "display_title": run.workflow,
        "path": f"{run.workflow}.yml@refs/heads/{run.branch}",
        "event": "push",
        "run_attempt": 1,
        "run_number": run.number,
        "head_sha": run.sha,
        "head_branch": run.branch,
        "status": "completed" if done else "in_progress",
        "conclusion": ("failure" if "failure" in outcomes else "success") if done else None,
        "started_at": run.created_at,
        "completed_at": None,
        "repository_id": owner.id,
    }


def workflow_job(base: str, owner: Repo, run: Run, job: Job) -> Json:
    return {
        "id": job.id,
        "url": f"{base}/api/v1/repos/{owner.full_name}/actions/jobs/{job.id}",
        "html_url": f"{run_url(base, owner, run)}/jobs/{job.index}",
        "run_id": run.id,
        "run_url": f"{base}/api/v1/repos/{owner.full_name}/actions/runs/{run.id}",
        "name": job.name,
        "labels": ["ubuntu-latest"],
        "run_attempt": 1,
        "head_sha": run.sha,
        "head_branch": run.branch,
        "status": job.status,
        "conclusion": job.conclusion,
        "runner_id": 0,
        "runner_name": "",
        "steps": [],
        "created_at": run.created_at,
        "started_at": run.created_at,
        "completed_at": None,
    }
