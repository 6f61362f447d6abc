"""Find a saved Tamma block by its conventional name, for use as a source of secrets.

Tamma looks for a secret in an environment variable, then the OS keychain (`tamma.secrets`).
`secret_from_blocks` is meant to be the third source: the block saved as `tamma-<name>` in
the Prefect server the process is configured for. Like the other two it answers None when it
has nothing, so the caller's "missing secret" error and hint stay in one place:

- no Prefect server configured (PREFECT_API_URL unset): None at once. Prefect would start an
  ephemeral server (~20 s) that holds no team secrets; a lookup never does that;
- the server does not answer: None. Refused takes ~1.5 s (Prefect's transport retries a
  connect three times, 0.5 s apart); a server that accepts but stays silent takes
  `timeout_s`; a host that drops packets takes at most ~4 x `timeout_s` + 1.5 s;
- no such block (or the block type was never registered): None.

A reachable server that refuses or fails (401, 500), a block whose fields do not validate,
or one saved under a name its contents contradict (`tamma-github` holding a GitLab token)
raises `ConfigError`: the setup is wrong and guessing on would hide it. No message carries a
secret, nor the credentials a PREFECT_API_URL may embed.
"""

from __future__ import annotations

from typing import Literal, TypeVar

import httpx
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, get_current_settings, temporary_settings
from pydantic import ValidationError

from blocks._blocks import TammaPlatformBlock, TammaProviderBlock, document_name_for
from tamma.errors import ConfigError

__all__ = ["LOOKUP_TIMEOUT_S", "load_block", "secret_from_blocks"]

LOOKUP_TIMEOUT_S = 3.0
"""Per connect and per read: a lookup runs before a command starts, so not Prefect's default 60 s."""

TammaBlock = TypeVar("TammaBlock", TammaPlatformBlock, TammaProviderBlock)


def load_block(
    block_class: type[TammaBlock], name: str, *, timeout_s: float = LOOKUP_TIMEOUT_S
) -> TammaBlock | None:
    """The block of `block_class` saved as `tamma-<name>`, or None (see the module docstring).

    Reads through Prefect's synchronous client rather than `Block.load`, which returns a
    coroutine instead of a block when called with an event loop running.
    """
    api_url = get_current_settings().api.url
    if not api_url:
        return None
    document_name = document_name_for(name)
    # No retries of our own or of Prefect's client, which would retry a timeout five times with
    # backoff (about a minute): an unreachable server means "not this source", not "wait".
    # Only the transport's connect retries remain (Prefect sets them; replacing its transport
    # would drop the TLS settings it derives from PREFECT_API_TLS_* / SSL_CERT_FILE).
    with temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}):
        try:
            with get_client(sync_client=True, httpx_settings={"timeout": timeout_s}) as client:
                document = client.read_block_document_by_name(
                    name=document_name, block_type_slug=block_class.get_block_type_slug()
                )
        except ObjectNotFound:
            return None
        except httpx.HTTPStatusError as exc:
            server = exc.request.url.copy_with(userinfo=b"", query=None)  # no credentials in messages
            raise ConfigError(
                f"the Prefect server at {server} answered {exc.response.status_code} "
                f"when reading block {document_name!r}"
            ) from None
        except httpx.TransportError:
            return None
    try:
        block = block_class.model_validate(document.data)
    except ValidationError as exc:
        # Named by location only: pydantic's own message would quote the input, the secret included.
        problems = ", ".join(".".join(map(str, error["loc"])) for error in exc.errors())
        raise ConfigError(f"Prefect block {document_name!r} has invalid fields: {problems}") from None
    if block.document_name() != document_name:
        raise ConfigError(
            f"Prefect block {document_name!r} holds settings for {block.document_name()!r}; "
            f"save it under that name or fix its fields"
        )
    return block


def secret_from_blocks(
    kind: Literal["platform", "provider"], name: str, *, timeout_s: float = LOOKUP_TIMEOUT_S
) -> str | None:
    """The token or API key of the block saved as `tamma-<name>`, or None.

    `kind` picks the block type (`TammaPlatformBlock` or `TammaProviderBlock`); `name` is the
    secret's keychain user: `github`, `gitlab`, or a provider's display name.
    """
    if kind == "platform":
        platform = load_block(TammaPlatformBlock, name, timeout_s=timeout_s)
        return platform.token_value() if platform is not None else None
    provider = load_block(TammaProviderBlock, name, timeout_s=timeout_s)
    return provider.api_key_value() if provider is not None else None
