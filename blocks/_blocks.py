"""The two Tamma blocks: a model provider and a git platform, each with its secret as SecretStr.

A team running Tamma on Prefect work pools saves these once in the Prefect server instead of
setting API keys and tokens on every worker machine:

    TammaPlatformBlock(kind="github", token=SecretStr(token)).save("tamma-github")
    TammaProviderBlock(kind="anthropic", api_key=SecretStr(key)).save("tamma-anthropic")

Each block hands out what Tamma's adapters already take: the plain settings model
(`ProviderSettings`, `GitHubSettings`/`GitLabSettings`) and the secret as a `str`. Adapters
never see a block. Secrets are `SecretStr`, so a block's repr, str, logs and JSON show
`**********`; only `api_key_value()`/`token_value()` reveal them.

The document name a block is saved under follows one convention, `tamma-<name>`, where
<name> is the keychain user Tamma already uses for that secret (`github`, `gitlab`, or the
provider's display name): see `document_name_for`.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from prefect.blocks.core import Block
from pydantic import SecretStr

from tamma.platforms._settings import GitHubSettings, GitLabSettings
from tamma.providers._settings import ProviderSettings

__all__ = ["TammaPlatformBlock", "TammaProviderBlock", "document_name_for"]

DOCUMENT_NAME_PREFIX = "tamma-"


def document_name_for(name: str) -> str:
    """`tamma-<name>` in the form Prefect accepts for a block document (lowercase, digits, dashes).

    `name` is the secret's keychain user, so one word finds a secret in the keychain and in
    Prefect: `github` -> `tamma-github`, a provider named "My Ollama" -> `tamma-my-ollama`.
    """
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return DOCUMENT_NAME_PREFIX + slug


class TammaProviderBlock(Block):
    """One model provider of Tamma's chain with its API key, kept in the Prefect server.

    The non-secret fields mirror `ProviderSettings`; `api_key` is optional because local
    OpenAI-compatible servers (Ollama, vLLM) need none.
    """

    _block_type_name: ClassVar[str] = "Tamma Provider"

    kind: Literal["anthropic", "openai-compatible"]
    name: str = ""
    model: str = ""
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = ProviderSettings.model_fields["timeout_s"].default

    def provider_settings(self) -> ProviderSettings:
        """The provider's settings without the key, as tamma.yaml would give them."""
        return ProviderSettings(
            kind=self.kind, name=self.name, model=self.model, base_url=self.base_url, timeout_s=self.timeout_s
        )

    def api_key_value(self) -> str | None:
        """The API key in clear, or None when the provider needs none; pass it, never log it."""
        return self.api_key.get_secret_value() if self.api_key is not None else None

    def document_name(self) -> str:
        """The name this block is saved under by convention: `tamma-<display name>`."""
        return document_name_for(self.name or self.kind)


class TammaPlatformBlock(Block):
    """A git platform (GitHub or GitLab) with its API base URL and token, kept in the Prefect server."""

    _block_type_name: ClassVar[str] = "Tamma Platform"

    kind: Literal["github", "gitlab"]
    base_url: str | None = None
    """None means the public service: api.github.com or gitlab.com."""
    token: SecretStr

    def forge_settings(self) -> GitHubSettings | GitLabSettings:
        """The platform's settings without the token, with this block's base URL when it has one."""
        settings_class = GitHubSettings if self.kind == "github" else GitLabSettings
        return settings_class() if self.base_url is None else settings_class(base_url=self.base_url)

    def token_value(self) -> str:
        """The token in clear; pass it to the platform client, never log it."""
        return self.token.get_secret_value()

    def document_name(self) -> str:
        """The name this block is saved under by convention: `tamma-github` or `tamma-gitlab`."""
        return document_name_for(self.kind)
