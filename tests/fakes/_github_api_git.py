"""The fake GitHub's code-side routes: branches and git refs, pull requests and merges, commits, CI.

Why apart from `_github_api`: these are the routes whose answers hang on commits (a pull request
needs a head ahead of its base, a merge moves the base branch, CI is read per sha), while the
issue routes only touch tracker records. Same table, same `Call`; importing this module registers
its routes.
"""

from __future__ import annotations

from tests.fakes._github_api import NO_CONTENT, REPO, Call, Reply, created, edit_common, paginate, route
from tests.fakes._github_records import ApiError, Issue, Repo, invalid, not_found
from tests.fakes._server import JsonReply, TextReply

PULL = REPO + "/pulls/{number:int}"


# -- branches and git refs ------------------------------------------------------------------------


@route("GET", REPO + "/branches", ("contents", "read"))
def list_branches(call: Call) -> Reply:
    repo = call.repo
    branches = sorted(repo.branches.items())
    return paginate(call, [call.wire.branch(repo, name, sha, full=False) for name, sha in branches])


@route("GET", REPO + "/branches/{branch:path}", ("contents", "read"))
def get_branch(call: Call) -> Reply:
    repo = call.repo
    if (sha := repo.branch(call.args["branch"])) is None:
        raise ApiError(404, "Branch not found")
    return JsonReply(call.wire.branch(repo, call.args["branch"], sha))


@route("POST", REPO + "/git/refs", ("contents", "write"))
def create_ref(call: Call) -> Reply:
    repo = call.repo
    ref, sha = call.field("ref", required=True), call.field("sha", required=True)
    call.state.create_ref(repo, ref, sha)
    return created(call.wire.ref(repo, ref, sha))


@route("GET", REPO + "/git/refs", ("contents", "read"))
def list_refs(call: Call) -> Reply:
    repo = call.repo
    return paginate(call, [call.wire.ref(repo, ref, sha) for ref, sha in sorted(repo.refs.items())])


@route("GET", REPO + "/git/ref/{ref:path}", ("contents", "read"))
@route("GET", REPO + "/git/refs/{ref:path}", ("contents", "read"))
def get_ref(call: Call) -> Reply:
    """`git/ref/heads/x` (what PyGithub asks) and the older `git/refs/heads/x` both answer one ref."""
    repo, ref = call.repo, call.args["ref"]
    return JsonReply(call.wire.ref(repo, f"refs/{ref}", call.state.ref(repo, ref)))


@route("PATCH", REPO + "/git/refs/{ref:path}", ("contents", "write"))
def update_ref(call: Call) -> Reply:
    repo, ref = call.repo, call.args["ref"]
    call.state.update_ref(repo, ref, call.field("sha", required=True), force=bool(call.field("force", bool)))
    return JsonReply(call.wire.ref(repo, f"refs/{ref}", call.state.ref(repo, ref)))


@route("DELETE", REPO + "/git/refs/{ref:path}", ("contents", "write"))
def delete_ref(call: Call) -> Reply:
    call.state.delete_ref(call.repo, call.args["ref"])
    return NO_CONTENT


# -- pull requests --------------------------------------------------------------------------------


@route("GET", REPO + "/pulls", ("pull_requests", "read"))
def list_pulls(call: Call) -> Reply:
    """`head` filters only in its documented `owner:branch` form (the owner of the head's repository:
    this one's or a fork's); a bare branch name is ignored (GitHub then lists every pull request),
    which is how adapters that drop the owner get fooled."""
    repo, query = call.repo, call.query
    state, head, base = query.get("state", "open"), query.get("head", ""), query.get("base")
    owner, _, head_ref = head.partition(":") if ":" in head else ("", "", "")

    def keep(issue: Issue) -> bool:
        pull = issue.pull
        return (
            pull is not None
            and (state == "all" or issue.state == state)
            and (not head_ref or (_owner(pull.head_repo), pull.head_ref) == (owner.lower(), head_ref))
            and (base is None or pull.base_ref == base)
        )

    found = sorted(filter(keep, repo.issues.values()), key=lambda issue: issue.number)
    if query.get("direction", "desc") == "desc":
        found.reverse()
    return paginate(call, [call.wire.pull(repo, issue, full=False) for issue in found])


def _owner(full_name: str) -> str:
    return full_name.partition("/")[0].lower()


@route("POST", REPO + "/pulls", ("pull_requests", "write"))
def create_pull(call: Call) -> Reply:
    repo = call.repo
    if call.field("issue", int) is not None:
        raise invalid("PullRequest", "issue", "unprocessable")
    issue = call.state.create_pull(
        repo,
        title=call.field("title"),
        body=call.field("body"),
        head=call.field("head", required=True),
        base=call.field("base", required=True),
        draft=bool(call.field("draft", bool, default=False)),
        author=call.login,
    )
    return created(call.wire.pull(repo, issue))


@route("GET", PULL, ("pull_requests", "read"))
def get_pull(call: Call) -> Reply:
    return JsonReply(call.wire.pull(call.repo, call.state.pull(call.repo, call.number)))


@route("PATCH", PULL, ("pull_requests", "write"))
def edit_pull(call: Call) -> Reply:
    repo = call.repo
    issue = call.state.pull(repo, call.number)
    assert issue.pull is not None
    if (base := call.field("base")) is not None:
        if repo.branch(base) is None:
            raise invalid("PullRequest", "base")
        issue.pull.base_ref = base
    edit_common(call, repo, issue)
    return JsonReply(call.wire.pull(repo, issue))


@route("GET", PULL + "/merge", ("pull_requests", "read"))
def is_merged(call: Call) -> Reply:
    issue = call.state.pull(call.repo, call.number)
    if issue.pull is None or not issue.pull.merged:
        raise not_found()
    return NO_CONTENT


@route("PUT", PULL + "/merge", ("contents", "write"))
def merge_pull(call: Call) -> Reply:
    repo = call.repo
    issue = call.state.pull(repo, call.number)
    sha = call.state.merge(
        repo,
        issue,
        method=call.field("merge_method", default="merge"),
        sha=call.field("sha"),
        title=call.field("commit_title"),
        actor=call.login,
    )
    return JsonReply({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


# -- commits and CI -------------------------------------------------------------------------------


@route("GET", REPO + "/commits/{ref}", ("contents", "read"))
def get_commit(call: Call) -> Reply:
    repo = call.repo
    return JsonReply(call.wire.commit(repo, repo.commits[call.state.resolve(repo, call.args["ref"])]))


@route("GET", REPO + "/commits/{ref}/status", ("statuses", "read"))
def combined_status(call: Call) -> Reply:
    repo = call.repo
    return JsonReply(call.wire.combined_status(repo, call.state.resolve(repo, call.args["ref"])))


@route("GET", REPO + "/commits/{ref}/statuses", ("statuses", "read"))
def list_statuses(call: Call) -> Reply:
    repo = call.repo
    sha = call.state.resolve(repo, call.args["ref"])
    statuses = sorted((s for s in repo.statuses if s.sha == sha), key=lambda status: -status.id)
    return paginate(call, [call.wire.status(repo, status) for status in statuses])


@route("POST", REPO + "/statuses/{sha}", ("statuses", "write"))
def create_status(call: Call) -> Reply:
    repo = call.repo
    sha = call.args["sha"]
    if sha not in repo.commits:
        raise ApiError(422, f"No commit found for SHA: {sha}")
    status = call.state.add_status(
        repo,
        sha,
        state=call.field("state", required=True),
        context=call.field("context", default="default"),
        description=call.field("description"),
        target_url=call.field("target_url"),
        creator=call.login,
    )
    return created(call.wire.status(repo, status))


@route("GET", REPO + "/commits/{ref}/check-runs", ("checks", "read"))
def list_check_runs(call: Call) -> Reply:
    """Newest run per name unless `filter=all`; `check_name` and `status` narrow the list."""
    repo, query = call.repo, call.query
    sha = call.state.resolve(repo, call.args["ref"])
    runs = call.state.check_runs(repo, sha, latest=query.get("filter", "latest") != "all")
    runs = [
        run
        for run in runs
        if query.get("check_name") in (None, run.name) and query.get("status") in (None, run.status)
    ]
    return paginate(call, [call.wire.check_run(repo, run) for run in runs], envelope="check_runs")


@route("GET", REPO + "/check-runs/{id:int}", ("checks", "read"))
def get_check_run(call: Call) -> Reply:
    repo = call.repo
    return JsonReply(call.wire.check_run(repo, call.state.check_run(repo, int(call.args["id"]))))


def _job(call: Call, repo: Repo) -> int:
    """A check run made by GitHub Actions is also a job with the same id; others have no job."""
    run = call.state.check_run(repo, int(call.args["id"]))
    if run.app_slug != "github-actions":
        raise not_found()
    return run.id


@route("GET", REPO + "/actions/jobs/{id:int}", ("actions", "read"))
def get_job(call: Call) -> Reply:
    repo = call.repo
    return JsonReply(call.wire.job(repo, call.state.check_run(repo, _job(call, repo))))


@route("GET", REPO + "/actions/jobs/{id:int}/logs", ("actions", "read"))
def job_logs(call: Call) -> Reply:
    """A 302 to a short-lived signed URL, as GitHub answers; or the text itself when so configured."""
    repo = call.repo
    run = call.state.check_run(repo, _job(call, repo))
    location = call.log_url(repo, run.id)
    if location is None:
        return TextReply(run.log)
    return TextReply(b"", status=302, headers={"location": location})
