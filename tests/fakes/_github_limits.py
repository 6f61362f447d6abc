"""The fake GitHub's rate limits: the hourly core quota and the limits a test trips on purpose.

Why modelled and not only scripted: the adapter must read the `X-RateLimit-*` headers every
response carries, tell a primary limit (403 or 429, remaining 0, wait for `X-RateLimit-Reset`) from
a secondary one (403 or 429 with `Retry-After`), wait, retry and give up; and PyGithub classifies
the two by the message text. So the answers below use GitHub's wording, headers and statuses,
and `GET /rate_limit` reports the same quota the headers do. A trip may wait for one request
(`at="/repos/o/r/issues?page=2"`): a limit hit in the middle of a paginated listing is where a
client most easily loses results.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes._github_records import ApiError

HOURLY_LIMIT = 5000
WINDOW_S = 3600
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."


def request_id() -> str:
    """An `X-GitHub-Request-Id`-like value (GitHub quotes it in rate limit messages too)."""
    return uuid.uuid4().hex[:20].upper()


def support_note() -> str:
    return f"If you reach out to GitHub Support for help, please include the request ID {request_id()}."


@dataclass
class Quota:
    limit: int = HOURLY_LIMIT
    used: int = 0
    reset_at: int = field(default_factory=lambda: int(time.time()) + WINDOW_S)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def roll(self) -> None:
        """A new hour: the quota refills once its reset time has passed."""
        if time.time() >= self.reset_at:
            self.used, self.reset_at = 0, int(time.time()) + WINDOW_S

    def rate(self) -> dict[str, int]:
        """The `rate` object of `/rate_limit`, and what the headers say."""
        return {"limit": self.limit, "remaining": self.remaining, "reset": self.reset_at, "used": self.used}


@dataclass(frozen=True)
class Trip:
    """One request that a test made hit a limit: primary waits `seconds` for the reset. With `at`
    (an API path, its query optional) only a request to that path, with those parameters, trips."""

    secondary: bool
    status: int
    seconds: float
    at: str | None = None

    def catches(self, path: str, query: str) -> bool:
        if self.at is None:
            return True
        target = urlsplit(self.at)
        return target.path == path and set(parse_qsl(target.query)) <= set(parse_qsl(query))


class RateLimits:
    """Spends one request of the quota per API call, or refuses it the way GitHub does."""

    def __init__(self) -> None:
        self.enabled = True
        """False: a GitHub Enterprise Server with rate limiting off (no headers, `/rate_limit` 404)."""
        self.quota = Quota()
        self.trips: deque[Trip] = deque()

    def trip(
        self, requests: int, *, secondary: bool, status: int, seconds: float, at: str | None = None
    ) -> None:
        if status not in (403, 429):
            raise ValueError(f"GitHub answers rate limits with 403 or 429, not {status}")
        self.trips.extend([Trip(secondary, status, seconds, at)] * requests)

    def spend(self, user_id: int, path: str, query: str) -> dict[str, str]:
        """Count one request to `path` (or raise the limit it hits); returns the answer's headers."""
        if trip := self._tripped(path, query):
            if trip.secondary:
                headers = {**self.headers(), "retry-after": f"{trip.seconds:g}"}
                raise ApiError(trip.status, f"{SECONDARY} {support_note()}", headers=headers)
            raise self._primary(user_id, trip.status, int(time.time() + trip.seconds))
        if not self.enabled:
            return {}
        self.quota.roll()
        if self.quota.remaining == 0:
            raise self._primary(user_id, 403, self.quota.reset_at)
        self.quota.used += 1
        return self.headers()

    def _tripped(self, path: str, query: str) -> Trip | None:
        """The first trip waiting for this request, taken off the queue."""
        trip = next((trip for trip in self.trips if trip.catches(path, query)), None)
        if trip is not None:
            self.trips.remove(trip)
        return trip

    def _primary(self, user_id: int, status: int, reset_at: int) -> ApiError:
        message = f"API rate limit exceeded for user ID {user_id}. {support_note()}"
        spent = Quota(self.quota.limit, self.quota.limit, reset_at)
        return ApiError(status, message, headers=self.headers(spent))

    def headers(self, quota: Quota | None = None) -> dict[str, str]:
        if not self.enabled:
            return {}
        rate = (quota or self.quota).rate()
        headers = {f"x-ratelimit-{name}": str(value) for name, value in rate.items()}
        return {**headers, "x-ratelimit-resource": "core"}

    def overview(self) -> dict[str, Any]:
        """The `GET /rate_limit` body: free and never limited itself, so a waiting client can ask."""
        if not self.enabled:
            raise ApiError(404, "Rate limiting is not enabled.")
        self.quota.roll()
        core = {**self.quota.rate(), "resource": "core"}
        search = {
            "limit": 30,
            "remaining": 30,
            "reset": int(time.time()) + 60,
            "used": 0,
            "resource": "search",
        }
        graphql = {**core, "remaining": core["limit"], "used": 0, "resource": "graphql"}
        return {"resources": {"core": core, "search": search, "graphql": graphql}, "rate": core}
