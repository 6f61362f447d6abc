"""Issue references: one printed form, parsed from it or from the usual web URLs.

    github:owner/repo#12          https://github.com/owner/repo/issues/12 (or /pull/12)
    gitlab:group/sub/project#12   https://gitlab.com/group/sub/project/-/issues/12
    gitea:owner/repo#12           https://codeberg.org/owner/repo/issues/12 (or /pulls/12)
    azure:org/project/repo#12     https://dev.azure.com/org/project/_workitems/edit/12
    bitbucket:workspace/repo#12   https://bitbucket.org/workspace/repo/issues/12/a-slug
    local:demo#1

A Gitea or Forgejo URL looks like a GitHub one, so it is read as Gitea only on a host named in
`gitea_hosts` (codeberg.org, and the configured Gitea server: `GiteaSettings.web_hosts`).

An Azure DevOps work item URL names no repository: it is read as the project's default
repository, the one named after the project.

Issue text is untrusted input, so parsing is strict: anything else is `InvalidReference`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tamma.errors import InvalidReference

__all__ = ["IssueRef", "PlatformKind"]

PlatformKind = Literal["github", "gitlab", "gitea", "local", "azure", "bitbucket"]

_SEGMENT = r"[A-Za-z0-9_.][A-Za-z0-9_.\-]*"
_SHORT = re.compile(
    rf"^(github|gitlab|gitea|local|azure|bitbucket):((?:{_SEGMENT}/)*{_SEGMENT})#([1-9][0-9]*)$"
)
_GITHUB_URL = re.compile(
    rf"^https?://[^/\s]+/({_SEGMENT}/{_SEGMENT})/(?:issues|pull)/([1-9][0-9]*)/?(?:[?#].*)?$"
)
_GITLAB_URL = re.compile(
    rf"^https?://[^/\s]+/((?:{_SEGMENT}/)+{_SEGMENT})/-/(?:issues|merge_requests)/([1-9][0-9]*)/?(?:[?#].*)?$"
)
_GITEA_URL = re.compile(
    rf"^https?://([^/\s]+)/({_SEGMENT}/{_SEGMENT})/(?:issues|pulls)/([1-9][0-9]*)/?(?:[?#].*)?$"
)
_AZURE_URL = re.compile(
    rf"^https?://(?:dev\.azure\.com/({_SEGMENT})|({_SEGMENT})\.visualstudio\.com)/({_SEGMENT})"
    rf"/_workitems/edit/([1-9][0-9]*)/?(?:[?#].*)?$"
)
_BITBUCKET_URL = re.compile(
    rf"^https?://bitbucket\.org/({_SEGMENT}/{_SEGMENT})/issues/([1-9][0-9]*)(?:/[^/?#\s]*)?/?(?:[?#].*)?$"
)
"""Bitbucket Cloud: an issue URL goes on with the title's slug (`/issues/12/crash-on-start`). Pull
requests are numbered apart from issues, so a `/pull-requests/12` URL names no issue."""
_REPO_SEGMENTS: dict[str, tuple[int, int | None]] = {
    "github": (2, 2),
    "gitlab": (2, None),
    "gitea": (2, 2),
    "local": (1, 1),
    "azure": (3, 3),
    "bitbucket": (2, 2),
}
GITEA_HOSTS = frozenset({"codeberg.org"})
"""Public Forgejo hosts whose URLs are Gitea's without any configuration."""
MAX_ISSUE_NUMBER = 2**63 - 1
"""The largest number a tracker, the event store's JSON or SQLite can hold as an integer."""


class IssueRef(BaseModel):
    """An issue on a platform: `str(ref)` prints the short form, `IssueRef.parse` reads it."""

    model_config = ConfigDict(frozen=True)

    platform: PlatformKind
    repo: str
    number: int

    @classmethod
    def parse(cls, text: str, *, gitea_hosts: Collection[str] = ()) -> IssueRef:
        """`gitea_hosts`: hosts (`host` or `host:port`) whose issue URLs are Gitea's, besides codeberg.org."""
        candidate = text.strip()
        if match := _SHORT.match(candidate):
            platform, repo, number = match.groups()
            return cls._checked(platform, repo, number, text)
        if (match := _GITEA_URL.match(candidate)) and match.group(1).lower() in GITEA_HOSTS | {
            host.lower() for host in gitea_hosts
        }:
            return cls._checked("gitea", match.group(2), match.group(3), text)
        if match := _AZURE_URL.match(candidate):
            org, project = match.group(1) or match.group(2), match.group(3)
            return cls._checked("azure", f"{org}/{project}/{project}", match.group(4), text)
        if match := _BITBUCKET_URL.match(candidate):
            return cls._checked("bitbucket", match.group(1), match.group(2), text)
        if match := _GITLAB_URL.match(candidate):
            return cls._checked("gitlab", match.group(1), match.group(2), text)
        if match := _GITHUB_URL.match(candidate):
            return cls._checked("github", match.group(1), match.group(2), text)
        raise InvalidReference(
            f"not an issue reference: {text[:200]!r}; use github:owner/repo#12, "
            "gitlab:group/project#12, gitea:owner/repo#12, azure:org/project/repo#12, bitbucket:workspace/repo#12, "
            "local:name#1 or the issue's URL"
        )

    @classmethod
    def _checked(cls, platform: str, repo: str, digits: str, text: str) -> IssueRef:
        low, high = _REPO_SEGMENTS[platform]
        segments = repo.split("/")
        if len(segments) < low or (high is not None and len(segments) > high) or ".." in segments:
            raise InvalidReference(f"{text[:200]!r}: a {platform} repository is written {_SHAPES[platform]}")
        # Compared as digits first: int() refuses strings of more than 4300 digits.
        if len(digits) > len(str(MAX_ISSUE_NUMBER)) or int(digits) > MAX_ISSUE_NUMBER:
            raise InvalidReference(
                f"{text[:200]!r}: the issue number is too large (at most {MAX_ISSUE_NUMBER}, 2**63-1)"
            )
        return cls(platform=platform, repo=repo, number=int(digits))

    @property
    def tag(self) -> str:
        """The event-store tag of this issue: `issue:<reference>`."""
        return f"issue:{self}"

    def __str__(self) -> str:
        return f"{self.platform}:{self.repo}#{self.number}"


_SHAPES = {
    "github": "owner/repo",
    "gitlab": "group[/subgroup...]/project",
    "gitea": "owner/repo",
    "local": "a single name",
    "azure": "org/project/repo",
    "bitbucket": "workspace/repo",
}
