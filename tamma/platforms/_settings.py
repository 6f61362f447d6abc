"""Platform settings as they appear in tamma.yaml / TAMMA_PLATFORMS, and the tokens they need.

    platforms:
      github:
        base_url: https://github.example.com/api/v3   # GitHub Enterprise; default api.github.com
      gitlab:
        base_url: https://gitlab.example.com          # self-hosted; default gitlab.com
        token_env: [CI_GITLAB_TOKEN]                  # where the token is; default GITLAB_TOKEN
      gitea:
        base_url: https://git.example.com             # Gitea or Forgejo (codeberg.org too); required
      azure:
        base_url: https://tfs.example.com/tfs         # Azure DevOps Server; default dev.azure.com

Tokens never come from YAML: from the first set variable of `token_env` (GITHUB_TOKEN then
GH_TOKEN for GitHub, GITLAB_TOKEN for GitLab, GITEA_TOKEN for Gitea, AZURE_DEVOPS_TOKEN for
Azure DevOps), else from the OS keychain (service "tamma", user "github", "gitlab", "gitea" or "azure").
Bitbucket Cloud takes an access token (BITBUCKET_TOKEN, keychain user "bitbucket") or else a
username and app password (BITBUCKET_USERNAME and BITBUCKET_APP_PASSWORD).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tamma.secrets import lookup_secret, where_to_put

__all__ = [
    "AzureDevOpsSettings",
    "BitbucketSettings",
    "ForgeSettings",
    "GitHubSettings",
    "GitLabSettings",
    "GiteaSettings",
    "PlatformsSettings",
]


class ForgeSettings(BaseModel):
    """Where one forge's API is and where its token comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    token_env: tuple[str, ...]
    keychain_user: str

    @model_validator(mode="before")
    @classmethod
    def _no_tokens_in_files(cls, values: Any) -> Any:
        if isinstance(values, dict) and any(k in values for k in ("token", "private_token", "password")):
            raise ValueError(
                "tokens do not belong in configuration files; set the environment variable named by "
                "token_env or store the token in the OS keychain"
            )
        return values

    def token(self) -> str | None:
        return lookup_secret(self.token_env, self.keychain_user, block="platform")

    def token_hint(self) -> str:
        return where_to_put(self.token_env, self.keychain_user)


class GitHubSettings(ForgeSettings):
    base_url: str = "https://api.github.com"
    token_env: tuple[str, ...] = ("GITHUB_TOKEN", "GH_TOKEN")
    keychain_user: str = "github"


class GitLabSettings(ForgeSettings):
    base_url: str = "https://gitlab.com"
    token_env: tuple[str, ...] = ("GITLAB_TOKEN",)
    keychain_user: str = "gitlab"


class GiteaSettings(ForgeSettings):
    """Gitea and Forgejo are self-hosted first, so no server is assumed: `base_url` must be set."""

    base_url: str = ""
    token_env: tuple[str, ...] = ("GITEA_TOKEN",)
    keychain_user: str = "gitea"

    @property
    def web_hosts(self) -> tuple[str, ...]:
        """The configured server's host, whose issue URLs `IssueRef.parse` reads as Gitea's."""
        host = urlsplit(self.base_url).netloc
        return (host,) if host else ()


class AzureDevOpsSettings(ForgeSettings):
    """Azure DevOps Services, or a Server collection URL; the token is a personal access token."""

    base_url: str = "https://dev.azure.com"
    token_env: tuple[str, ...] = ("AZURE_DEVOPS_TOKEN",)
    keychain_user: str = "azure"


class BitbucketSettings(ForgeSettings):
    """Bitbucket Cloud: an access token (Bearer), else a username with an app password (Basic)."""

    base_url: str = "https://api.bitbucket.org/2.0"
    token_env: tuple[str, ...] = ("BITBUCKET_TOKEN",)
    keychain_user: str = "bitbucket"
    username_env: tuple[str, ...] = ("BITBUCKET_USERNAME",)
    app_password_env: tuple[str, ...] = ("BITBUCKET_APP_PASSWORD",)

    def app_password(self) -> tuple[str, str] | None:
        """(username, app password) when both are set in the environment; else None."""
        username = next((os.environ[name] for name in self.username_env if os.environ.get(name)), None)
        password = next((os.environ[name] for name in self.app_password_env if os.environ.get(name)), None)
        return (username, password) if username and password else None

    def secrets(self) -> list[str]:
        """The values to mask: the token and the app password, whichever are set."""
        pair = self.app_password()
        return [secret for secret in (self.token(), pair[1] if pair else None) if secret]


class PlatformsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    github: GitHubSettings = Field(default_factory=GitHubSettings)
    gitlab: GitLabSettings = Field(default_factory=GitLabSettings)
    gitea: GiteaSettings = Field(default_factory=GiteaSettings)
    azure: AzureDevOpsSettings = Field(default_factory=AzureDevOpsSettings)
    bitbucket: BitbucketSettings = Field(default_factory=BitbucketSettings)
