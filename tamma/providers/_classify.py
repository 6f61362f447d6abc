"""HTTP status to typed provider error: the one mapping every adapter uses.

Adapters call `error_for_status` from their own `_translate_errors()`; messages pass through
the redactor, so a key echoed by a server never reaches an exception.
"""

from __future__ import annotations

from tamma.errors import (
    AuthenticationFailed,
    ContextTooLong,
    InvalidRequest,
    ModelNotFound,
    PermanentProviderError,
    PermissionDenied,
    ProviderError,
    ProviderOverloaded,
    ProviderServerError,
    RateLimited,
)
from tamma.redaction import redact

__all__ = ["error_for_status"]

_CONTEXT_TOO_LONG_HINTS = (
    "prompt is too long",
    "context length",
    "context_length_exceeded",
    "too many tokens",
)
_PERMANENT: dict[int, tuple[type[PermanentProviderError], str]] = {
    401: (AuthenticationFailed, "authentication failed; check the API key"),
    403: (PermissionDenied, "permission denied for this key"),
    404: (ModelNotFound, "model or endpoint not found"),
}


def error_for_status(
    status: int, message: str, *, provider: str, retry_after: float | None = None
) -> ProviderError:
    """The most specific error for an HTTP failure of a model call."""
    text = redact(message.strip())[:500] or f"HTTP {status}"
    if status == 429:
        return RateLimited(
            f"rate limited (429): {text}", provider=provider, status=status, retry_after=retry_after
        )
    if status in (503, 529):
        return ProviderOverloaded(
            f"overloaded ({status}): {text}", provider=provider, status=status, retry_after=retry_after
        )
    if status >= 500:
        return ProviderServerError(
            f"server error ({status}): {text}", provider=provider, status=status, retry_after=retry_after
        )
    if status in _PERMANENT:
        error_class, summary = _PERMANENT[status]
        return error_class(f"{summary} ({status}): {text}", provider=provider, status=status)
    if status in (400, 413, 422):
        if any(hint in text.lower() for hint in _CONTEXT_TOO_LONG_HINTS):
            return ContextTooLong(f"context too long ({status}): {text}", provider=provider, status=status)
        return InvalidRequest(f"invalid request ({status}): {text}", provider=provider, status=status)
    return PermanentProviderError(f"request failed ({status}): {text}", provider=provider, status=status)
