"""`tamma events` and `tamma db upgrade` through the real console script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from event_store import EventStore, NewEvent
from tests.cli.conftest import RunTamma


@pytest.fixture
def filled_url(store_url: str) -> str:
    with EventStore(store_url) as store:
        store.append(
            [
                NewEvent("ISSUE.SELECTED", {"title": "t"}, tags=["issue:local:demo#1"]),
                NewEvent("ISSUE.CLAIMED", {"worker": "w1"}, tags=["issue:local:demo#1", "worker:w1"]),
                NewEvent("ISSUE.CLAIMED", {"worker": "w2"}, tags=["issue:local:demo#2", "worker:w2"]),
                NewEvent("PLAN.PROPOSED", {"plan": "x" * 300}, tags=["issue:local:demo#1"]),
            ]
        )
    return store_url


def json_positions(result_stdout: str) -> list[int]:
    return [json.loads(line)["position"] for line in result_stdout.splitlines()]


def test_events_filters_as_json_lines(tamma: RunTamma, filled_url: str) -> None:
    def positions(*args: str) -> list[int]:
        result = tamma("events", "--json", "--database-url", filled_url, *args)
        assert result.returncode == 0, result.stderr
        return json_positions(result.stdout)

    assert positions() == [1, 2, 3, 4]
    assert positions("--type", "ISSUE.CLAIMED") == [2, 3]
    assert positions("--type", "ISSUE.CLAIMED", "--type", "PLAN.PROPOSED") == [2, 3, 4]
    assert positions("--tag", "issue:local:demo#1") == [1, 2, 4]
    assert positions("--tag", "issue:local:demo#1", "--tag", "worker:w1") == [2]
    assert positions("--after", "2") == [3, 4]
    assert positions("--limit", "2") == [1, 2]
    line = json.loads(tamma("events", "--json", "--limit", "1", "--database-url", filled_url).stdout)
    assert line["type"] == "ISSUE.SELECTED"
    assert line["tags"] == ["issue:local:demo#1"]
    assert line["data"] == {"title": "t"}
    assert line["recorded_at"].endswith("+00:00")


def test_events_table_is_readable_and_says_how_to_continue(tamma: RunTamma, filled_url: str) -> None:
    result = tamma("events", "--limit", "3", "--database-url", filled_url)
    assert result.returncode == 0, result.stderr
    assert "ISSUE.SELECTED" in result.stdout
    assert "worker:w2" in result.stdout
    assert "PLAN.PROPOSED" not in result.stdout
    assert "--after 3" in result.stdout


def test_database_url_comes_from_env_and_project_yaml(
    tamma: RunTamma, filled_url: str, tmp_path: Path
) -> None:
    from_env = tamma("events", "--json", env={"TAMMA_DATABASE_URL": filled_url})
    assert json_positions(from_env.stdout) == [1, 2, 3, 4]
    project = tmp_path / "project"
    project.mkdir()
    (project / "tamma.yaml").write_text(f"database_url: {filled_url}\n")
    from_yaml = tamma("events", "--json", "--type", "PLAN.PROPOSED", cwd=project)
    assert json_positions(from_yaml.stdout) == [4]


def test_db_upgrade_creates_the_schema_and_is_repeatable(tamma: RunTamma, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'events.db'}"
    for _ in range(2):
        result = tamma("db", "upgrade", "--database-url", url)
        assert result.returncode == 0, result.stderr
        assert "schema revision 0002" in result.stdout
    assert (tmp_path / "fresh" / "events.db").exists()


def test_default_store_lives_in_tamma_home(tamma: RunTamma, tmp_path: Path) -> None:
    assert tamma("db", "upgrade").returncode == 0
    assert (tmp_path / "home" / "events.db").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://root@localhost/test", "unsupported database URL scheme 'mysql'"),
        ("postgresql://root:s3cret-pw@127.0.0.1:1/test", "cannot use event store"),
    ],
)
def test_bad_database_url_is_one_clear_line(tamma: RunTamma, url: str, expected: str) -> None:
    result = tamma("events", "--database-url", url)
    assert result.returncode == 1
    assert result.stderr.startswith("tamma: error: ")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_yaml_config_is_reported(tamma: RunTamma, tmp_path: Path) -> None:
    (tmp_path / "tamma.yaml").write_text("database_url: [unclosed\n")
    result = tamma("events")
    assert result.returncode == 1
    assert "not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_teaches_the_commands(tamma: RunTamma) -> None:
    result = tamma("--help")
    assert result.returncode == 0
    for command in ("events", "db", "demo"):
        assert command in result.stdout
    events_help = tamma("events", "--help").stdout
    assert "--tag" in events_help
    assert "TAMMA_DATABASE_URL" in events_help
