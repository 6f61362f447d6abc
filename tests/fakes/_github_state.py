"""The fake GitHub's memory and the rules the REST API enforces on it, with GitHub's own answers.

Why a model and not canned JSON: the platform adapter makes chains of calls (create a branch, open
a pull request, find it again by head, merge it) whose answers depend on each other, and an adapter
bug often shows only as a wrong *later* answer (a pull request not found by head, a branch that did
not move). So every write here checks what GitHub checks, and a refusal is an `ApiError` carrying
GitHub's status and message (422 "Reference already exists", 405 "Pull Request is not mergeable",
...). The records are in `_github_records`; routing, auth, rate limits and pagination in
`tests.fakes.github` and its `_github_api*` modules.

A "push" (`GitHubState.push`) adds a commit on top of a branch; open pull requests from that
branch follow it. Callers hold the server's lock; nothing here locks.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from tests.fakes._github_records import (
    CHECK_STATUSES,
    CLOSING_KEYWORDS,
    MERGE_METHODS,
    STATUS_STATES,
    ApiError,
    CheckRun,
    Comment,
    Commit,
    Issue,
    Label,
    PullFields,
    Repo,
    Status,
    custom,
    invalid,
    not_found,
    now,
)


class GitHubState:
    """Every repository and user the fake knows; ids come from one counter, as node ids would."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.users: dict[str, int] = {}
        self._ids = itertools.count(1001)

    def next_id(self) -> int:
        return next(self._ids)

    def user_id(self, login: str) -> int:
        """The user's id, registering the login on first sight (authors, owners, token holders)."""
        if login not in self.users:
            self.users[login] = self.next_id()
        return self.users[login]

    # -- repositories and commits ---------------------------------------------------------------

    def create_repo(self, full_name: str, *, default_branch: str, **options: Any) -> Repo:
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise invalid("Repository", "name")
        if full_name.lower() in self.repos:
            raise custom("Repository", "name already exists on this account")
        repo = Repo(self.next_id(), owner, name, default_branch, **options)
        repo.collaborators.add(owner)
        for login in repo.collaborators:
            self.user_id(login)
        if repo.fork_of:
            parent = self.repo(repo.fork_of)
            repo.fork_of, repo.default_branch = parent.full_name, parent.default_branch
            repo.commits = dict(parent.commits)
            repo.refs = {f"refs/heads/{branch}": sha for branch, sha in parent.branches.items()}
        else:
            repo.refs[f"refs/heads/{default_branch}"] = self.commit(repo, "Initial commit", (), owner)
        self.repos[full_name.lower()] = repo
        return repo

    def repo(self, full_name: str) -> Repo:
        """GitHub matches owner and name case-insensitively; an unknown one is a plain 404."""
        try:
            return self.repos[full_name.lower()]
        except KeyError:
            raise not_found() from None

    def commit(self, repo: Repo, message: str, parents: tuple[str, ...], author: str) -> str:
        sha = hashlib.sha1(f"{repo.id}:{self.next_id()}:{message}".encode()).hexdigest()
        repo.commits[sha] = Commit(sha, message, parents, author, now())
        return sha

    def push(self, repo: Repo, branch: str, message: str, author: str) -> str:
        """A new commit on `branch` (created from the default branch if missing); open PRs follow."""
        base = repo.branch(branch) or repo.branch(repo.default_branch)
        sha = self.commit(repo, message, (base,) if base else (), author)
        self.move_ref(repo, f"refs/heads/{branch}", sha)
        return sha

    def move_ref(self, repo: Repo, ref: str, sha: str) -> None:
        """Move a ref; open pull requests whose head it is (here or in a fork's parent) follow."""
        repo.refs[ref] = sha
        for base in list(self.repos.values()):
            for issue in base.issues.values():
                pull = issue.pull
                head = (pull.head_repo, f"refs/heads/{pull.head_ref}") if pull else None
                if pull and issue.state == "open" and head == (repo.full_name, ref):
                    self.fetch(base, repo, sha)
                    pull.head_sha = sha

    def fetch(self, repo: Repo, source: Repo, sha: str) -> None:
        """Copy `sha` and its ancestors from a fork: GitHub keeps a pull request's head commits in
        the base repository (as `refs/pull/N/head`) so a merge can use them."""
        todo = [sha]
        while todo:
            current = todo.pop()
            if current not in repo.commits and current in source.commits:
                repo.commits[current] = source.commits[current]
                todo.extend(source.commits[current].parents)

    def resolve(self, repo: Repo, ref: str) -> str:
        """A branch name, a full sha or an unambiguous prefix of 7+ hex digits, as `commits/{ref}` takes."""
        if (sha := repo.branch(ref)) is not None:
            return sha
        if ref in repo.commits:
            return ref
        matches = [sha for sha in repo.commits if len(ref) >= 7 and sha.startswith(ref.lower())]
        if len(matches) == 1:
            return matches[0]
        raise ApiError(422, f"No commit found for SHA: {ref}")

    def is_ancestor(self, repo: Repo, ancestor: str, sha: str) -> bool:
        seen, todo = set(), [sha]
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            if current not in seen and current in repo.commits:
                seen.add(current)
                todo.extend(repo.commits[current].parents)
        return False

    # -- git refs -------------------------------------------------------------------------------

    def create_ref(self, repo: Repo, ref: str, sha: str) -> str:
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.")
        if sha not in repo.commits:
            raise ApiError(422, "Object does not exist")
        if ref in repo.refs:
            raise ApiError(422, "Reference already exists")
        self.move_ref(repo, ref, sha)
        return ref

    def ref(self, repo: Repo, ref: str) -> str:
        """The sha of `refs/{ref}` (`ref` as the API path takes it: `heads/main`)."""
        try:
            return repo.refs[f"refs/{ref}"]
        except KeyError:
            raise not_found() from None

    def update_ref(self, repo: Repo, ref: str, sha: str, *, force: bool) -> None:
        current = self.ref(repo, ref)
        if sha not in repo.commits:
            raise ApiError(422, "Object does not exist")
        if not force and not self.is_ancestor(repo, current, sha):
            raise ApiError(422, "Update is not a fast forward")
        self.move_ref(repo, f"refs/{ref}", sha)

    def delete_ref(self, repo: Repo, ref: str) -> None:
        if ref.removeprefix("heads/") in repo.protected:
            raise ApiError(422, "Cannot delete a protected branch")
        if repo.refs.pop(f"refs/{ref}", None) is None:
            raise ApiError(422, "Reference does not exist")

    # -- issues, labels, comments ---------------------------------------------------------------

    def create_issue(self, repo: Repo, title: str, body: str | None, author: str) -> Issue:
        if not title:
            raise invalid("Issue", "title", "missing_field")
        number = max(repo.issues, default=0) + 1
        stamp = now()
        issue = Issue(number, self.next_id(), title, body, author, stamp, stamp)
        repo.issues[number] = issue
        self.user_id(author)
        return issue

    def issue(self, repo: Repo, number: int) -> Issue:
        try:
            return repo.issues[number]
        except KeyError:
            raise not_found() from None

    def label(self, repo: Repo, name: str, *, create: bool = False) -> Label:
        """Label names match case-insensitively; adding an unknown one to an issue creates it."""
        if (label := repo.labels.get(name.lower())) is None:
            if not create:
                raise not_found()
            label = repo.labels[name.lower()] = Label(self.next_id(), name)
        return label

    def add_labels(self, repo: Repo, issue: Issue, names: list[str]) -> None:
        for name in names:
            label = self.label(repo, name, create=True)
            if label.name not in issue.labels:
                issue.labels.append(label.name)
        issue.updated_at = now()

    def remove_label(self, repo: Repo, issue: Issue, name: str) -> None:
        matching = [label for label in issue.labels if label.lower() == name.lower()]
        if not matching:
            raise ApiError(404, "Label does not exist")
        issue.labels.remove(matching[0])
        issue.updated_at = now()

    def add_assignees(self, repo: Repo, issue: Issue, logins: list[str], *, strict: bool = False) -> None:
        """Logins that may not be assigned are dropped silently, as the assignees endpoint does;
        `strict` (issue create and edit) refuses them with a 422 instead."""
        for login in logins:
            if login not in repo.collaborators:
                if strict:
                    raise invalid("Issue", "assignees", value=login)
                continue
            if login not in issue.assignees:
                issue.assignees.append(login)
        issue.updated_at = now()

    def add_comment(self, repo: Repo, issue: Issue, body: str, author: str) -> Comment:
        if not body:
            raise invalid("IssueComment", "body", "missing_field")
        stamp = now()
        comment = Comment(self.next_id(), issue.number, body, author, stamp, stamp)
        issue.comments.append(comment)
        issue.updated_at = stamp
        self.user_id(author)
        return comment

    def comment(self, repo: Repo, comment_id: int) -> Comment:
        for issue in repo.issues.values():
            for comment in issue.comments:
                if comment.id == comment_id:
                    return comment
        raise not_found()

    # -- pull requests --------------------------------------------------------------------------

    def create_pull(
        self, repo: Repo, *, title: str, body: str | None, head: str, base: str, draft: bool, author: str
    ) -> Issue:
        owner, _, head_ref = head.rpartition(":")
        source = self._head_repo(repo, owner)
        head_sha = source.branch(head_ref) if source else None
        if source is None or head_sha is None:
            raise invalid("PullRequest", "head")
        if repo.branch(base) is None:
            raise invalid("PullRequest", "base")
        if not title:
            raise invalid("PullRequest", "title", "missing_field")
        for other in repo.issues.values():
            pull = other.pull
            if (
                pull
                and other.state == "open"
                and (pull.head_repo, pull.head_ref, pull.base_ref)
                == (
                    source.full_name,
                    head_ref,
                    base,
                )
            ):
                raise custom("PullRequest", f"A pull request already exists for {source.owner}:{head_ref}.")
        self.fetch(repo, source, head_sha)
        if self.is_ancestor(repo, head_sha, repo.branch(base) or ""):
            raise custom("PullRequest", f"No commits between {base} and {head_ref}")
        issue = self.create_issue(repo, title, body, author)
        issue.pull = PullFields(head_ref, base, head_sha, source.full_name, draft=draft)
        return issue

    def _head_repo(self, repo: Repo, owner: str) -> Repo | None:
        """Where `owner:branch` lives: this repository, or the owner's fork of it."""
        if not owner or owner.lower() == repo.owner.lower():
            return repo
        forks = (
            r for r in self.repos.values() if r.fork_of == repo.full_name and r.owner.lower() == owner.lower()
        )
        return next(forks, None)

    def pull(self, repo: Repo, number: int) -> Issue:
        issue = self.issue(repo, number)
        if issue.pull is None:
            raise not_found()
        return issue

    def merge(
        self, repo: Repo, issue: Issue, *, method: str, sha: str | None, title: str | None, actor: str
    ) -> str:
        """Merge as `PUT .../merge` does: refuse with 405/409/422, else move the base branch."""
        pull = issue.pull
        assert pull is not None
        if method not in MERGE_METHODS:
            raise invalid("PullRequest", "merge_method", value=method)
        if issue.state != "open" or not pull.mergeable:
            raise ApiError(405, "Pull Request is not mergeable")
        if pull.draft:
            raise ApiError(405, "Pull Request is still a draft")
        if method not in repo.merge_methods:
            kind = {"merge": "Merge commits", "squash": "Squash merges", "rebase": "Rebase merges"}[method]
            raise ApiError(405, f"{kind} are not allowed on this repository.")
        if sha is not None and sha != pull.head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        for context in repo.required_checks:
            state = self.check_state(repo, pull.head_sha, context)
            if state != "success":
                verb = "expected" if state is None else "failing" if state == "failure" else state
                raise ApiError(405, f'Required status check "{context}" is {verb}.')
        base_sha = repo.branch(pull.base_ref)
        assert base_sha is not None
        message = {
            "merge": f"Merge pull request #{issue.number} from {repo.owner}/{pull.head_ref}\n\n{issue.title}",
            "squash": f"{title or issue.title} (#{issue.number})",
            "rebase": repo.commits[pull.head_sha].message,
        }[method]
        parents = (base_sha, pull.head_sha) if method == "merge" else (base_sha,)
        merged = self.commit(repo, message, parents, actor)
        self.move_ref(repo, f"refs/heads/{pull.base_ref}", merged)
        pull.merged, pull.merged_at, pull.merged_by, pull.merge_commit_sha = True, now(), actor, merged
        issue.close(None)
        if pull.base_ref == repo.default_branch:
            for number in CLOSING_KEYWORDS.findall(issue.body or ""):
                closed = repo.issues.get(int(number))
                if closed and closed.pull is None and closed.state == "open":
                    closed.close()
        own_head = pull.head_repo == repo.full_name and pull.head_ref != repo.default_branch
        if repo.delete_branch_on_merge and own_head and pull.head_ref not in repo.protected:
            repo.refs.pop(f"refs/heads/{pull.head_ref}", None)
        return merged

    # -- CI -------------------------------------------------------------------------------------

    def add_status(
        self,
        repo: Repo,
        sha: str,
        *,
        state: str,
        context: str,
        description: str | None,
        target_url: str | None,
        creator: str,
    ) -> Status:
        if state not in STATUS_STATES:
            raise invalid("Status", "state", value=state)
        status = Status(self.next_id(), sha, context, state, description, target_url, creator, now())
        repo.statuses.append(status)
        return status

    def latest_statuses(self, repo: Repo, sha: str) -> list[Status]:
        """The newest status per context, newest first, as the combined status lists them."""
        latest: dict[str, Status] = {}
        for status in repo.statuses:
            if status.sha == sha:
                latest[status.context] = status
        return sorted(latest.values(), key=lambda status: status.id, reverse=True)

    def combined_state(self, repo: Repo, sha: str) -> str:
        """GitHub's rule: failure if any context failed or errored, pending if none or any pending."""
        states = {status.state for status in self.latest_statuses(repo, sha)}
        if states & {"error", "failure"}:
            return "failure"
        return "pending" if not states or "pending" in states else "success"

    def add_check_run(self, repo: Repo, sha: str, **fields: Any) -> CheckRun:
        if fields["status"] not in CHECK_STATUSES:
            raise invalid("CheckRun", "status", value=fields["status"])
        stamp = now()
        done = stamp if fields["status"] == "completed" else None
        run = CheckRun(
            self.next_id(), sha, run_id=self.next_id(), started_at=stamp, completed_at=done, **fields
        )
        repo.check_runs.append(run)
        return run

    def check_runs(self, repo: Repo, sha: str, *, latest: bool = True) -> list[CheckRun]:
        """A commit's check runs, newest first; `latest` keeps only the newest run per name."""
        runs = sorted((run for run in repo.check_runs if run.head_sha == sha), key=lambda run: -run.id)
        if not latest:
            return runs
        newest: dict[str, CheckRun] = {}
        for run in runs:
            newest.setdefault(run.name, run)
        return list(newest.values())

    def check_run(self, repo: Repo, run_id: int) -> CheckRun:
        for run in repo.check_runs:
            if run.id == run_id:
                return run
        raise not_found()

    def check_state(self, repo: Repo, sha: str, name: str) -> str | None:
        """The state of one required check: a status context or a check run name (None = absent)."""
        for status in self.latest_statuses(repo, sha):
            if status.context == name:
                return "failure" if status.state == "error" else status.state
        for run in self.check_runs(repo, sha):
            if run.name == name:
                if run.status != "completed":
                    return "pending"
                return "success" if run.conclusion in ("success", "neutral", "skipped") else "failure"
        return None
