"""Pytest fixtures for the fake model APIs; register with `pytest_plugins = ["tests.fakes.fixtures"]`.

Why session servers with per-test reset: binding a port and starting a thread per test costs
more than the tests themselves, while a reset (script, request log, default reply, cache
state, pending delays) is enough to keep tests from seeing each other.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.azure import FakeAzureDevOps
from tests.fakes.bitbucket import FakeBitbucket
from tests.fakes.gitea import FakeGitea
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.fakes.openai import FakeOpenAI


@pytest.fixture(scope="session")
def fake_anthropic_server() -> Iterator[FakeAnthropic]:
    """The session's fake Anthropic server (not reset: prefer `fake_anthropic`)."""
    with FakeAnthropic() as server:
        yield server


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    """The session's fake OpenAI-compatible server (not reset: prefer `fake_openai`)."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fake_anthropic(fake_anthropic_server: FakeAnthropic) -> Iterator[FakeAnthropic]:
    """The fake Anthropic Messages API with an empty script and request log."""
    fake_anthropic_server.reset()
    yield fake_anthropic_server
    fake_anthropic_server.reset()


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The fake OpenAI-compatible chat completions API with an empty script and request log."""
    fake_openai_server.reset()
    yield fake_openai_server
    fake_openai_server.reset()


@pytest.fixture(scope="session")
def fake_gitlab_server() -> Iterator[FakeGitLab]:
    """The session's fake GitLab API v4 server (not reset: prefer `fake_gitlab`)."""
    with FakeGitLab() as server:
        yield server


@pytest.fixture
def fake_gitlab(fake_gitlab_server: FakeGitLab) -> Iterator[FakeGitLab]:
    """The fake GitLab with no projects, the default token, a fresh rate limit and an empty log."""
    fake_gitlab_server.reset()
    yield fake_gitlab_server
    fake_gitlab_server.reset()


@pytest.fixture(scope="session")
def fake_github_server() -> Iterator[FakeGitHub]:
    """The session's fake GitHub REST API v3 server (not reset: prefer `fake_github`)."""
    with FakeGitHub() as server:
        yield server


@pytest.fixture
def fake_github(fake_github_server: FakeGitHub) -> Iterator[FakeGitHub]:
    """The fake GitHub with no repositories or tokens, a full rate-limit quota and an empty log."""
    fake_github_server.reset()
    yield fake_github_server
    fake_github_server.reset()


@pytest.fixture(scope="session")
def fake_gitea_server() -> Iterator[FakeGitea]:
    """The session's fake Gitea API v1 server (not reset: prefer `fake_gitea`)."""
    with FakeGitea() as server:
        yield server


@pytest.fixture
def fake_gitea(fake_gitea_server: FakeGitea) -> Iterator[FakeGitea]:
    """The fake Gitea with no repositories, the default token, no throttling and an empty log."""
    fake_gitea_server.reset()
    yield fake_gitea_server
    fake_gitea_server.reset()


@pytest.fixture(scope="session")
def fake_azure_server() -> Iterator[FakeAzureDevOps]:
    """The session's fake Azure DevOps server (not reset: prefer `fake_azure`)."""
    with FakeAzureDevOps() as server:
        yield server


@pytest.fixture
def fake_azure(fake_azure_server: FakeAzureDevOps) -> Iterator[FakeAzureDevOps]:
    """The fake Azure DevOps with no repositories or work items, the default PAT, no throttling."""
    fake_azure_server.reset()
    yield fake_azure_server
    fake_azure_server.reset()


@pytest.fixture(scope="session")
def fake_bitbucket_server() -> Iterator[FakeBitbucket]:
    """The session's fake Bitbucket Cloud API 2.0 server (not reset: prefer `fake_bitbucket`)."""
    with FakeBitbucket() as server:
        yield server


@pytest.fixture
def fake_bitbucket(fake_bitbucket_server: FakeBitbucket) -> Iterator[FakeBitbucket]:
    """The fake Bitbucket Cloud with no repositories, the default credentials, no throttling."""
    fake_bitbucket_server.reset()
    yield fake_bitbucket_server
    fake_bitbucket_server.reset()
