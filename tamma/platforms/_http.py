"""One HTTP call to a forge's REST API, for the adapters that speak it through httpx (Gitea,
Bitbucket, Azure DevOps): under the shared rate-limit policy, with no answer reported as
`PlatformUnreachable` (which steps retry) and an error answer typed by the adapter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tamma.errors import PlatformUnreachable
from tamma.platforms._ratelimit import RateLimitPolicy
from tamma.redaction import redact

__all__ = ["call"]


def call(
    client: httpx.Client,
    rate_limits: RateLimitPolicy,
    raise_for_status: Callable[[httpx.Response], None],
    *,
    platform: str,
    method: str,
    url: str,
    **options: Any,
) -> httpx.Response:
    """`method url` until it is answered within the rate limits; `raise_for_status` turns an
    error answer into Tamma's error (a `Throttled` one is waited out and asked again)."""

    def attempt() -> httpx.Response:
        try:
            response = client.request(method, url, **options)
        except httpx.TransportError as exc:
            raise PlatformUnreachable(
                redact(f"no answer from {client.base_url}: {type(exc).__name__}"), platform=platform
            ) from None
        raise_for_status(response)
        return response

    return rate_limits.call(attempt)
