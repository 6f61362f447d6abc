"""How REST API v3 presents the fake's records: the JSON shapes PyGithub reads, with absolute URLs.

Why full shapes with real URLs: PyGithub follows the `url` fields it is given (a lazily built
`Issue` completes itself from its `url`, `Commit.get_combined_status` appends `/status` to the
commit's `url`, `PullRequest.delete_branch` walks `head.repo.owner`), so a missing or relative URL
breaks the client in ways a hand-written stub would hide. API URLs sit under the GitHub Enterprise
prefix (`http://127.0.0.1:PORT/api/v3/...`); web URLs (`html_url`, the default `clone_url`) under the
server root, as on a GitHub Enterprise host.

List shapes differ from single ones where GitHub's do: a pull request in a list has no `merged`,
`mergeable`, `mergeable_state` or counters, so PyGithub completes it with a GET when asked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from tests.fakes._github_records import CheckRun, Comment, Commit, Issue, Label, Repo, Status
from tests.fakes._github_state import GitHubState

ACTIONS_APP = {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"}


def stamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


class Wire:
    """Renders records for one server: `api` is the API root (…/api/v3), `web` the host root."""

    def __init__(self, state: GitHubState, api: str, web: str) -> None:
        self.state, self.api, self.web = state, api, web
        self.host = urlsplit(web).netloc

    def repo_url(self, repo: Repo) -> str:
        return f"{self.api}/repos/{repo.full_name}"

    def user(self, login: str) -> dict[str, Any]:
        uid = self.state.user_id(login)
        return {
            "login": login,
            "id": uid,
            "node_id": f"U_kgDO{uid}",
            "avatar_url": f"{self.web}/avatars/u/{uid}",
            "gravatar_id": "",
            "url": f"{self.api}/users/{quote(login)}",
            "html_url": f"{self.web}/{quote(login)}",
            "type": "Bot" if login.endswith("[bot]") else "User",
            "site_admin": False,
        }

    def repo(self, repo: Repo) -> dict[str, Any]:
        url, html = self.repo_url(repo), f"{self.web}/{repo.full_name}"
        open_issues = sum(issue.state == "open" for issue in repo.issues.values())
        return {
            "id": repo.id,
            "node_id": f"R_kgDO{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "visibility": "private" if repo.private else "public",
            "owner": self.user(repo.owner),
            "html_url": html,
            "description": None,
            "fork": repo.fork_of is not None,
            "url": url,
            "issues_url": f"{url}/issues{{/number}}",
            "pulls_url": f"{url}/pulls{{/number}}",
            "labels_url": f"{url}/labels{{/name}}",
            "git_refs_url": f"{url}/git/refs{{/sha}}",
            "branches_url": f"{url}/branches{{/branch}}",
            "statuses_url": f"{url}/statuses/{{sha}}",
            "commits_url": f"{url}/commits{{/sha}}",
            "clone_url": repo.clone_url or f"{html}.git",
            "git_url": f"git://{self.host}/{repo.full_name}.git",
            "ssh_url": f"git@{self.host}:{repo.full_name}.git",
            "default_branch": repo.default_branch,
            "archived": False,
            "disabled": False,
            "has_issues": True,
            "open_issues_count": open_issues,
            "open_issues": open_issues,
            "allow_merge_commit": "merge" in repo.merge_methods,
            "allow_squash_merge": "squash" in repo.merge_methods,
            "allow_rebase_merge": "rebase" in repo.merge_methods,
            "delete_branch_on_merge": repo.delete_branch_on_merge,
            "created_at": stamp(repo.created_at),
            "updated_at": stamp(repo.created_at),
            "pushed_at": stamp(max((c.date for c in repo.commits.values()), default=repo.created_at)),
            "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
        }

    def label(self, repo: Repo, label: Label) -> dict[str, Any]:
        return {
            "id": label.id,
            "node_id": f"LA_kwDO{label.id}",
            "url": f"{self.repo_url(repo)}/labels/{quote(label.name)}",
            "name": label.name,
            "color": label.color,
            "default": False,
            "description": label.description,
        }

    def issue(self, repo: Repo, issue: Issue) -> dict[str, Any]:
        url = f"{self.repo_url(repo)}/issues/{issue.number}"
        kind = "pull" if issue.pull else "issues"
        data: dict[str, Any] = {
            "id": issue.id,
            "node_id": f"I_kwDO{issue.id}",
            "url": url,
            "repository_url": self.repo_url(repo),
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.web}/{repo.full_name}/{kind}/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self.user(issue.author),
            "labels": [self.label(repo, self.state.label(repo, name)) for name in issue.labels],
            "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user(login) for login in issue.assignees],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": len(issue.comments),
            "created_at": stamp(issue.created_at),
            "updated_at": stamp(issue.updated_at),
            "closed_at": stamp(issue.closed_at),
            "author_association": self._association(repo, issue.author),
        }
        if issue.pull:
            pulls = f"{self.repo_url(repo)}/pulls/{issue.number}"
            data["draft"] = issue.pull.draft
            data["pull_request"] = {
                "url": pulls,
                "html_url": data["html_url"],
                "diff_url": f"{data['html_url']}.diff",
                "patch_url": f"{data['html_url']}.patch",
                "merged_at": stamp(issue.pull.merged_at),
            }
        return data

    def comment(self, repo: Repo, comment: Comment) -> dict[str, Any]:
        issue_url = f"{self.repo_url(repo)}/issues/{comment.issue_number}"
        return {
            "id": comment.id,
            "node_id": f"IC_kwDO{comment.id}",
            "url": f"{self.repo_url(repo)}/issues/comments/{comment.id}",
            "html_url": f"{self.web}/{repo.full_name}/issues/{comment.issue_number}#issuecomment-{comment.id}",
            "issue_url": issue_url,
            "body": comment.body,
            "user": self.user(comment.author),
            "created_at": stamp(comment.created_at),
            "updated_at": stamp(comment.updated_at),
            "author_association": self._association(repo, comment.author),
        }

    def pull(self, repo: Repo, issue: Issue, *, full: bool = True) -> dict[str, Any]:
        pull = issue.pull
        assert pull is not None
        url = f"{self.repo_url(repo)}/pulls/{issue.number}"
        data = self.issue(repo, issue)
        html = data["html_url"]
        data.update(
            {
                "url": url,
                "node_id": f"PR_kwDO{issue.id}",
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "issue_url": f"{self.repo_url(repo)}/issues/{issue.number}",
                "commits_url": f"{url}/commits",
                "review_comments_url": f"{url}/comments",
                "review_comment_url": f"{self.repo_url(repo)}/pulls/comments{{/number}}",
                "comments_url": f"{self.repo_url(repo)}/issues/{issue.number}/comments",
                "statuses_url": f"{self.repo_url(repo)}/statuses/{pull.head_sha}",
                "requested_reviewers": [],
                "requested_teams": [],
                "merged_at": stamp(pull.merged_at),
                "merge_commit_sha": pull.merge_commit_sha,
                "head": self._part(pull.head_repo, pull.head_ref, pull.head_sha),
                "base": self._part(repo.full_name, pull.base_ref, repo.branch(pull.base_ref) or ""),
                "_links": {
                    "self": {"href": url},
                    "html": {"href": html},
                    "issue": {"href": data["url"]},
                    "comments": {"href": f"{data['url']}/comments"},
                    "statuses": {"href": f"{self.repo_url(repo)}/statuses/{pull.head_sha}"},
                },
                "auto_merge": None,
            }
        )
        for key in ("pull_request", "comments", "state_reason", "repository_url", "labels_url", "events_url"):
            data.pop(key, None)
        if full:
            data.update(
                {
                    "merged": pull.merged,
                    "mergeable": pull.mergeable if issue.state == "open" else None,
                    "rebaseable": pull.mergeable if issue.state == "open" else None,
                    "mergeable_state": self._mergeable_state(repo, issue),
                    "merged_by": self.user(pull.merged_by) if pull.merged_by else None,
                    "comments": len(issue.comments),
                    "review_comments": 0,
                    "maintainer_can_modify": False,
                    "commits": 1,
                    "additions": 1,
                    "deletions": 0,
                    "changed_files": 1,
                }
            )
        return data

    def _part(self, full_name: str, ref: str, sha: str) -> dict[str, Any]:
        """A pull request's head or base; `repo` is null once a fork's owner deleted it."""
        owner = full_name.partition("/")[0]
        repo = self.state.repos.get(full_name.lower())
        return {
            "label": f"{owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(owner),
            "repo": self.repo(repo) if repo else None,
        }

    def _mergeable_state(self, repo: Repo, issue: Issue) -> str:
        pull = issue.pull
        assert pull is not None
        if issue.state != "open":
            return "unknown"
        if not pull.mergeable:
            return "dirty"
        if pull.draft:
            return "draft"
        if any(
            self.state.check_state(repo, pull.head_sha, name) != "success" for name in repo.required_checks
        ):
            return "blocked"
        failing = self.state.combined_state(repo, pull.head_sha) == "failure" or any(
            run.conclusion not in (None, "success", "neutral", "skipped")
            for run in self.state.check_runs(repo, pull.head_sha)
        )
        return "unstable" if failing else "clean"

    def _association(self, repo: Repo, login: str) -> str:
        if login == repo.owner:
            return "OWNER"
        return "COLLABORATOR" if login in repo.collaborators else "NONE"

    def ref(self, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
        return {
            "ref": ref,
            "node_id": f"REF_kwDO{repo.id}:{ref}",
            "url": f"{self.repo_url(repo)}/git/{ref}",
            "object": {"sha": sha, "type": "commit", "url": f"{self.repo_url(repo)}/git/commits/{sha}"},
        }

    def branch(self, repo: Repo, name: str, sha: str, *, full: bool = True) -> dict[str, Any]:
        url = f"{self.repo_url(repo)}/branches/{name}"
        commit = (
            self.commit(repo, repo.commits[sha]) if full else {"sha": sha, "url": self._commit_url(repo, sha)}
        )
        data: dict[str, Any] = {"name": name, "commit": commit, "protected": name in repo.protected}
        if full:
            data["_links"] = {"self": url, "html": f"{self.web}/{repo.full_name}/tree/{name}"}
            data["protection_url"] = f"{url}/protection"
        return data

    def _commit_url(self, repo: Repo, sha: str) -> str:
        return f"{self.repo_url(repo)}/commits/{sha}"

    def commit(self, repo: Repo, commit: Commit) -> dict[str, Any]:
        person = {"name": commit.author, "email": f"{commit.author}@users.noreply.{self.host}"}
        signature = {**person, "date": stamp(commit.date)}
        return {
            "sha": commit.sha,
            "node_id": f"C_kwDO{commit.sha[:12]}",
            "url": self._commit_url(repo, commit.sha),
            "html_url": f"{self.web}/{repo.full_name}/commit/{commit.sha}",
            "comments_url": f"{self._commit_url(repo, commit.sha)}/comments",
            "commit": {
                "url": f"{self.repo_url(repo)}/git/commits/{commit.sha}",
                "message": commit.message,
                "author": signature,
                "committer": signature,
                "tree": {
                    "sha": commit.sha[::-1],
                    "url": f"{self.repo_url(repo)}/git/trees/{commit.sha[::-1]}",
                },
                "comment_count": 0,
            },
            "author": self.user(commit.author),
            "committer": self.user(commit.author),
            "parents": [
                {
                    "sha": parent,
                    "url": self._commit_url(repo, parent),
                    "html_url": f"{self.web}/{repo.full_name}/commit/{parent}",
                }
                for parent in commit.parents
            ],
            "stats": {"total": 1, "additions": 1, "deletions": 0},
            "files": [],
        }

    def status(self, repo: Repo, status: Status) -> dict[str, Any]:
        return {
            "url": f"{self.repo_url(repo)}/statuses/{status.sha}",
            "avatar_url": None,
            "id": status.id,
            "node_id": f"SC_kwDO{status.id}",
            "state": status.state,
            "description": status.description,
            "target_url": status.target_url,
            "context": status.context,
            "created_at": stamp(status.created_at),
            "updated_at": stamp(status.created_at),
            "creator": self.user(status.creator),
        }

    def combined_status(self, repo: Repo, sha: str) -> dict[str, Any]:
        statuses = self.state.latest_statuses(repo, sha)
        return {
            "state": self.state.combined_state(repo, sha),
            "statuses": [self.status(repo, status) for status in statuses],
            "sha": sha,
            "total_count": len(statuses),
            "repository": self.repo(repo),
            "commit_url": self._commit_url(repo, sha),
            "url": f"{self._commit_url(repo, sha)}/status",
        }

    def _app(self, slug: str) -> dict[str, Any]:
        app: dict[str, Any] = (
            dict(ACTIONS_APP) if slug == ACTIONS_APP["slug"] else {"id": 90001, "slug": slug}
        )
        app.setdefault("name", slug)
        app.update(node_id=f"A_kwDO{app['id']}", owner=self.user("github"), description="")
        app.update(external_url=f"{self.web}/apps/{slug}", html_url=f"{self.web}/apps/{slug}")
        app.update(created_at="2018-07-30T09:30:17Z", updated_at="2019-12-10T19:04:12Z")
        return {**app, "permissions": {}, "events": []}

    def check_run(self, repo: Repo, run: CheckRun) -> dict[str, Any]:
        url = f"{self.repo_url(repo)}/check-runs/{run.id}"
        return {
            "id": run.id,
            "node_id": f"CR_kwDO{run.id}",
            "head_sha": run.head_sha,
            "external_id": "",
            "url": url,
            "html_url": self._job_html(repo, run),
            "details_url": run.details_url or self._job_html(repo, run),
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": stamp(run.started_at),
            "completed_at": stamp(run.completed_at),
            "output": {
                "title": run.conclusion and f"{run.name}: {run.conclusion}",
                "summary": run.conclusion and f"{run.name} {run.conclusion}",
                "text": None,
                "annotations_count": 0,
                "annotations_url": f"{url}/annotations",
            },
            "name": run.name,
            "check_suite": {"id": run.run_id + 1},
            "app": self._app(run.app_slug),
            "pull_requests": [],
        }

    def _job_html(self, repo: Repo, run: CheckRun) -> str:
        return f"{self.web}/{repo.full_name}/actions/runs/{run.run_id}/job/{run.id}"

    def job(self, repo: Repo, run: CheckRun) -> dict[str, Any]:
        runs = f"{self.repo_url(repo)}/actions/runs/{run.run_id}"
        return {
            "id": run.id,
            "run_id": run.run_id,
            "run_url": runs,
            "run_attempt": 1,
            "node_id": f"CR_kwDO{run.id}",
            "head_sha": run.head_sha,
            "head_branch": next((b for b, s in repo.branches.items() if s == run.head_sha), None),
            "url": f"{self.repo_url(repo)}/actions/jobs/{run.id}",
            "html_url": self._job_html(repo, run),
            "status": run.status,
            "conclusion": run.conclusion,
            "created_at": stamp(run.started_at),
            "started_at": stamp(run.started_at),
            "completed_at": stamp(run.completed_at),
            "name": run.name,
            "steps": [],
            "check_run_url": f"{self.repo_url(repo)}/check-runs/{run.id}",
            "labels": ["ubuntu-latest"],
            "runner_id": 1,
            "runner_name": "GitHub Actions 1",
            "runner_group_id": 1,
            "runner_group_name": "GitHub Actions",
            "workflow_name": "CI",
        }
