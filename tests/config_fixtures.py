"""Fixtures for configuration tests: a clean project directory and an in-memory OS keychain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

SECRET_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITLAB_TOKEN",
    "GITEA_TOKEN",
    "TAMMA_PROVIDERS",
    "TAMMA_PLATFORMS",
)


class MemoryKeyring(KeyringBackend):
    """A real keyring backend kept in memory, standing in for the OS keychain."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no tamma.yaml, its own TAMMA_HOME and no secrets in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAMMA_HOME", str(tmp_path / "home"))
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def keychain() -> Iterator[MemoryKeyring]:
    """An empty keychain in place of the OS one for the test's duration."""
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(previous)
