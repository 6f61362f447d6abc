"""Azure DevOps on the wire: its JSON read into Tamma's models, its errors into Tamma's.

Kept apart from `_azure` (the calls) so each reads in one screen; nothing here does I/O.
"""

from __future__ import annotations

from typing import Any

import httpx

from tamma.errors import Conflict, Forbidden, NotFound, PlatformError
from tamma.platforms._models import Comment, PullRequest
from tamma.platforms._ratelimit import Throttled
from tamma.redaction import redact

__all__ = [
    "HEADS",
    "NAME",
    "comment",
    "identity",
    "looks_like_sha",
    "pull_request",
    "raise_for_status",
    "tags_of",
    "wiql_literal",
]

NAME = "azure"
HEADS = "refs/heads/"


def tags_of(item: dict[str, Any]) -> tuple[str, ...]:
    raw = str((item.get("fields") or {}).get("System.Tags") or "")
    return tuple(tag.strip() for tag in raw.split(";") if tag.strip())


def identity(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("uniqueName") or value.get("displayName") or "")
    return str(value or "")


def wiql_literal(text: str) -> str:
    """A WIQL string literal: single quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def comment(item: dict[str, Any]) -> Comment:
    return Comment(
        id=str(item["id"]),
        author=identity(item.get("createdBy")),
        body=item.get("text") or "",
        created_at=item.get("createdDate"),
    )


def pull_request(item: dict[str, Any]) -> PullRequest:
    status = item["status"]
    repo_url = (item.get("repository") or {}).get("webUrl") or ""
    return PullRequest(
        number=item["pullRequestId"],
        title=item["title"],
        body=item.get("description") or "",
        head=str(item["sourceRefName"]).removeprefix(HEADS),
        base=str(item["targetRefName"]).removeprefix(HEADS),
        state="open" if status == "active" else ("merged" if status == "completed" else "closed"),
        draft=bool(item.get("isDraft")),
        head_sha=(item.get("lastMergeSourceCommit") or {}).get("commitId") or "",
        url=f"{repo_url}/pullrequest/{item['pullRequestId']}" if repo_url else "",
    )


def looks_like_sha(ref: str) -> bool:
    return len(ref) == 40 and all(c in "0123456789abcdef" for c in ref)


def raise_for_status(response: httpx.Response) -> None:
    """Azure DevOps' answer to Tamma's errors; 429, or 503 with `Retry-After`, becomes `Throttled`."""
    status, headers = response.status_code, response.headers
    if status == 203:
        raise Forbidden(
            "unauthorized (203, a sign-in page): the personal access token is missing, expired or revoked",
            platform=NAME,
            status=status,
        )
    if response.is_success:
        return
    if status == 429 or (status == 503 and "retry-after" in headers):
        raise Throttled.from_headers(
            NAME, headers.get("retry-after"), headers.get("x-ratelimit-reset"), status=status
        )
    message = redact(_message(response))
    if status == 401:
        raise Forbidden(
            f"unauthorized (401): {message}; the PAT is missing, expired or revoked",
            platform=NAME,
            status=status,
        )
    if status == 403:
        raise Forbidden(f"forbidden (403): {message}; check the PAT's scopes", platform=NAME, status=status)
    if status == 404:
        raise NotFound(f"not found (404): {message}", platform=NAME, status=status)
    if status in (409, 412):
        raise Conflict(f"conflict ({status}): {message}", platform=NAME, status=status)
    raise PlatformError(f"request failed ({status}): {message}", platform=NAME, status=status)


def _message(response: httpx.Response) -> str:
    """Azure DevOps' `{"message", "typeKey"}` error body, else the start of the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or "no message"
    if not isinstance(body, dict):
        return str(body)[:200]
    return str(body.get("message") or body.get("typeKey") or "no message")
