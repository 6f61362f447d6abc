"""The fake GitLab's repository and CI routes: branches, commits, statuses, merge requests, pipelines.

Why apart from `_gitlab_api`: these are the routes whose answers depend on each other (a merge
request's `sha` is its source branch head, its `head_pipeline` the newest pipeline for that sha,
a merge moves the target branch), so they read best side by side. The routing machinery and the
error rules are in `_gitlab_api`; its module docstring lists the status codes that surprise.
"""

from __future__ import annotations

from typing import Any

from tests.fakes import _gitlab_json as entity
from tests.fakes._gitlab_api import (
    Answer,
    ApiError,
    Call,
    Created,
    Listing,
    Routes,
    Text,
    not_found,
    ordered,
    update_issuable,
)
from tests.fakes._gitlab_state import FINISHED, CommitStatus, Job, MergeRequest, Pipeline, now

COMMIT_STATUSES = ("pending", "running", "success", "failed", "canceled", "skipped")
routes = Routes()


def _branch(call: Call) -> str:
    name = call.params["branch"]
    if name not in call.project.branches:
        raise not_found("Branch")
    return name


@routes.add("GET", "projects/:project/repository/branches")
def list_branches(call: Call) -> Answer:
    project, search = call.project, call.text("search") or ""
    names = sorted(name for name in project.branches if search in name)
    return Listing([entity.branch(call.base, project, name) for name in names])


@routes.add("GET", "projects/:project/repository/branches/:branch")
def get_branch(call: Call) -> Answer:
    return entity.branch(call.base, call.project, _branch(call))


@routes.add("POST", "projects/:project/repository/branches")
def create_branch(call: Call) -> Answer:
    call.require("branch", "ref")
    project, name, ref = call.project, str(call.text("branch")), str(call.text("ref"))
    if name in project.branches:
        raise ApiError(400, {"message": "Branch already exists"})
    if not name.strip() or " " in name or ".." in name or name.startswith(("-", "/")) or name.endswith("/"):
        raise ApiError(400, {"message": "Branch name is invalid"})
    sha = project.resolve(ref)
    if sha is None:
        raise ApiError(400, {"message": f"Invalid reference name: {ref}"})
    project.branches[name] = sha
    return Created(entity.branch(call.base, project, name))


@routes.add("DELETE", "projects/:project/repository/branches/:branch")
def delete_branch(call: Call) -> Answer:
    project, name = call.project, _branch(call)
    if name == project.default_branch:
        raise ApiError(405, {"message": "Cannot remove HEAD branch"})
    del project.branches[name]
    return Text(status=204)


@routes.add("GET", "projects/:project/repository/commits/:sha")
def get_commit(call: Call) -> Answer:
    project = call.project
    sha = project.resolve(call.params["sha"])
    if sha is None:
        raise not_found("Commit")
    return entity.commit(call.base, project, project.commits[sha])


@routes.add("GET", "projects/:project/repository/commits/:sha/statuses")
def list_statuses(call: Call) -> Answer:
    project = call.project
    sha = project.resolve(call.params["sha"]) or call.params["sha"]
    ref, name = call.text("ref"), call.text("name")
    external = [entity.commit_status(call.base, s) for s in project.statuses if s.sha == sha]
    jobs = [
        entity.job_status(call.base, project, pipeline, job)
        for pipeline in project.pipelines.values()
        if pipeline.sha == sha
        for job in pipeline.jobs
    ]
    found = [s for s in external + jobs if ref in (None, s["ref"]) and name in (None, s["name"])]
    found.sort(key=lambda s: s["id"], reverse=True)
    if not call.flag("all"):  # GitLab answers the latest status of each name unless asked for all
        latest: dict[str, Any] = {}
        for status in found:
            latest.setdefault(status["name"], status)
        found = list(latest.values())
    return Listing(found)


@routes.add("POST", "projects/:project/statuses/:sha")
def set_status(call: Call) -> Answer:
    call.require("state")
    project, status = call.project, str(call.text("state"))
    sha = project.resolve(call.params["sha"])
    if sha is None:
        raise not_found("Commit")
    if status not in COMMIT_STATUSES:
        raise ApiError(400, {"error": "state does not have a valid value"})
    name = call.text("name") or call.text("context") or "default"
    ref = call.text("ref") or next(
        (b for b, s in project.branches.items() if s == sha), project.default_branch
    )
    record = next((s for s in project.statuses if (s.sha, s.ref, s.name) == (sha, ref, name)), None)
    if record is None:
        record = CommitStatus(call.state.next_id(), sha, ref, name, status)
        project.statuses.append(record)
    record.status = status
    record.target_url = call.text("target_url", record.target_url)
    record.description = call.text("description", record.description)
    return Created(entity.commit_status(call.base, record))


# -- merge requests ------------------------------------------------------------------------------


@routes.add("GET", "projects/:project/merge_requests")
def list_merge_requests(call: Call) -> Answer:
    state = call.text("state", "all")
    iids = {int(i) for i in call.names("iids") or []}
    source, target = call.text("source_branch"), call.text("target_branch")
    labels = {name.lower() for name in call.names("labels") or []}
    found = [
        mr
        for mr in call.project.merge_requests.values()
        if state in ("all", mr.state)
        and (not iids or mr.iid in iids)
        and source in (None, mr.source_branch)
        and target in (None, mr.target_branch)
        and labels <= {name.lower() for name in mr.labels}
    ]
    return Listing([entity.merge_request(call.base, call.project, mr) for mr in ordered(found, call)])


@routes.add("POST", "projects/:project/merge_requests")
def create_merge_request(call: Call) -> Answer:
    call.require("source_branch", "target_branch", "title")
    project = call.project
    source, target = str(call.text("source_branch")), str(call.text("target_branch"))
    if source == target:
        raise ApiError(422, {"message": ["You can't use same project/branch for source and target"]})
    for kind, name in (("Source", source), ("Target", target)):
        if name not in project.branches:
            raise ApiError(422, {"message": [f'{kind} branch "{name}" does not exist']})
    duplicate = next(
        (
            mr
            for mr in project.merge_requests.values()
            if mr.state == "opened"
            and (mr.source_project_id, mr.source_branch, mr.target_branch) == (project.id, source, target)
        ),
        None,
    )
    if duplicate is not None:
        message = f"Another open merge request already exists for this source branch: !{duplicate.iid}"
        raise ApiError(409, {"message": [message]})
    merge_request = call.state.add_merge_request(
        project,
        title=call.not_blank("title"),
        source_branch=source,
        target_branch=target,
        description=call.text("description", "") or "",
        author=call.user.username,
    )
    merge_request.labels = list(dict.fromkeys(call.names("labels") or []))
    merge_request.squash = bool(call.flag("squash"))
    merge_request.remove_source_branch = bool(call.flag("remove_source_branch"))
    return Created(entity.merge_request(call.base, project, merge_request, single=True))


@routes.add("GET", "projects/:project/merge_requests/:iid")
def get_merge_request(call: Call) -> Answer:
    return entity.merge_request(call.base, call.project, call.merge_request, single=True)


@routes.add("PUT", "projects/:project/merge_requests/:iid")
def update_merge_request(call: Call) -> Answer:
    merge_request = call.merge_request
    update_issuable(call, merge_request)
    target = call.text("target_branch")
    if target is not None:
        if target not in call.project.branches:
            raise ApiError(422, {"message": [f'Target branch "{target}" does not exist']})
        merge_request.target_branch = target
    for name in ("squash", "remove_source_branch"):
        value = call.flag(name)
        if value is not None:
            setattr(merge_request, name, value)
    return entity.merge_request(call.base, call.project, merge_request, single=True)


@routes.add("PUT", "projects/:project/merge_requests/:iid/merge")
def merge(call: Call) -> Answer:
    """Merge now, or with `merge_when_pipeline_succeeds` while CI runs only flag it (the fake never
    merges later by itself: a test that wants that merges again once the pipeline passed)."""
    project, merge_request = call.project, call.merge_request
    if merge_request.state != "opened" or merge_request.draft:
        raise ApiError(405, {"message": "405 Method Not Allowed"})
    head = project.head_pipeline(merge_request)
    ci_running = head is not None and head.status not in FINISHED
    if (call.flag("merge_when_pipeline_succeeds") or call.flag("auto_merge")) and ci_running:
        merge_request.merge_when_pipeline_succeeds = True
        return entity.merge_request(call.base, project, merge_request, single=True)
    if project.only_allow_merge_if_pipeline_succeeds and (head is None or head.status != "success"):
        raise ApiError(405, {"message": "405 Method Not Allowed"})
    if merge_request.has_conflicts:
        raise ApiError(call.state.merge_conflict_status, {"message": "Branch cannot be merged"})
    sha = call.text("sha")
    if sha is not None and sha != merge_request.sha:
        raise ApiError(409, {"message": f"SHA does not match HEAD of source branch: {merge_request.sha}"})
    _merge(call, merge_request)
    return entity.merge_request(call.base, project, merge_request, single=True)


def _merge(call: Call, merge_request: MergeRequest) -> None:
    """Land the merge request: a squash commit if asked, then a merge commit on the target."""
    project = call.project
    if call.flag("squash"):
        merge_request.squash = True
    if merge_request.squash:
        title = call.text("squash_commit_message") or merge_request.title
        merge_request.squash_commit_sha = call.state.commit(project, merge_request.target_branch, title)
    default = f"Merge branch '{merge_request.source_branch}' into '{merge_request.target_branch}'"
    title = call.text("merge_commit_message") or default
    merge_request.merge_commit_sha = call.state.commit(project, merge_request.target_branch, title)
    merge_request.state, merge_request.merged_at = "merged", now()
    merge_request.updated_at = merge_request.merged_at
    remove = call.flag("should_remove_source_branch")
    if remove or (remove is None and merge_request.remove_source_branch):
        _remove_source_branch(call, merge_request)


def _remove_source_branch(call: Call, merge_request: MergeRequest) -> None:
    """GitLab deletes the branch where it lives, a fork's included, but never a default branch."""
    source = call.state.source_of(merge_request)
    if merge_request.source_branch != source.default_branch:
        source.branches.pop(merge_request.source_branch, None)


@routes.add("PUT", "projects/:project/merge_requests/:iid/rebase")
def rebase(call: Call) -> Answer:
    """GitLab queues a rebase and answers 202; the fake rebases at once (a new source head)."""
    merge_request = call.merge_request
    if merge_request.state != "opened":
        raise ApiError(405, {"message": "405 Method Not Allowed"})
    source, title = call.state.source_of(merge_request), f"Rebase onto {merge_request.target_branch}"
    call.state.commit(source, merge_request.source_branch, title)
    return Created({"rebase_in_progress": True}, status=202)


@routes.add("GET", "projects/:project/merge_requests/:iid/pipelines")
def merge_request_pipelines(call: Call) -> Answer:
    project = call.project
    return Listing([entity.pipeline(call.base, project, p) for p in project.pipelines_of(call.merge_request)])


# -- pipelines and jobs --------------------------------------------------------------------------


def _scopes(call: Call) -> list[str]:
    return call.names("scope") or []


@routes.add("GET", "projects/:project/pipelines")
def list_pipelines(call: Call) -> Answer:
    project = call.project
    wanted = {name: call.text(name) for name in ("sha", "ref", "status", "source")}
    scope = call.text("scope")
    found = [
        p
        for p in project.pipelines.values()
        if all(value in (None, getattr(p, name)) for name, value in wanted.items())
        and (scope != "finished" or p.status in FINISHED)
        and (scope not in ("running", "pending") or p.status == scope)
    ]
    found.sort(key=lambda p: p.id, reverse=(call.text("sort", "desc") or "desc") == "desc")
    return Listing([entity.pipeline(call.base, project, p) for p in found])


def _pipeline(call: Call) -> Pipeline:
    pipeline = call.project.pipelines.get(call.number("pipeline"))
    if pipeline is None:
        raise not_found()
    return pipeline


@routes.add("GET", "projects/:project/pipelines/:pipeline")
def get_pipeline(call: Call) -> Answer:
    return entity.pipeline(call.base, call.project, _pipeline(call), single=True)


@routes.add("GET", "projects/:project/pipelines/:pipeline/jobs")
def list_pipeline_jobs(call: Call) -> Answer:
    scopes = _scopes(call)
    jobs = [job for job in _pipeline(call).jobs if not scopes or job.status in scopes]
    return Listing([entity.job(call.base, call.project, job) for job in jobs])


@routes.add("GET", "projects/:project/jobs")
def list_jobs(call: Call) -> Answer:
    project, scopes = call.project, _scopes(call)
    jobs = [job for p in project.pipelines.values() for job in p.jobs if not scopes or job.status in scopes]
    return Listing([entity.job(call.base, project, job) for job in sorted(jobs, key=lambda j: -j.id)])


def _job(call: Call) -> Job:
    found = call.state.find_job(call.number("job"))
    if found is None or found[0] is not call.project:
        raise not_found()
    return found[2]


@routes.add("GET", "projects/:project/jobs/:job")
def get_job(call: Call) -> Answer:
    return entity.job(call.base, call.project, _job(call))


@routes.add("GET", "projects/:project/jobs/:job/trace")
def job_trace(call: Call) -> Answer:
    return Text(_job(call).trace)
