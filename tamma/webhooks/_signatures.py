"""Is this delivery from the forge? Each forge proves it its own way, all with the shared secret:

- GitHub: `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body, hex>`;
- Bitbucket Cloud: `X-Hub-Signature: sha256=<HMAC-SHA256 of the body, hex>`;
- Gitea / Forgejo: `X-Gitea-Signature: <HMAC-SHA256 of the body, hex>`;
- GitLab: `X-Gitlab-Token: <the secret itself>` (GitLab does not sign the body).

Comparisons are constant-time (`hmac.compare_digest`), so a wrong guess says nothing about how
close it was.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal

__all__ = ["DELIVERY_HEADERS", "Forge", "signed"]

Forge = Literal["github", "gitlab", "gitea", "bitbucket"]

DELIVERY_HEADERS: dict[Forge, str] = {
    "github": "x-github-delivery",
    "gitlab": "x-gitlab-event-uuid",
    "gitea": "x-gitea-delivery",
    "bitbucket": "x-request-uuid",
}
"""The header that names a delivery: a second one with the same id is a replay."""


def signed(forge: Forge, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """Whether the delivery carries the proof its forge sends with `secret`."""
    if forge == "gitlab":
        return hmac.compare_digest(headers.get("x-gitlab-token", "").encode(), secret.encode())
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    header = {"github": "x-hub-signature-256", "bitbucket": "x-hub-signature"}.get(forge, "x-gitea-signature")
    given = headers.get(header, "").removeprefix("sha256=")
    return hmac.compare_digest(given.encode(), expected.encode())
