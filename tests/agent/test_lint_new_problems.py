"""The lint phase holds the change to the problems it introduced: a file that already had lint
problems before the change does not make the model fix them, and a linter that is not installed
stops the session as a configuration error before the model is asked anything."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from event_store import EventStore, Query
from tamma import event_types
from tamma.agent.budget import Budget
from tamma.agent.test_first import TestFirstAgent
from tamma.agent.workspace import Workspace
from tamma.errors import ConfigError
from tamma.platforms import LocalPlatform, init_local_platform
from tamma.providers import Response, ScriptedProvider
from tests.agent.test_test_first import EXISTING_TEST, NEW_TEST, TEST_COMMAND, call, make_agent

RUFF = (sys.executable, "-m", "ruff", "check", "--no-cache")
"""Without `--isolated`: the repository's ruff.toml must apply to the head and the base alike."""
RUFF_CONFIG = '[lint]\nextend-select = ["UP"]\n'
OLD_STYLE = '''from typing import List


def add(a: int, b: int) -> int:
    """The sum of a and b."""
    return a - b


def total(values: List[int]) -> int:
    """The sum of values."""
    return sum(values)
'''
"""UP035 on line 1 and UP006 on line 9: problems the issue has nothing to do with."""
FIX_MOVING_LINES = "    result = a + b\n    return result"
"""Moves the UP006 line down: the pre-existing problem must be recognised on its new line."""
TESTS_THEN_FIX = [
    call("write_file", 1, path="tests/test_add.py", content=NEW_TEST),
    call("finish", 2, summary="tests/test_add.py checks that add(1, 2) == 3"),
    call("edit_file", 3, path="calc.py", old_text="    return a - b", new_text=FIX_MOVING_LINES),
    call("finish", 4, summary="add() returns a + b"),
    call("finish", 5, summary="nothing to refactor"),
]


@pytest.fixture
def platform(tmp_path: Path) -> LocalPlatform:
    source = tmp_path / "calc-project"
    (source / "tests").mkdir(parents=True)
    (source / "calc.py").write_text(OLD_STYLE)
    (source / "ruff.toml").write_text(RUFF_CONFIG)
    (source / "tests" / "test_existing.py").write_text(EXISTING_TEST)
    created = init_local_platform(source, tmp_path / "local" / "calc", test_command=" ".join(TEST_COMMAND))
    created.create_issue("add() subtracts", "add(1, 2) returns -1 instead of 3.", labels=["tamma"])
    return created


def agent_linting_with(
    command: tuple[str, ...],
    script: list[Response],
    platform: LocalPlatform,
    store: EventStore,
    tmp_path: Path,
) -> tuple[TestFirstAgent, ScriptedProvider, Workspace]:
    provider = ScriptedProvider(script)
    issue = platform.get_issue(1)
    agent, workspace = make_agent(platform, issue, store, provider, tmp_path, Budget())
    return TestFirstAgent(agent.loop, workspace, agent.recorder, lint_command=command), provider, workspace


def head_lint_runs(store: EventStore) -> list[tuple[int, int]]:
    runs = store.read(Query.of(types=[event_types.LINT_RAN]))
    return [
        (e.data["pre_existing_problems"], e.data["new_problems"]) for e in runs if e.data["tree"] == "head"
    ]


def test_problems_the_file_had_before_the_change_are_not_the_models_to_fix(
    platform: LocalPlatform, store: EventStore, tmp_path: Path
) -> None:
    agent, provider, workspace = agent_linting_with(RUFF, TESTS_THEN_FIX, platform, store, tmp_path)

    result = agent.implement(platform.get_issue(1))

    assert result.status == "done", result.reason
    assert provider.remaining == 0
    assert "lint" not in [request.purpose for request in provider.requests]
    assert head_lint_runs(store) == [(2, 0)]
    assert (workspace.path / "calc.py").read_text().startswith("from typing import List\n")


def test_the_model_is_shown_only_the_problem_its_change_added(
    platform: LocalPlatform, store: EventStore, tmp_path: Path
) -> None:
    adds_unused_import = call(
        "edit_file",
        10,
        path="calc.py",
        old_text="from typing import List",
        new_text="import os\nfrom typing import List",
    )
    script = [
        *TESTS_THEN_FIX[:2],
        adds_unused_import,
        *TESTS_THEN_FIX[2:],
        call("edit_file", 11, path="calc.py", old_text="import os\n", new_text=""),
        call("finish", 12, summary="removed the unused import"),
    ]
    agent, provider, _ = agent_linting_with(RUFF, script, platform, store, tmp_path)

    result = agent.implement(platform.get_issue(1))

    assert result.status == "done", result.reason
    assert provider.remaining == 0
    asked = next(request for request in provider.requests if request.purpose == "lint").messages[0].text
    assert "F401" in asked
    assert "UP035" not in asked
    assert "UP006" not in asked
    assert head_lint_runs(store) == [(2, 1), (2, 0)]


def test_a_linter_that_is_not_installed_stops_the_session_before_any_model_call(
    platform: LocalPlatform, store: EventStore, tmp_path: Path
) -> None:
    missing = (sys.executable, "-m", "no_such_linter")
    agent, provider, _ = agent_linting_with(missing, TESTS_THEN_FIX, platform, store, tmp_path)

    with pytest.raises(ConfigError) as raised:
        agent.implement(platform.get_issue(1))

    message = str(raised.value)
    assert "\n" not in message
    assert "no_such_linter" in message
    assert "agent.lint_command" in message
    assert provider.requests == []
