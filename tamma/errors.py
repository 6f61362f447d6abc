"""Tamma's errors: one tree, translated at the edges, rendered as one line by the CLI.

    TammaError
    ├── ConfigError                 a setting is missing, malformed or contradicts another
    ├── ProviderError               a model provider failed (`provider`, `status`, `retryable`)
    │   ├── TransientProviderError  worth retrying: the same call may succeed later
    │   │   ├── RateLimited             429; `retry_after` seconds when the server said
    │   │   ├── ProviderOverloaded      529 or 503
    │   │   ├── ProviderServerError     other 5xx
    │   │   └── ProviderConnectionError connection refused or reset, timeout
    │   ├── PermanentProviderError  retrying cannot help; fix the request or the settings
    │   │   ├── InvalidRequest          400
    │   │   │   └── ContextTooLong          the prompt exceeds the model's context window
    │   │   ├── AuthenticationFailed    401: the key is missing, wrong or revoked
    │   │   ├── PermissionDenied        403
    │   │   └── ModelNotFound           404
    │   └── ProviderUnavailable     every provider of a failover chain failed or is open
    ├── ReplayDivergence            a replayed request differs from the recording
    └── PlatformError               a git platform failed (`platform`, `status`)
        ├── InvalidReference        an issue reference or URL that names no issue
        ├── NotFound                no such repository, issue, branch or pull request
        ├── Forbidden               the token lacks a scope (`missing_scope` when known)
        ├── Conflict                merge conflict, branch exists, not mergeable
        ├── PlatformRateLimited     still rate limited after waiting; `retry_at` says when
        └── WorkspaceTampered       a workspace's .git was changed outside Tamma; git is not run there

The event store keeps its own tree (`event_store.EventStoreError`), since it depends on
nothing of ours; the CLI renders both the same way. No message ever carries a secret.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "ConfigError",
    "Conflict",
    "ContextTooLong",
    "Forbidden",
    "InvalidReference",
    "InvalidRequest",
    "ModelNotFound",
    "NotFound",
    "PermanentProviderError",
    "PermissionDenied",
    "PlatformError",
    "PlatformRateLimited",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderOverloaded",
    "ProviderServerError",
    "ProviderUnavailable",
    "RateLimited",
    "ReplayDivergence",
    "TammaError",
    "TransientProviderError",
    "WorkspaceTampered",
]


class TammaError(Exception):
    """Base class of every error Tamma raises on purpose; its message is for the user."""


class ConfigError(TammaError):
    """A setting is missing or invalid; the message names the setting and where it came from."""


class ProviderError(TammaError):
    """A model provider failed. `retryable` says whether the same call may succeed later."""

    retryable = False

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        self.provider = provider
        self.status = status
        prefix = f"{provider}: " if provider else ""
        super().__init__(f"{prefix}{message}")


class TransientProviderError(ProviderError):
    retryable = True

    def __init__(
        self, message: str, *, provider: str = "", status: int | None = None, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, provider=provider, status=status)


class RateLimited(TransientProviderError):
    """429: too many requests or tokens per minute."""


class ProviderOverloaded(TransientProviderError):
    """529 (Anthropic) or 503: the service is busy."""


class ProviderServerError(TransientProviderError):
    """Another 5xx."""


class ProviderConnectionError(TransientProviderError):
    """No answer: connection refused or reset, or the request timed out."""


class PermanentProviderError(ProviderError):
    """Retrying the same call cannot help."""


class InvalidRequest(PermanentProviderError):
    """400: the request was malformed."""


class ContextTooLong(InvalidRequest):
    """The prompt does not fit the model's context window."""


class AuthenticationFailed(PermanentProviderError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDenied(PermanentProviderError):
    """403: the key may not use this model or feature."""


class ModelNotFound(PermanentProviderError):
    """404: no such model (or endpoint) at this provider."""


class ProviderUnavailable(ProviderError):
    """Every provider in a failover chain failed or has its circuit open."""


class ReplayDivergence(TammaError):
    """A replayed run asked something the recording did not: the run is not the same."""

    def __init__(self, detail: str, *, at: str = "") -> None:
        super().__init__(f"replay diverged at {at}: {detail}" if at else f"replay diverged: {detail}")


class PlatformError(TammaError):
    """A git platform (GitHub, GitLab, local) refused or failed a call."""

    def __init__(self, message: str, *, platform: str = "", status: int | None = None) -> None:
        self.platform = platform
        self.status = status
        prefix = f"{platform}: " if platform else ""
        super().__init__(f"{prefix}{message}")


class InvalidReference(PlatformError):
    """Not an issue reference Tamma understands (see `tamma.platforms.IssueRef.parse`)."""


class NotFound(PlatformError):
    """No such repository, issue, branch or pull request (or the token cannot see it)."""


class Forbidden(PlatformError):
    """The token may not do this; `missing_scope` names the scope or permission when known."""

    def __init__(
        self, message: str, *, platform: str = "", status: int | None = None, missing_scope: str | None = None
    ) -> None:
        self.missing_scope = missing_scope
        super().__init__(message, platform=platform, status=status)


class PlatformUnreachable(PlatformError):
    """No answer from the platform (refused, reset, timed out): a step is worth trying again."""


class Conflict(PlatformError):
    """The change collides with the current state: merge conflict, existing branch, ..."""


class PlatformRateLimited(PlatformError):
    """Rate limited after the allowed waits; `retry_at` is when the limit resets (epoch s)."""

    def __init__(
        self, message: str, *, platform: str = "", status: int | None = None, retry_at: float | None = None
    ) -> None:
        self.retry_at = retry_at
        super().__init__(message, platform=platform, status=status)


class WorkspaceTampered(PlatformError):
    """Something other than Tamma changed a workspace's git directory (a key in `.git/config`, a
    hook, an alternate object store...), so running git there could run a planted command. The
    message names the key or file, never its value, which may be an attack string or a secret."""
