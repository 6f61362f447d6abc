"""Strict settings: unknown keys, out-of-range values and malformed files or variables are one
`ConfigError` naming the key and where it came from; foreign or newer event stores are refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from event_store import EventStore, EventStoreError
from event_store._errors import NotAnEventStore, SchemaTooNew
from event_store._schema import HEAD_REVISION
from tamma.config import load_settings
from tamma.errors import ConfigError

FULL_CONFIG = """
database_url: sqlite:///events.db
claim_lease_s: 30
providers:
  - {kind: anthropic, model: claude-haiku-4-5, timeout_s: 60}
  - {kind: openai-compatible, name: ollama, base_url: "http://127.0.0.1:11434/v1", model: qwen2.5-coder}
prices:
  qwen2.5-coder: {input: 0, output: 0, cache_read: 0, cache_write: 0}
breaker: {failures: 2, window_s: 10, open_s: 30}
platforms:
  gitlab: {base_url: "https://gitlab.example.com", token_env: [CI_GITLAB_TOKEN]}
agent:
  command_timeout_s: 120
  attempts_per_phase: 2
  budget: {max_turns: 10, max_tokens: 1000, max_cost_usd: 0.5, max_wall_s: 60}
  claude_code: {max_turns: 5}
sandbox: {backend: none, limits: {memory_mb: 512}}
webhooks: {max_body_bytes: 1000}
metrics: {port: 9464}
"""


def config_error(project: Path, yaml_text: str, *, file: str = "tamma.yaml") -> str:
    path = project / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_full_valid_config_still_loads(project: Path) -> None:
    (project / "tamma.yaml").write_text(FULL_CONFIG)
    settings = load_settings()
    assert settings.claim_lease_s == 30
    assert settings.agent.budget.max_cost_usd == 0.5
    assert settings.sandbox.limits.memory_mb == 512


def test_an_unknown_top_level_key_is_named_with_a_suggestion(project: Path) -> None:
    message = config_error(project, "databse_url: sqlite:///x.db\n")
    assert message == "tamma.yaml: databse_url: unknown setting (did you mean database_url?)"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "providers: [{kind: anthropic, modle: x}]",
            "providers[0].modle: unknown setting (did you mean model?)",
        ),
        (
            "platforms: {github: {base_ur: x}}",
            "platforms.github.base_ur: unknown setting (did you mean base_url?)",
        ),
        ("platforms: {gitub: {}}", "platforms.gitub: unknown setting (did you mean github?)"),
        (
            "agent: {budget: {max_turn: 3}}",
            "agent.budget.max_turn: unknown setting (did you mean max_turns?)",
        ),
        ("agent: {claude_code: {modl: x}}", "agent.claude_code.modl: unknown setting (did you mean model?)"),
        ("sandbox: {netwrk: true}", "sandbox.netwrk: unknown setting (did you mean network?)"),
        (
            "sandbox: {limits: {memroy_mb: 1}}",
            "sandbox.limits.memroy_mb: unknown setting (did you mean memory_mb?)",
        ),
        ("webhooks: {trigger: x}", "webhooks.trigger: unknown setting (did you mean trigger_label?)"),
        ("metrics: {prot: 9000}", "metrics.prot: unknown setting (did you mean port?)"),
        ("breaker: {failure: 3}", "breaker.failure: unknown setting (did you mean failures?)"),
        (
            "prices: {m: {input: 1, output: 1, cache_read: 0, cache_write: 0, cach_read: 0}}",
            "prices.m.cach_read: unknown setting (did you mean cache_read?)",
        ),
        ("zzz: 1", "zzz: unknown setting"),
    ],
)
def test_an_unknown_key_inside_a_section_is_named_by_its_path(
    project: Path, yaml_text: str, expected: str
) -> None:
    assert config_error(project, yaml_text) == f"tamma.yaml: {expected}"


@pytest.mark.parametrize(
    ("yaml_text", "path"),
    [
        ("claim_lease_s: 0", "claim_lease_s"),
        ("providers: [{kind: anthropic, timeout_s: -1}]", "providers[0].timeout_s"),
        ("breaker: {failures: 0}", "breaker.failures"),
        ("breaker: {window_s: 0}", "breaker.window_s"),
        ("breaker: {open_s: -5}", "breaker.open_s"),
        ("prices: {m: {input: -1, output: 1, cache_read: 0, cache_write: 0}}", "prices.m.input"),
        ("agent: {command_timeout_s: 0}", "agent.command_timeout_s"),
        ("agent: {attempts_per_phase: 0}", "agent.attempts_per_phase"),
        ("agent: {budget: {max_turns: 0}}", "agent.budget.max_turns"),
        ("agent: {budget: {max_tokens: -1}}", "agent.budget.max_tokens"),
        ("agent: {budget: {max_cost_usd: 0}}", "agent.budget.max_cost_usd"),
        ("agent: {budget: {max_wall_s: -1}}", "agent.budget.max_wall_s"),
        ("agent: {claude_code: {max_turns: 0}}", "agent.claude_code.max_turns"),
        ("sandbox: {limits: {processes: 0}}", "sandbox.limits"),
        ("webhooks: {max_body_bytes: 0}", "webhooks.max_body_bytes"),
        ("metrics: {port: 0}", "metrics.port"),
        ("metrics: {port: 70000}", "metrics.port"),
    ],
)
def test_an_out_of_range_value_is_named_with_its_file(project: Path, yaml_text: str, path: str) -> None:
    assert config_error(project, yaml_text).startswith(f"tamma.yaml: {path}: ")


def test_an_error_in_the_home_config_names_that_file(project: Path) -> None:
    (project / "tamma.yaml").write_text("claim_lease_s: 30\n")
    home_config = project / "home" / "config.yaml"
    message = config_error(project, "agent: {command_timeout_s: -1}\n", file="home/config.yaml")
    assert message == f"{home_config}: agent.command_timeout_s: Input should be greater than 0"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x01",
            "tamma.yaml: not a text file (not UTF-8 at byte 0); expected YAML",
        ),
        (b"- database_url\n", "tamma.yaml: expected a mapping of settings (`key: value` lines), not a list"),
        (
            b"just words\n",
            "tamma.yaml: expected a mapping of settings (`key: value` lines), not a single value",
        ),
        (b"agent:\n  budget: {max_turns: 3\nclaim_lease_s: 1\n", "tamma.yaml: line 3: not valid YAML: "),
        (b"claim_lease_s: \x00\n", "tamma.yaml: not valid YAML: special characters are not allowed"),
    ],
)
def test_a_malformed_file_is_one_error_naming_it(project: Path, content: bytes, expected: str) -> None:
    (project / "tamma.yaml").write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TAMMA_PROVIDERS", "not json", "TAMMA_PROVIDERS: providers: not valid JSON ("),
        ("TAMMA_AGENT", "{", "TAMMA_AGENT: agent: not valid JSON ("),
        ("TAMMA_SANDBOX", "{backend", "TAMMA_SANDBOX: sandbox: not valid JSON ("),
        ("TAMMA_CLAIM_LEASE_S", "-1", "TAMMA_CLAIM_LEASE_S: claim_lease_s: Input should be greater than 0"),
        ("TAMMA_CLAIM_LEASE_S", "soon", "TAMMA_CLAIM_LEASE_S: claim_lease_s: Input should be a valid number"),
        (
            "TAMMA_AGENT",
            '{"command_timout_s": 5}',
            "TAMMA_AGENT: agent.command_timout_s: unknown setting (did you mean",
        ),
        (
            "TAMMA_PROVIDERS",
            '[{"kind": "anthropic", "timeout_s": 0}]',
            "TAMMA_PROVIDERS: providers[0].timeout_s: Input",
        ),
        (
            "TAMMA_AGENT_BACKEND",
            "codex",
            "TAMMA_AGENT_BACKEND: agent.backend: Input should be 'builtin' or 'claude-code'",
        ),
    ],
)
def test_a_malformed_variable_is_named(
    project: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(expected)


def test_tamma_variables_that_are_not_settings_are_left_alone(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "TAMMA_LOG_FORMAT": "json",
        "TAMMA_METRICS_PORT": "9999",
        "TAMMA_METRICS_HOST": "0.0.0.0",
        "TAMMA_AGENT_BACKEND": "claude-code",
        "TAMMA_TEST_POSTGRES_URL": "postgresql+psycopg://nobody@127.0.0.1/none",
        "TAMMA_SOMETHING_NEW": "x",
        "TAMMA_CLAIM_LEASE_S": "45",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.agent.backend == "claude-code"
    assert settings.claim_lease_s == 45


# The event store behind a URL: a file that is not SQLite, another program's database, a newer schema.


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    with pytest.raises(NotAnEventStore) as caught:
        EventStore(f"sqlite:///{text}")
    assert str(caught.value) == (
        f"the event store at sqlite:///{text} is not a Tamma event store: the file is not a SQLite database"
    )
    assert text.read_text() == "not a database\n"


def test_another_programs_sqlite_database_is_not_migrated(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE users (name TEXT)")
    with pytest.raises(NotAnEventStore, match="other tables and no event store schema"):
        EventStore(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"users"}


@pytest.mark.parametrize("revision", [f"{int(HEAD_REVISION) + 1:04d}", "abc123"])
def test_a_newer_or_foreign_schema_revision_is_refused(tmp_path: Path, revision: str) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    EventStore(url).close()
    with sqlite3.connect(tmp_path / "events.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    with pytest.raises(EventStoreError) as caught:
        EventStore(url)
    if revision.isdigit():
        assert isinstance(caught.value, SchemaTooNew)
        assert str(caught.value) == (
            f"the event store at {url} was written by a newer Tamma (schema revision {revision}, "
            f"this release knows up to {HEAD_REVISION}): upgrade Tamma"
        )
    else:
        assert isinstance(caught.value, NotAnEventStore)
        assert f"schema revision '{revision}'" in str(caught.value)
