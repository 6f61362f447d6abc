"""Git platforms behind one protocol: normalized issues, pull requests, CI and merges.

    platform = platform_for(IssueRef.parse("github:octo/demo#12"), load_settings())
    issue = platform.get_issue(12)

Adapters (GitHub on PyGithub, GitLab on python-gitlab, Gitea, Forgejo, Azure DevOps and Bitbucket Cloud on httpx, the local
platform on git and SQLite)
implement `GitPlatform`; callers see only the models below and `tamma.errors.PlatformError`s.
Names load on first use (PEP 562), so importing the models does not pull in either SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tamma._lazy import lazy_attributes

if TYPE_CHECKING:
    from tamma.platforms._azure import AzureDevOpsPlatform
    from tamma.platforms._bitbucket import BitbucketPlatform
    from tamma.platforms._factory import open_platform, platform_for
    from tamma.platforms._gitea import GiteaPlatform
    from tamma.platforms._github import GitHubPlatform
    from tamma.platforms._gitlab import GitLabPlatform
    from tamma.platforms._guarded import GuardedPlatform
    from tamma.platforms._local import LocalPlatform, init_local_platform, open_local_platform
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
    from tamma.platforms._ratelimit import RateLimitPolicy
    from tamma.platforms._refs import IssueRef, PlatformKind
    from tamma.platforms._settings import PlatformsSettings

# Keep in step with __all__ below (a test checks that every name resolves).
_LAZY = {
    "AzureDevOpsPlatform": "tamma.platforms._azure",
    "BitbucketPlatform": "tamma.platforms._bitbucket",
    "CIState": "tamma.platforms._models",
    "CIStatus": "tamma.platforms._models",
    "Check": "tamma.platforms._models",
    "Comment": "tamma.platforms._models",
    "GitHubPlatform": "tamma.platforms._github",
    "GitLabPlatform": "tamma.platforms._gitlab",
    "GitPlatform": "tamma.platforms._protocol",
    "GiteaPlatform": "tamma.platforms._gitea",
    "GuardedPlatform": "tamma.platforms._guarded",
    "Issue": "tamma.platforms._models",
    "IssueRef": "tamma.platforms._refs",
    "LocalPlatform": "tamma.platforms._local",
    "MergeMethod": "tamma.platforms._models",
    "PlatformKind": "tamma.platforms._refs",
    "PlatformsSettings": "tamma.platforms._settings",
    "PullRequest": "tamma.platforms._models",
    "RateLimitPolicy": "tamma.platforms._ratelimit",
    "RateLimitState": "tamma.platforms._models",
    "Repository": "tamma.platforms._models",
    "init_local_platform": "tamma.platforms._local",
    "marker": "tamma.platforms._models",
    "open_local_platform": "tamma.platforms._local",
    "open_platform": "tamma.platforms._factory",
    "platform_for": "tamma.platforms._factory",
}

__all__ = [
    "AzureDevOpsPlatform",
    "BitbucketPlatform",
    "CIState",
    "CIStatus",
    "Check",
    "Comment",
    "GitHubPlatform",
    "GitLabPlatform",
    "GitPlatform",
    "GiteaPlatform",
    "GuardedPlatform",
    "Issue",
    "IssueRef",
    "LocalPlatform",
    "MergeMethod",
    "PlatformKind",
    "PlatformsSettings",
    "PullRequest",
    "RateLimitPolicy",
    "RateLimitState",
    "Repository",
    "init_local_platform",
    "marker",
    "open_local_platform",
    "open_platform",
    "platform_for",
]

__getattr__ = lazy_attributes(__name__, _LAZY)
