"""The fake Gitea's CI routes: a commit's combined status and the Gitea Actions API.

Why apart from `_gitea_api`: these answers hang together (an Actions job posts the commit status
that points at its page, whose path the runs and jobs lists repeat, and whose id fetches its
log), so they read best side by side. The routing and error rules are in `_gitea_api`.
"""

from __future__ import annotations

from typing import Any

from tests.fakes import _gitea_json as entity
from tests.fakes._gitea_api import ApiError, Call, Reply, Routes, Text, not_found
from tests.fakes._gitea_state import GiteaState, Job, Repo, Run, job_commit_status

routes = Routes()


@routes.add("GET", "repos/:owner/:repo/commits/:ref/status")
def combined_status(call: Call) -> Reply:
    repo, ref = call.repo, call.params["ref"]
    sha = repo.branches.get(ref, ref)
    latest: dict[str, Any] = {}
    for record in sorted((s for s in repo.statuses if s.sha == sha), key=lambda s: s.id, reverse=True):
        latest.setdefault(record.context, record)
    statuses = list(latest.values())
    limit, page = int(call.arg("limit", 30)), max(1, int(call.arg("page", 1)))
    shown = statuses[(page - 1) * limit : page * limit]
    return entity.combined_status(call.base, repo, sha, statuses, shown)


def _actions(call: Call) -> Repo:
    """The repository, if this server has the Actions API (Gitea 1.24+; not Forgejo)."""
    if not call.state.actions_api:
        raise ApiError(404, "Not Found")
    return call.repo


@routes.add("GET", "repos/:owner/:repo/actions/runs")
def list_runs(call: Call) -> Reply:
    repo, sha = _actions(call), call.arg("head_sha")
    runs = [run for run in reversed(repo.runs) if sha in (None, run.sha)]
    return {
        "workflow_runs": [entity.workflow_run(call.base, repo, run) for run in runs],
        "total_count": len(runs),
    }


@routes.add("GET", "repos/:owner/:repo/actions/runs/:run/jobs")
def list_run_jobs(call: Call) -> Reply:
    repo = _actions(call)
    run = next((r for r in repo.runs if str(r.id) == call.params["run"]), None)
    if run is None:
        raise not_found()
    return {
        "jobs": [entity.workflow_job(call.base, repo, run, job) for job in run.jobs],
        "total_count": len(run.jobs),
    }


@routes.add("GET", "repos/:owner/:repo/actions/jobs/:job/logs")
def job_logs(call: Call) -> Reply:
    found = find_job(_actions(call), call.params["job"])
    if found is None:
        raise not_found()
    return Text(found[1].log)


def find_job(repo: Repo, job_id: str) -> tuple[Run, Job] | None:
    return next(((run, job) for run in repo.runs for job in run.jobs if str(job.id) == job_id), None)


def sync_job_status(base: str, repo: Repo, run: Run, job: Job, state: GiteaState) -> None:
    """Post or update the commit status Gitea Actions keeps for `job` (see `_gitea_state`)."""
    status = job_commit_status(job)
    if job.status_record is None:
        url = entity.workflow_job(base, repo, run, job)["html_url"]
        job.status_record = state.add_status(
            repo, run.sha, f"{run.workflow} / {job.name} (push)", status, url
        )
    job.status_record.status = status
