"""A forge that does not answer (nothing listening, a reset, a timeout) is `PlatformUnreachable`
from every adapter, and a step retries it: a dropped connection is not the end of a run."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from tamma.errors import PlatformUnreachable
from tamma.platforms import GitPlatform
from tamma.platforms._gitea import GiteaPlatform
from tamma.platforms._github import GitHubPlatform
from tamma.platforms._gitlab import GitLabPlatform
from tasks._step import is_transient


def closed_port() -> str:
    """A loopback address where nothing listens: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


ADAPTERS: dict[str, Callable[[str], GitPlatform]] = {
    "github": lambda url: GitHubPlatform("o/r", token="t", base_url=url),
    "gitlab": lambda url: GitLabPlatform("g/p", token="t", base_url=url),
    "gitea": lambda url: GiteaPlatform("o/r", token="t", base_url=url),
}


@pytest.mark.parametrize("kind", ADAPTERS)
def test_a_forge_that_does_not_answer_is_unreachable_and_worth_a_retry(kind: str) -> None:
    platform = ADAPTERS[kind](closed_port())
    with pytest.raises(PlatformUnreachable) as unreachable:
        platform.get_issue(1)
    assert is_transient(unreachable.value)
    assert "no answer" in str(unreachable.value)
