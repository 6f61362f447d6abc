"""Git platforms behind one protocol: normalized issues, pull requests, CI and merges.

Adapters (GitHub on PyGithub, GitLab on python-gitlab, the local platform on git and SQLite)
implement `GitPlatform`; callers see only the models below and `tamma.errors.PlatformError`s.
"""

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
    marker,
)
from tamma.platforms._protocol import GitPlatform
from tamma.platforms._refs import IssueRef, PlatformKind

__all__ = [
    "CIState",
    "CIStatus",
    "Check",
    "Comment",
    "GitPlatform",
    "Issue",
    "IssueRef",
    "MergeMethod",
    "PlatformKind",
    "PullRequest",
    "RateLimitState",
    "Repository",
    "marker",
]
