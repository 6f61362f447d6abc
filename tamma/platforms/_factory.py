"""Opening the platform an issue reference or repository names, with its configured token."""

from __future__ import annotations

from tamma.config import Settings
from tamma.errors import ConfigError
from tamma.platforms._azure import AzureDevOpsPlatform
from tamma.platforms._bitbucket import BitbucketPlatform
from tamma.platforms._gitea import GiteaPlatform
from tamma.platforms._github import GitHubPlatform
from tamma.platforms._gitlab import GitLabPlatform
from tamma.platforms._local import open_local_platform
from tamma.platforms._protocol import GitPlatform
from tamma.platforms._refs import IssueRef, PlatformKind
from tamma.platforms._settings import ForgeSettings

__all__ = ["open_platform", "platform_for"]


def open_platform(kind: PlatformKind, repo: str, settings: Settings) -> GitPlatform:
    """The platform for `repo` (owner/repo, group/project, org/project/repo or a local platform's name or source)."""
    if kind == "local":
        return open_local_platform(settings.home, repo)
    if kind == "github":
        forge: ForgeSettings = settings.platforms.github
        return GitHubPlatform(repo, token=_token(forge, "GitHub"), base_url=forge.base_url)
    if kind == "gitea":
        forge = settings.platforms.gitea
        if not forge.base_url:
            raise ConfigError(
                "no Gitea server: set platforms.gitea.base_url in tamma.yaml (or TAMMA_PLATFORMS)"
            )
        return GiteaPlatform(repo, token=_token(forge, "Gitea"), base_url=forge.base_url)
    if kind == "azure":
        forge = settings.platforms.azure
        return AzureDevOpsPlatform(repo, token=_token(forge, "Azure DevOps"), base_url=forge.base_url)
    if kind == "bitbucket":
        return _bitbucket(repo, settings)
    forge = settings.platforms.gitlab
    return GitLabPlatform(repo, token=_token(forge, "GitLab"), base_url=forge.base_url)


def platform_for(ref: IssueRef, settings: Settings) -> GitPlatform:
    return open_platform(ref.platform, ref.repo, settings)


def _token(forge: ForgeSettings, label: str) -> str:
    token = forge.token()
    if not token:
        raise ConfigError(f"no {label} token for {forge.base_url}: {forge.token_hint()}")
    return token


def _bitbucket(repo: str, settings: Settings) -> BitbucketPlatform:
    """An access token wins; else a username with an app password."""
    forge = settings.platforms.bitbucket
    token, pair = forge.token(), forge.app_password()
    if not token and not pair:
        raise ConfigError(
            f"no Bitbucket credentials for {forge.base_url}: {forge.token_hint()}, "
            "or set BITBUCKET_USERNAME and BITBUCKET_APP_PASSWORD"
        )
    return BitbucketPlatform(repo, token=token, app_password=None if token else pair, base_url=forge.base_url)
