"""Opening platforms from configuration: base URLs from tamma.yaml, tokens from env or keychain."""

from __future__ import annotations

from pathlib import Path

import pytest

from tamma.config import load_settings
from tamma.errors import ConfigError
from tamma.platforms import IssueRef
from tamma.platforms._factory import open_platform, platform_for
from tamma.platforms._github import GitHubPlatform
from tamma.platforms._gitlab import GitLabPlatform
from tamma.platforms._local import LocalPlatform
from tests.config_fixtures import MemoryKeyring
from tests.fakes import gitlab as fake_gitlab_module
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.platforms.local_repo import make_local_platform


def test_github_enterprise_url_from_yaml_and_token_from_env(
    project: Path, keychain: MemoryKeyring, fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_github.create_repo("octo/demo")
    fake_github.create_issue("octo/demo", "Fix it", "please")
    (project / "tamma.yaml").write_text(f"platforms:\n  github:\n    base_url: {fake_github.base_url}\n")
    monkeypatch.setenv("GH_TOKEN", "ghp_" + "E" * 36)
    platform = platform_for(IssueRef.parse("github:octo/demo#1"), load_settings())
    assert isinstance(platform, GitHubPlatform)
    assert platform.get_issue(1).title == "Fix it"


def test_gitlab_token_from_the_keychain(
    project: Path, keychain: MemoryKeyring, fake_gitlab: FakeGitLab
) -> None:
    fake_gitlab.add_project("group/demo")
    keychain.set_password("tamma", "gitlab", fake_gitlab_module.TOKEN)
    (project / "tamma.yaml").write_text(f"platforms:\n  gitlab:\n    base_url: {fake_gitlab.url}\n")
    platform = open_platform("gitlab", "group/demo", load_settings())
    assert isinstance(platform, GitLabPlatform)
    assert platform.repository().default_branch == "main"


def test_missing_token_says_where_to_put_it(project: Path, keychain: MemoryKeyring) -> None:
    with pytest.raises(
        ConfigError, match="set GITHUB_TOKEN or GH_TOKEN, store it with `keyring set tamma github`"
    ):
        open_platform("github", "octo/demo", load_settings())
    with pytest.raises(ConfigError, match="GITLAB_TOKEN"):
        open_platform("gitlab", "group/demo", load_settings())


def test_a_token_in_yaml_is_refused_without_echoing_it(project: Path) -> None:
    (project / "tamma.yaml").write_text("platforms:\n  gitlab:\n    token: glpat-oops-0123456789abcdef\n")
    with pytest.raises(ConfigError, match="environment variable") as refused:
        load_settings()
    assert "glpat-oops" not in str(refused.value)


def test_local_platforms_open_by_name_under_tamma_home(project: Path) -> None:
    created = make_local_platform(project)  # at <project>/local/demo
    opened = platform_for(IssueRef.parse("local:demo#1"), load_settings(home=project))
    assert isinstance(opened, LocalPlatform)
    assert opened.root == created.root
