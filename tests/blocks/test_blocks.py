"""Tamma's Prefect blocks against a real Prefect server: save, load, hide secrets, look up.

One server per module (prefect_test_harness takes ~15 s to start); saves use the
conventional names with overwrite=True, so tests may share them in any order.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import BlockDocumentUpdate
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.testing.utilities import prefect_test_harness
from pydantic import SecretStr

from blocks import (
    TammaPlatformBlock,
    TammaProviderBlock,
    document_name_for,
    load_block,
    secret_from_blocks,
)
from tamma.errors import ConfigError
from tamma.platforms._settings import GitHubSettings, GitLabSettings
from tamma.providers._settings import ProviderSettings

TOKEN = "ghp_" + "T0ken" * 8
API_KEY = "sk-ant-" + "K3y" * 10


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    """A throwaway Prefect server with its own SQLite database, PREFECT_API_URL pointing at it."""
    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_platform_block_round_trips_its_token() -> None:
    TammaPlatformBlock(kind="github", token=SecretStr(TOKEN)).save("tamma-github", overwrite=True)

    loaded = TammaPlatformBlock.load("tamma-github")

    assert isinstance(loaded, TammaPlatformBlock)  # typed "block or coroutine" in Prefect 3.9
    assert isinstance(loaded.token, SecretStr)
    assert loaded.token_value() == TOKEN
    assert loaded.forge_settings() == GitHubSettings()


def test_platform_block_gives_forge_settings_with_its_base_url() -> None:
    block = TammaPlatformBlock(kind="gitlab", base_url="https://gitlab.example.com", token=SecretStr(TOKEN))

    settings = block.forge_settings()

    assert isinstance(settings, GitLabSettings)
    assert settings.base_url == "https://gitlab.example.com"
    assert settings.token_env == GitLabSettings().token_env
    assert settings.keychain_user == "gitlab"


def test_provider_block_round_trips_settings_and_key() -> None:
    saved = TammaProviderBlock(
        kind="openai-compatible",
        name="ollama",
        model="qwen2.5-coder",
        base_url="http://127.0.0.1:11434/v1",
        api_key=SecretStr(API_KEY),
        timeout_s=30.0,
    )
    saved.save(saved.document_name(), overwrite=True)

    loaded = TammaProviderBlock.load("tamma-ollama")

    assert isinstance(loaded, TammaProviderBlock)
    assert loaded.api_key_value() == API_KEY
    assert loaded.provider_settings() == ProviderSettings(
        kind="openai-compatible",
        name="ollama",
        model="qwen2.5-coder",
        base_url="http://127.0.0.1:11434/v1",
        timeout_s=30.0,
    )


def test_provider_block_without_key_uses_the_settings_defaults() -> None:
    block = TammaProviderBlock(kind="anthropic")

    assert block.api_key_value() is None
    assert block.provider_settings() == ProviderSettings(kind="anthropic")
    assert block.document_name() == "tamma-anthropic"


def test_secrets_stay_hidden_in_repr_str_json_logs_and_the_ui(caplog: pytest.LogCaptureFixture) -> None:
    platform = TammaPlatformBlock(kind="github", token=SecretStr(TOKEN))
    provider = TammaProviderBlock(kind="anthropic", api_key=SecretStr(API_KEY))
    platform.save("tamma-github", overwrite=True)

    with caplog.at_level(logging.INFO):
        logging.getLogger("tamma.test").info("using %s and %r", platform, provider)
    with get_client(sync_client=True) as client:  # what the UI and `prefect block inspect` read
        document = client.read_block_document_by_name(
            name="tamma-github", block_type_slug="tamma-platform", include_secrets=False
        )

    shown = [repr(platform), str(platform), repr(provider), str(provider), caplog.text]
    shown += [platform.model_dump_json(), provider.model_dump_json(), str(document.data)]
    for text in shown:
        assert TOKEN not in text
        assert API_KEY not in text
        assert "********" in text  # SecretStr shows ten stars, the server's redaction eight


def test_secret_from_blocks_reads_the_conventional_names() -> None:
    TammaPlatformBlock(kind="gitlab", token=SecretStr(TOKEN)).save("tamma-gitlab", overwrite=True)
    TammaProviderBlock(kind="anthropic", api_key=SecretStr(API_KEY)).save("tamma-anthropic", overwrite=True)

    assert secret_from_blocks("platform", "gitlab") == TOKEN
    assert secret_from_blocks("provider", "anthropic") == API_KEY


def test_secret_from_blocks_is_none_for_a_block_never_saved() -> None:
    TammaPlatformBlock(kind="github", token=SecretStr(TOKEN)).save("tamma-github", overwrite=True)

    assert secret_from_blocks("provider", "no-such-provider") is None
    assert load_block(TammaProviderBlock, "no-such-provider") is None


def test_a_provider_block_saved_without_a_key_gives_none() -> None:
    TammaProviderBlock(kind="openai-compatible", name="local").save("tamma-local", overwrite=True)

    assert secret_from_blocks("provider", "local") is None
    local = load_block(TammaProviderBlock, "local")
    assert local is not None
    assert local.provider_settings().display_name == "local"


def test_a_block_saved_under_another_kinds_name_is_a_config_error() -> None:
    TammaPlatformBlock(kind="gitlab", token=SecretStr(TOKEN)).save("tamma-github", overwrite=True)

    with pytest.raises(ConfigError, match="'tamma-github' holds settings for 'tamma-gitlab'") as caught:
        secret_from_blocks("platform", "github")
    assert TOKEN not in str(caught.value)


def test_a_block_with_invalid_fields_is_a_config_error_that_hides_the_token() -> None:
    """Written behind the block class's back (an older schema, a hand edit): the server stores it as is."""
    block = TammaPlatformBlock(kind="github", token=SecretStr(TOKEN))
    block.save("tamma-github", overwrite=True)
    with get_client(sync_client=True) as client:
        saved = client.read_block_document_by_name(name="tamma-github", block_type_slug="tamma-platform")
        client.update_block_document(
            saved.id,
            BlockDocumentUpdate(data={"kind": "bitbucket", "token": [TOKEN]}, merge_existing_data=False),
        )

    with pytest.raises(ConfigError, match="'tamma-github' has invalid fields: kind, token") as caught:
        secret_from_blocks("platform", "github")
    assert TOKEN not in str(caught.value)


def test_lookup_works_with_an_event_loop_running() -> None:
    """`Block.load` would hand back a coroutine here; the lookup must still return the secret."""
    TammaPlatformBlock(kind="github", token=SecretStr(TOKEN)).save("tamma-github", overwrite=True)

    async def look_up() -> str | None:
        return secret_from_blocks("platform", "github")

    assert asyncio.run(look_up()) == TOKEN


def test_no_configured_server_gives_none_without_starting_one() -> None:
    started = time.monotonic()
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert secret_from_blocks("platform", "github") is None
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("kind", ["platform", "provider"])
def test_a_closed_port_gives_none_quickly(closed_port: int, kind: Literal["platform", "provider"]) -> None:
    """~1.5 s: the connect retries of Prefect's transport, and nothing more."""
    started = time.monotonic()
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{closed_port}/api"}):
        assert secret_from_blocks(kind, "github") is None
    assert time.monotonic() - started < 2.5


def test_a_server_that_never_answers_gives_none_after_the_timeout() -> None:
    """Accepts the connection, never replies: one attempt, no retries with backoff."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/api"
        started = time.monotonic()
        with temporary_settings(updates={PREFECT_API_URL: url}):
            assert secret_from_blocks("platform", "github", timeout_s=0.5) is None
        assert time.monotonic() - started < 3


class _Unauthorized(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"detail": "Unauthorized"}')

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_server_that_refuses_is_a_config_error() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        with (
            temporary_settings(updates={PREFECT_API_URL: f"http://tamma:hunter2@127.0.0.1:{port}/api"}),
            pytest.raises(ConfigError) as caught,
        ):
            secret_from_blocks("platform", "github")
    finally:
        server.shutdown()
        server.server_close()
    message = str(caught.value)
    assert message.startswith(f"the Prefect server at http://127.0.0.1:{port}/api/")
    assert "answered 401 when reading block 'tamma-github'" in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("name", "document_name"),
    [
        ("github", "tamma-github"),
        ("anthropic", "tamma-anthropic"),
        ("openai-compatible", "tamma-openai-compatible"),
        ("My Ollama", "tamma-my-ollama"),
        ("team/vLLM_2", "tamma-team-vllm-2"),
    ],
)
def test_document_names_follow_the_keychain_user(name: str, document_name: str) -> None:
    assert document_name_for(name) == document_name


def test_a_platform_token_comes_from_its_block_when_env_and_keychain_have_none(
    project: object, keychain: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "ghp_" + "B10ck" * 8
    TammaPlatformBlock(kind="github", token=SecretStr(token)).save(
        document_name_for("github"), overwrite=True
    )
    assert GitHubSettings().token() is None  # no server named in the environment: not asked
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    assert GitHubSettings().token() == token
    assert "Prefect block tamma-github" in GitHubSettings().token_hint()
