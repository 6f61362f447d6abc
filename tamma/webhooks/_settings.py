"""What a webhook must carry to be trusted, and what in it starts a run."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["WebhookSettings"]


class WebhookSettings(BaseModel):
    """`webhooks:` in the settings. The shared secret itself comes from the environment
    (`secret_env`), like every secret: the forge signs each delivery with it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_env: str = "TAMMA_WEBHOOK_SECRET"
    trigger_label: str = "tamma"
    """An issue given this label starts a run."""
    command: str = "/tamma run"
    """A comment that starts with this starts a run on its issue."""
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    """Larger deliveries are refused (413) unread: forges cap theirs at 25 MB, issue events are small."""

    def secret(self) -> str | None:
        return os.environ.get(self.secret_env) or None
