"""The fake Bitbucket Cloud's memory and how API 2.0 prints it.

Plain mutable records, as in the fake Gitea: REST handlers and a test's set-up change one state.
The JSON functions print what Bitbucket prints: `uuid`s in braces, `links.html.href`, 12-character
commit hashes in pull requests (the full one is at `/commit/{hash}`), `content.raw` for text.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]
WEB = "https://bitbucket.org"


def now() -> str:
    return datetime.now(UTC).isoformat()


def fake_sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()


def braced_uuid() -> str:
    return "{" + str(uuid.uuid4()) + "}"


@dataclass
class User:
    nickname: str
    uuid: str = field(default_factory=braced_uuid)

    @property
    def account_id(self) -> str:
        return f"557058:{self.uuid[1:9]}"


@dataclass
class Comment:
    id: int
    raw: str
    user: User
    created_on: str = field(default_factory=now)


@dataclass
class Issue:
    id: int
    title: str
    reporter: User
    raw: str = ""
    state: str = "new"
    component: str | None = None
    assignee: User | None = None
    comments: list[Comment] = field(default_factory=list)
    created_on: str = field(default_factory=now)


@dataclass
class Pull:
    id: int
    title: str
    author: User
    source_repo: Repo
    source_branch: str
    destination: str
    description: str = ""
    state: str = "OPEN"  # OPEN | MERGED | DECLINED | SUPERSEDED
    draft: bool = False
    merge_commit: str | None = None
    merged_head: str | None = None
    close_source_branch: bool = False
    base_sha: str = ""
    """The destination's head when the pull request was opened: `fast_forward` needs it unmoved."""

    @property
    def head_sha(self) -> str:
        return self.merged_head or self.source_repo.branches.get(self.source_branch, "")


@dataclass
class Status:
    key: str
    name: str
    state: str  # INPROGRESS | SUCCESSFUL | FAILED | STOPPED
    url: str
    created_on: str = field(default_factory=now)


@dataclass
class Step:
    uuid: str
    name: str
    result: str | None = None  # None while running; SUCCESSFUL | FAILED
    log: str = ""


@dataclass
class Pipeline:
    uuid: str
    build_number: int
    sha: str
    branch: str
    steps: list[Step] = field(default_factory=list)


@dataclass
class Repo:
    workspace: str
    slug: str
    uuid: str = field(default_factory=braced_uuid)
    mainbranch: str = "main"
    branches: dict[str, str] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    pulls: dict[int, Pull] = field(default_factory=dict)
    statuses: dict[str, dict[str, Status]] = field(default_factory=dict)
    """Per commit sha, by status key (posting a key again updates it, as Bitbucket does)."""
    pipelines: list[Pipeline] = field(default_factory=list)
    commits: set[str] = field(default_factory=set)
    parent: Repo | None = None
    clone_url: str | None = None
    has_issues: bool = True

    @property
    def full_name(self) -> str:
        return f"{self.workspace}/{self.slug}"


class BitbucketState:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}
        self._ids = itertools.count(1)

    def user(self, nickname: str) -> User:
        return self.users.setdefault(nickname, User(nickname))

    def add_repo(self, full_name: str, *, mainbranch: str = "main", parent: Repo | None = None) -> Repo:
        workspace, slug = full_name.split("/")
        repo = Repo(workspace, slug, mainbranch=mainbranch, parent=parent)
        self.commit(repo, mainbranch, parent.branches[parent.mainbranch] if parent else fake_sha(full_name))
        self.repos[full_name.lower()] = repo
        return repo

    def repo(self, full_name: str) -> Repo | None:
        return self.repos.get(full_name.lower())

    def commit(self, repo: Repo, branch: str, sha: str) -> str:
        repo.branches[branch] = sha
        repo.commits.add(sha)
        return sha

    def push(self, repo: Repo, branch: str, title: str) -> str:
        parent = repo.branches.get(branch) or repo.branches[repo.mainbranch]
        return self.commit(repo, branch, fake_sha(repo.full_name, branch, parent, title))

    def full_sha(self, repo: Repo, prefix: str) -> str | None:
        matches = [sha for r in (repo, *self.forks(repo)) for sha in r.commits if sha.startswith(prefix)]
        return matches[0] if len(prefix) >= 7 and matches else None

    def forks(self, repo: Repo) -> list[Repo]:
        return [r for r in self.repos.values() if r.parent is repo]

    def add_issue(
        self, repo: Repo, title: str, raw: str = "", *, reporter: str = "tamma", **fields: Any
    ) -> Issue:
        number = max(repo.issues, default=0) + 1
        issue = Issue(number, title, self.user(reporter), raw, **fields)
        repo.issues[number] = issue
        return issue

    def add_pull(
        self, repo: Repo, source: Repo, branch: str, destination: str, title: str, **fields: Any
    ) -> Pull:
        number = max(repo.pulls, default=0) + 1
        pull = Pull(number, title, self.user(source.workspace), source, branch, destination, **fields)
        pull.base_sha = repo.branches.get(destination, "")
        repo.pulls[number] = pull
        return pull

    def merge(self, repo: Repo, pull: Pull, strategy: str) -> str:
        base = repo.branches[pull.destination]
        sha = pull.head_sha if strategy == "fast_forward" else fake_sha(strategy, base, pull.head_sha)
        self.commit(repo, pull.destination, sha)
        pull.state, pull.merge_commit, pull.merged_head = "MERGED", sha, pull.head_sha
        return sha


# -- JSON ------------------------------------------------------------------------------------------


def user(record: User) -> Json:
    return {
        "type": "user",
        "display_name": record.nickname.title(),
        "nickname": record.nickname,
        "uuid": record.uuid,
        "account_id": record.account_id,
        "links": {"html": {"href": f"{WEB}/{record.uuid}/"}},
    }


def repo(base: str, record: Repo) -> Json:
    web = f"{WEB}/{record.full_name}"
    return {
        "type": "repository",
        "uuid": record.uuid,
        "full_name": record.full_name,
        "name": record.slug,
        "slug": record.slug,
        "is_private": True,
        "has_issues": record.has_issues,
        "mainbranch": {"type": "branch", "name": record.mainbranch},
        "parent": repo_ref(record.parent) if record.parent else None,
        "links": {
            "self": {"href": f"{base}/repositories/{record.full_name}"},
            "html": {"href": web},
            "clone": [
                {
                    "name": "https",
                    "href": record.clone_url or f"https://tamma@bitbucket.org/{record.full_name}.git",
                },
                {"name": "ssh", "href": f"git@bitbucket.org:{record.full_name}.git"},
            ],
        },
    }


def repo_ref(record: Repo) -> Json:
    return {"type": "repository", "full_name": record.full_name, "name": record.slug, "uuid": record.uuid}


def issue(base: str, owner: Repo, record: Issue) -> Json:
    return {
        "type": "issue",
        "id": record.id,
        "title": record.title,
        "content": {
            "type": "rendered",
            "raw": record.raw,
            "markup": "markdown",
            "html": f"<p>{record.raw}</p>",
        },
        "state": record.state,
        "kind": "bug",
        "priority": "major",
        "component": {"type": "component", "name": record.component} if record.component else None,
        "assignee": user(record.assignee) if record.assignee else None,
        "reporter": user(record.reporter),
        "created_on": record.created_on,
        "repository": repo_ref(owner),
        "links": {
            "self": {"href": f"{base}/repositories/{owner.full_name}/issues/{record.id}"},
            "html": {"href": f"{WEB}/{owner.full_name}/issues/{record.id}"},
        },
    }


def comment(record: Comment) -> Json:
    return {
        "type": "issue_comment",
        "id": record.id,
        "content": {
            "type": "rendered",
            "raw": record.raw,
            "markup": "markdown",
            "html": f"<p>{record.raw}</p>",
        },
        "user": user(record.user),
        "created_on": record.created_on,
    }


def pull(owner: Repo, record: Pull) -> Json:
    def end(repository: Repo, branch: str, sha: str) -> Json:
        return {"branch": {"name": branch}, "commit": {"hash": sha[:12]}, "repository": repo_ref(repository)}

    return {
        "type": "pullrequest",
        "id": record.id,
        "title": record.title,
        "description": record.description,
        "state": record.state,
        "draft": record.draft,
        "author": user(record.author),
        "source": end(record.source_repo, record.source_branch, record.head_sha),
        "destination": end(owner, record.destination, owner.branches.get(record.destination, "")),
        "merge_commit": {"hash": record.merge_commit[:12]} if record.merge_commit else None,
        "close_source_branch": record.close_source_branch,
        "links": {"html": {"href": f"{WEB}/{owner.full_name}/pull-requests/{record.id}"}},
    }


def branch(owner: Repo, name: str) -> Json:
    return {
        "type": "branch",
        "name": name,
        "target": {"type": "commit", "hash": owner.branches[name]},
        "links": {"html": {"href": f"{WEB}/{owner.full_name}/branch/{name}"}},
    }


def status(record: Status) -> Json:
    return {
        "type": "build",
        "key": record.key,
        "name": record.name,
        "state": record.state,
        "url": record.url,
        "created_on": record.created_on,
    }


def pipeline(owner: Repo, record: Pipeline) -> Json:
    results = [step.result for step in record.steps]
    done = all(results)
    return {
        "type": "pipeline",
        "uuid": record.uuid,
        "build_number": record.build_number,
        "state": {
            "name": "COMPLETED" if done else "IN_PROGRESS",
            "result": {"name": "FAILED" if "FAILED" in results else "SUCCESSFUL"} if done else None,
        },
        "target": {"ref_name": record.branch, "commit": {"hash": record.sha}},
        "repository": repo_ref(owner),
    }


def step(record: Step) -> Json:
    return {
        "type": "pipeline_step",
        "uuid": record.uuid,
        "name": record.name,
        "state": {
            "name": "COMPLETED" if record.result else "IN_PROGRESS",
            "result": {"name": record.result} if record.result else None,
        },
    }
