"""A `GitPlatform` that answers from a recording: the platform side of a black-box replay.

Reads (the issue, CI statuses, job logs) and side effects (comments, pull requests, labels,
merges) are answered with what the recorded run got, in the order it got them; nothing is
sent anywhere. The repository is the replay's own origin, a scratch bare repository holding the
base commit, so the replay's workspace clones and pushes offline.

A fork passes `live`: once the recording's answers before the fork point are used up, each
call goes to the real platform. Without `live`, a call the recording cannot answer is a
`ReplayDivergence`: the replayed run did something the recorded one did not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from event_store import Event
from tamma import event_types as et
from tamma.audit.recording import Recording
from tamma.errors import NotFound, ReplayDivergence
from tamma.platforms import (
    Check,
    CIStatus,
    Comment,
    GitPlatform,
    Issue,
    MergeMethod,
    PullRequest,
    RateLimitState,
    Repository,
)

__all__ = ["ReplayPlatform"]

_QUESTIONS_MARKER = re.compile(r"<!-- tamma:\S+-questions -->")
_LOG_ID = "replay:{position}:{check}"


class ReplayPlatform:
    def __init__(self, recording: Recording, *, origin: str, live: GitPlatform | None = None) -> None:
        self._recording = recording
        self._origin = origin
        self._live = live
        self.name: str = recording.ref.platform
        self._issue = recording.issue()
        self._pending: dict[str, list[Event]] = {
            kind: recording.answers(kind)
            for kind in (et.COMMENT_POSTED, et.PR_CREATED, et.LABEL_ADDED, et.PR_MERGED)
        }
        self._ci = _statuses_by_sha(recording.answers(et.CI_STATUS_CHANGED))

    def repository(self) -> Repository:
        if self._live is not None:
            return self._live.repository()
        started = self._recording.workspace or {}
        return Repository(
            full_name=self._recording.ref.repo,
            default_branch=started.get("base_branch", "main"),
            clone_url=self._origin,
        )

    def list_issues(
        self, *, labels: Iterable[str] = (), state: str = "open", assignee: str | None = None
    ) -> Iterator[Issue]:
        raise ReplayDivergence("a replay works on its one recorded issue and lists none", at="the platform")

    def get_issue(self, number: int, *, with_comments: bool = True) -> Issue:
        return self._issue if with_comments else self._issue.model_copy(update={"comments": ()})

    def add_comment(self, number: int, body: str) -> Comment:
        recorded = self._take(et.COMMENT_POSTED, f"posted a comment: {body[:80]!r}")
        if recorded is None:
            return self._live_platform().add_comment(number, body)
        comment = Comment(
            id=str(recorded.data["comment_id"]), author=recorded.data.get("author", "tamma"), body=body
        )
        self._add_to_issue(comment)
        if _QUESTIONS_MARKER.search(body):
            for reply in self._recording.clarification:
                self._add_to_issue(reply)
        return comment

    def find_comment(self, number: int, marker: str) -> Comment | None:
        found = self._issue.comment_with(marker)
        if found is None and self._live is not None and not self._pending[et.COMMENT_POSTED]:
            return self._live.find_comment(number, marker)
        return found

    def add_labels(self, number: int, labels: Iterable[str]) -> None:
        wanted = list(labels)
        if self._take(et.LABEL_ADDED, f"added the labels {wanted}") is None:
            self._live_platform().add_labels(number, wanted)

    def remove_labels(self, number: int, labels: Iterable[str]) -> None:
        self._live_platform("removed labels").remove_labels(number, labels)

    def assign(self, number: int, users: Iterable[str]) -> None:
        self._live_platform("assigned the issue").assign(number, users)

    def create_branch(self, name: str, from_ref: str) -> str:
        return self._live_platform("created a branch").create_branch(name, from_ref)

    def open_pull_request(
        self, *, title: str, body: str, head: str, base: str, draft: bool = False
    ) -> PullRequest:
        recorded = self._take(et.PR_CREATED, f"opened a pull request from {head}")
        if recorded is None:
            return self._live_platform().open_pull_request(
                title=title, body=body, head=head, base=base, draft=draft
            )
        return _pull_request(recorded.data, title=title, body=body, base=base)

    def find_pull_request(self, head: str) -> PullRequest | None:
        upcoming = self._pending[et.PR_CREATED]
        if upcoming and upcoming[0].data.get("found_existing"):
            recorded = upcoming.pop(0)
            return _pull_request(recorded.data, title="", body="", base="")
        if not upcoming and self._live is not None:
            return self._live.find_pull_request(head)
        return None

    def update_pull_request_body(self, number: int, body: str) -> PullRequest:
        return self._live_platform("edited a pull request").update_pull_request_body(number, body)

    def ci_status(self, sha: str) -> CIStatus:
        """The recorded statuses of `sha`, one per call, staying on the last: the watch polls
        until it sees the state the recorded watch stopped at."""
        statuses = self._ci.get(sha)
        if not statuses:
            return self._live_platform(f"asked for the CI status of {sha[:10]}").ci_status(sha)
        event = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        checks = tuple(
            Check(
                name=check["name"],
                state=check["state"],
                url=check.get("url", ""),
                log_id=_LOG_ID.format(position=event.position, check=check["name"]),
            )
            for check in event.data["checks"]
        )
        return CIStatus(sha=sha, checks=checks)

    def failed_job_log(self, log_id: str, *, max_chars: int = 20_000) -> str:
        if not log_id.startswith("replay:"):
            return self._live_platform("read a job log").failed_job_log(log_id, max_chars=max_chars)
        _, position, check = log_id.split(":", 2)
        log = self._recording.log_after(int(position), check)
        if log is None:
            raise NotFound(f"the recording has no log of {check}", platform="replay")
        return log

    def merge(self, number: int, *, method: MergeMethod = "squash", delete_branch: bool = True) -> str:
        recorded = self._take(et.PR_MERGED, f"merged pull request #{number}")
        if recorded is None:
            return self._live_platform().merge(number, method=method, delete_branch=delete_branch)
        return str(recorded.data["sha"])

    def rate_limit(self) -> RateLimitState | None:
        return None

    # -- helpers ----------------------------------------------------------------------------------

    def _take(self, kind: str, what: str) -> Event | None:
        """The next recorded answer of `kind`; None when a fork should ask the live platform."""
        pending = self._pending[kind]
        if pending:
            return pending.pop(0)
        self._live_platform(what)
        return None

    def _live_platform(self, what: str = "") -> GitPlatform:
        if self._live is None:
            raise ReplayDivergence(
                f"the replay {what or 'called the platform'}; the recording did not", at="the platform"
            )
        return self._live

    def _add_to_issue(self, comment: Comment) -> None:
        self._issue = self._issue.model_copy(update={"comments": (*self._issue.comments, comment)})


def _statuses_by_sha(events: list[Event]) -> dict[str, list[Event]]:
    statuses: dict[str, list[Event]] = {}
    for event in events:
        statuses.setdefault(event.data["sha"], []).append(event)
    return statuses


def _pull_request(data: dict[str, Any], *, title: str, body: str, base: str) -> PullRequest:
    return PullRequest(
        number=data["number"],
        title=title,
        body=body,
        head=data["head"],
        base=base,
        state="open",
        head_sha=data.get("head_sha", ""),
        url=data.get("url", ""),
    )
