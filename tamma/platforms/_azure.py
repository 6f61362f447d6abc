"""`AzureDevOpsPlatform`: Azure Repos and Boards (Azure DevOps Services or Server) through httpx.

Why httpx and not Microsoft's `azure-devops` package: its last release is a 2023 beta
(7.1.0b4) built on the deprecated `msrest`, its models are untyped generated classes that
would leak `Any` through a strict adapter, and it has its own retry loop; the REST API is plain
JSON with a `api-version` query parameter, so a small client is clearer (docs/platforms.md).

One instance serves one Git repository, `org/project/repo`; issues are the project's Boards
work items (any type), their `System.Tags` its labels. Listing by label is a WIQL query (tag
`CONTAINS` is a substring match, so the tags are checked again), then the items in batches.

Rate limits: Azure DevOps delays requests first and answers 429 with `Retry-After` past the
limit; that becomes `Throttled`, which `RateLimitPolicy` waits out (httpx never retries, so the
policy stays the one retry owner). A missing or wrong PAT may get 203 with a sign-in page, which
is `Forbidden` here, not a success.

Where Azure DevOps differs from the normalized interface: a work item has one assignee (the first
user given is set); comments are written as Markdown (`format=markdown`, 7.1-preview.4); CI is the
commit's statuses, the latest per context, and a failed Azure Pipelines status carries its build
id as `log_id` (the log is the failed records of the build's timeline); merging completes the pull
request, which the server may finish asynchronously, so its state is polled until it settles.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

import httpx

from tamma.errors import Conflict, InvalidReference, NotFound
from tamma.platforms import _http as http
from tamma.platforms._azure_wire import (
    HEADS,
    NAME,
    comment,
    identity,
    looks_like_sha,
    pull_request,
    raise_for_status,
    tags_of,
    wiql_literal,
)
from tamma.platforms._models import (
    Check,
    CIState,
    CIStatus,
    Comment,
    Issue,
    MergeMethod,
    PullRequest,
    RateLimitState,
    Repository,
)
from tamma.platforms._ratelimit import RateLimitPolicy
from tamma.platforms._refs import IssueRef
from tamma.redaction import redact

__all__ = ["AzureDevOpsPlatform"]

API_VERSION = "7.1"
COMMENTS_API_VERSION = "7.1-preview.4"
BATCH_SIZE = 200
"""The most work items `_apis/wit/workitems?ids=` returns at once."""
PAGE_SIZE = 100
ZERO_SHA = "0" * 40
CLOSED_STATES = ("Closed", "Done", "Removed", "Resolved", "Completed")
"""Work item states that mean closed across the Agile, Scrum, CMMI and Basic processes."""
MERGE_STRATEGIES = {"merge": "noFastForward", "squash": "squash", "rebase": "rebase"}
MERGE_POLLS, MERGE_POLL_S = 10, 1.0
_STATUS_STATES: dict[str, CIState] = {
    "succeeded": "success",
    "notApplicable": "success",
    "pending": "pending",
    "notSet": "pending",
    "failed": "failure",
    "error": "failure",
}
_BUILD_ID = re.compile(r"[?&]buildId=(\d+)")


class AzureDevOpsPlatform:
    """The Git repository `org/project/repo` under `base_url` (dev.azure.com or a Server collection)."""

    name = NAME

    def __init__(
        self,
        repo: str,
        *,
        token: str,
        base_url: str = "https://dev.azure.com",
        rate_limits: RateLimitPolicy | None = None,
        timeout_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if repo.count("/") != 2 or "" in repo.split("/"):
            raise InvalidReference(
                f"an Azure DevOps repository is written org/project/repo, got {repo!r}", platform=NAME
            )
        self._root = base_url.rstrip("/")
        org, project, name = repo.split("/")
        self._client = httpx.Client(
            base_url=f"{self._root}/{quote(org)}/{quote(project)}/_apis",
            auth=httpx.BasicAuth("", token),
            headers={"Accept": "application/json"},
            timeout=timeout_s,
        )
        self._full_name = repo
        self._git = f"/git/repositories/{quote(name)}"
        self._rate_limits = rate_limits or RateLimitPolicy()
        self._sleep = sleep

    # -- HTTP ------------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, version: str = API_VERSION, **options: Any
    ) -> httpx.Response:
        params = {**(options.pop("params", None) or {}), "api-version": version}

        return http.call(
            self._client,
            self._rate_limits,
            raise_for_status,
            platform=NAME,
            method=method,
            url=path,
            params=params,
            **options,
        )

    def _json(self, method: str, path: str, **options: Any) -> Any:
        return self._request(method, path, **options).json()

    def _values(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """A `{"count", "value"}` list, following `x-ms-continuationtoken` one page per step."""
        query = dict(params or {})
        while True:
            response = self._request("GET", path, params=query)
            yield from response.json().get("value") or ()
            token = response.headers.get("x-ms-continuationtoken")
            if not token:
                return
            query["continuationToken"] = token

    # -- repository and work items ---------------------------------------------------------------

    def repository(self) -> Repository:
        repo = self._json("GET", self._git)
        return Repository(
            full_name=self._full_name,
            default_branch=str(repo.get("defaultBranch") or f"{HEADS}main").removeprefix(HEADS),
            clone_url=repo["remoteUrl"],
            web_url=repo.get("webUrl") or "",
        )

    def list_issues(
        self, *, labels: Iterable[str] = (), state: str = "open", assignee: str | None = None
    ) -> Iterator[Issue]:
        wanted = tuple(labels)
        clauses = ["[System.TeamProject] = @project"]
        clauses += [f"[System.Tags] CONTAINS {wiql_literal(label)}" for label in wanted]
        closed = ", ".join(wiql_literal(name) for name in CLOSED_STATES)
        if state == "open":
            clauses.append(f"[System.State] NOT IN ({closed})")
        elif state == "closed":
            clauses.append(f"[System.State] IN ({closed})")
        if assignee:
            clauses.append(f"[System.AssignedTo] = {wiql_literal(assignee)}")
        wiql = f"SELECT [System.Id] FROM WorkItems WHERE {' AND '.join(clauses)} ORDER BY [System.Id] ASC"
        ids = [
            item["id"]
            for item in self._json("POST", "/wit/wiql", json={"query": wiql}).get("workItems") or ()
        ]
        for start in range(0, len(ids), BATCH_SIZE):
            batch = ",".join(str(number) for number in ids[start : start + BATCH_SIZE])
            found = self._json("GET", "/wit/workitems", params={"ids": batch, "errorPolicy": "omit"})
            for item in found.get("value") or ():
                if item and set(wanted) <= set(tags_of(item)):
                    yield self._issue(item, ())

    def get_issue(self, number: int, *, with_comments: bool = True) -> Issue:
        item = self._work_item(number)
        comments = tuple(self._comments(number)) if with_comments else ()
        return self._issue(item, comments)

    def _work_item(self, number: int) -> dict[str, Any]:
        item: dict[str, Any] = self._json("GET", f"/wit/workitems/{int(number)}")
        project = self._full_name.split("/")[1]
        if str(item.get("fields", {}).get("System.TeamProject", project)).lower() != project.lower():
            raise NotFound(f"work item {number} is not in project {project}", platform=NAME, status=404)
        return item

    def _comments(self, number: int) -> Iterator[Comment]:
        """Oldest first; the list pages by `continuationToken` in its body."""
        params: dict[str, Any] = {"order": "asc", "$top": PAGE_SIZE}
        while True:
            page = self._json(
                "GET", f"/wit/workItems/{int(number)}/comments", params=params, version=COMMENTS_API_VERSION
            )
            yield from (comment(item) for item in page.get("comments") or () if not item.get("isDeleted"))
            if not page.get("continuationToken"):
                return
            params["continuationToken"] = page["continuationToken"]

    def add_comment(self, number: int, body: str) -> Comment:
        created = self._json(
            "POST",
            f"/wit/workItems/{int(number)}/comments",
            params={"format": "markdown"},
            json={"text": body},
            version=COMMENTS_API_VERSION,
        )
        return comment(created)

    def find_comment(self, number: int, marker: str) -> Comment | None:
        return self.get_issue(number).comment_with(marker)

    def add_labels(self, number: int, labels: Iterable[str]) -> None:
        tags = tags_of(self._work_item(number))
        self._set_field(number, "System.Tags", "; ".join(dict.fromkeys([*tags, *labels])))

    def remove_labels(self, number: int, labels: Iterable[str]) -> None:
        unwanted = {label.lower() for label in labels}
        tags = tags_of(self._work_item(number))
        self._set_field(number, "System.Tags", "; ".join(tag for tag in tags if tag.lower() not in unwanted))

    def assign(self, number: int, users: Iterable[str]) -> None:
        """A work item has one assignee: the first of `users`."""
        first = next(iter(users), None)
        if first is not None:
            self._set_field(number, "System.AssignedTo", first)

    def _set_field(self, number: int, field: str, value: str) -> None:
        self._request(
            "PATCH",
            f"/wit/workitems/{int(number)}",
            content=json.dumps([{"op": "add", "path": f"/fields/{field}", "value": value}]),
            headers={"Content-Type": "application/json-patch+json"},
        )

    # -- branches and pull requests --------------------------------------------------------------

    def create_branch(self, name: str, from_ref: str) -> str:
        sha = from_ref if looks_like_sha(from_ref) else self._branch_sha(from_ref)
        update = [{"name": f"{HEADS}{name}", "oldObjectId": ZERO_SHA, "newObjectId": sha}]
        for result in self._json("POST", f"{self._git}/refs", json=update).get("value") or ():
            if not result.get("success"):
                raise Conflict(
                    f"branch {name!r} was not created: {result.get('updateStatus')}",
                    platform=NAME,
                    status=409,
                )
        return sha

    def _branch_sha(self, branch: str) -> str:
        for ref in self._values(f"{self._git}/refs", {"filter": f"heads/{branch}"}):
            if ref["name"] == f"{HEADS}{branch}":
                return str(ref["objectId"])
        raise NotFound(f"no branch {branch!r} in {self._full_name}", platform=NAME, status=404)

    def open_pull_request(
        self, *, title: str, body: str, head: str, base: str, draft: bool = False
    ) -> PullRequest:
        request = {
            "sourceRefName": f"{HEADS}{head}",
            "targetRefName": f"{HEADS}{base}",
            "title": title,
            "description": body,
            "isDraft": draft,
        }
        return pull_request(self._json("POST", f"{self._git}/pullrequests", json=request))

    def find_pull_request(self, head: str) -> PullRequest | None:
        """The active pull request from `head` of this repository; one from a fork's branch of the
        same name (it has `forkSource`) is another contributor's work."""
        criteria = {"searchCriteria.sourceRefName": f"{HEADS}{head}", "searchCriteria.status": "active"}
        skip = 0
        while True:
            page = (
                self._json(
                    "GET", f"{self._git}/pullrequests", params={**criteria, "$top": PAGE_SIZE, "$skip": skip}
                ).get("value")
                or []
            )
            for item in page:
                if not item.get("forkSource") and item["sourceRefName"] == f"{HEADS}{head}":
                    return pull_request(item)
            if len(page) < PAGE_SIZE:
                return None
            skip += PAGE_SIZE

    def update_pull_request_body(self, number: int, body: str) -> PullRequest:
        return pull_request(
            self._json("PATCH", f"{self._git}/pullrequests/{int(number)}", json={"description": body})
        )

    # -- CI ----------------------------------------------------------------------------------------

    def ci_status(self, sha: str) -> CIStatus:
        checks = []
        for status in self._values(f"{self._git}/commits/{sha}/statuses", {"latestOnly": "true"}):
            url = status.get("targetUrl") or ""
            state = _STATUS_STATES.get(status.get("state") or "", "pending")
            build = _BUILD_ID.search(url)
            checks.append(
                Check(
                    name=status["context"]["name"],
                    state=state,
                    url=url,
                    log_id=build.group(1) if build and state == "failure" else "",
                )
            )
        return CIStatus(sha=sha, checks=tuple(checks))

    def failed_job_log(self, log_id: str, *, max_chars: int = 20_000) -> str:
        """The logs of the build's failed timeline records, else its last log."""
        build = f"/build/builds/{int(log_id)}"
        records = self._json("GET", f"{build}/timeline").get("records") or ()
        failed = [r["log"]["id"] for r in records if r.get("result") == "failed" and r.get("log")]
        if not failed:
            logs = list(self._values(f"{build}/logs"))
            failed = [logs[-1]["id"]] if logs else []
        text = "".join(self._request("GET", f"{build}/logs/{log}").text for log in failed)
        return redact(text)[-max_chars:]

    # -- merge and limits --------------------------------------------------------------------------

    def merge(self, number: int, *, method: MergeMethod = "squash", delete_branch: bool = True) -> str:
        path = f"{self._git}/pullrequests/{int(number)}"
        pull = self._json("GET", path)
        if pull["status"] != "active" or pull.get("isDraft"):
            state = "a draft" if pull.get("isDraft") else pull["status"]
            raise Conflict(
                f"pull request {number} cannot be completed: it is {state}", platform=NAME, status=409
            )
        source = (pull.get("lastMergeSourceCommit") or {}).get("commitId")
        if not source:
            raise Conflict(
                f"pull request {number} has no source commit: its branch is gone", platform=NAME, status=409
            )
        completion = {
            "status": "completed",
            "lastMergeSourceCommit": {"commitId": source},
            "completionOptions": {
                "mergeStrategy": MERGE_STRATEGIES[method],
                "deleteSourceBranch": delete_branch,
            },
        }
        pull = self._json("PATCH", path, json=completion)
        for _ in range(MERGE_POLLS):
            if pull["status"] == "completed" and pull.get("lastMergeCommit"):
                return str(pull["lastMergeCommit"]["commitId"])
            if pull.get("mergeStatus") in ("conflicts", "failure", "rejectedByPolicy"):
                break
            self._sleep(MERGE_POLL_S)
            pull = self._json("GET", path)
        raise Conflict(
            f"pull request {number} was not completed (merge status {pull.get('mergeStatus')!r}); "
            "it may conflict or be blocked by a branch policy",
            platform=NAME,
            status=409,
        )

    def rate_limit(self) -> RateLimitState | None:
        """None: Azure DevOps meters usage in TSTUs and reports it only once requests are delayed."""
        return None

    def _issue(self, item: dict[str, Any], comments: tuple[Comment, ...]) -> Issue:
        fields = item.get("fields") or {}
        assignee = identity(fields.get("System.AssignedTo"))
        return Issue(
            ref=IssueRef(platform=NAME, repo=self._full_name, number=item["id"]),
            title=fields.get("System.Title") or "",
            body=fields.get("System.Description") or "",
            state="closed" if fields.get("System.State") in CLOSED_STATES else "open",
            labels=tags_of(item),
            assignees=(assignee,) if assignee else (),
            author=identity(fields.get("System.CreatedBy")),
            url=((item.get("_links") or {}).get("html") or {}).get("href") or "",
            comments=comments,
        )
