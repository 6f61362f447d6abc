"""The model's tools: what they do, and every way out of the workspace refused."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tamma.agent._detect import detect_lint_command, detect_test_command
from tamma.agent.tools import Toolbox, ToolPolicy
from tamma.errors import ConfigError

TOKEN = "ghp_" + "S3cret" * 6


@pytest.fixture
def toolbox(tmp_path: Path) -> Toolbox:
    root = tmp_path / "workspace"
    (root / "pkg").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / "pkg" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "README.md").write_text("calc: adds numbers\n")
    policy = ToolPolicy(
        test_command=(sys.executable, "-c", "print('3 passed')"),
        allowed_commands=frozenset({"env", "git"}),
        command_timeout_s=10,
    )
    return Toolbox(root, policy, home=root / ".tamma" / "home")


def test_read_write_edit_list_and_search(toolbox: Toolbox) -> None:
    assert toolbox.call("read_file", {"path": "pkg/calc.py"}).content.startswith("def add")
    written = toolbox.call(
        "write_file", {"path": "tests/test_calc.py", "content": "from pkg.calc import add\n"}
    )
    assert written.written == "tests/test_calc.py"
    edited = toolbox.call("edit_file", {"path": "pkg/calc.py", "old_text": "a - b", "new_text": "a + b"})
    assert edited.written == "pkg/calc.py"
    assert "a + b" in (toolbox.root / "pkg" / "calc.py").read_text()
    assert toolbox.call("list_dir", {}).content.splitlines() == ["README.md", "pkg/", "tests/"]
    assert toolbox.call("search", {"pattern": "add"}).content.splitlines() == [
        "README.md:1: calc: adds numbers",
        "pkg/calc.py:1: def add(a, b):",
        "tests/test_calc.py:1: from pkg.calc import add",
    ]
    assert (
        toolbox.call("search", {"pattern": r"a \+ b", "regex": True}).content
        == "pkg/calc.py:2:     return a + b"
    )
    tests = toolbox.call("run_tests", {})
    assert tests.tests is not None
    assert tests.tests.passed
    assert "3 passed" in tests.content
    assert toolbox.call("finish", {"summary": "done"}).finished == "done"


@pytest.mark.parametrize(
    ("old_text", "message"),
    [("a * b", "not found"), ("a", "found 3 times"), ("", "not found")],
)
def test_edit_needs_exactly_one_match(toolbox: Toolbox, old_text: str, message: str) -> None:
    result = toolbox.call("edit_file", {"path": "pkg/calc.py", "old_text": old_text, "new_text": "x"})
    assert result.is_error
    assert message in result.content
    assert (toolbox.root / "pkg" / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"


@pytest.mark.parametrize(
    ("tool", "arguments", "why"),
    [
        ("read_file", {"path": "../secret.txt"}, "outside the workspace"),
        ("read_file", {"path": "/etc/passwd"}, "absolute"),
        ("write_file", {"path": "~/.bashrc", "content": "x"}, "absolute"),
        ("write_file", {"path": "pkg/../../escape.py", "content": "x"}, "outside the workspace"),
        ("read_file", {"path": "outside/secret.txt"}, "outside the workspace"),
        ("write_file", {"path": "outside/planted.py", "content": "x"}, "outside the workspace"),
        ("write_file", {"path": ".git/config", "content": "[core]\n\thooksPath = /tmp"}, ".git/"),
        ("edit_file", {"path": ".git/config", "old_text": "[core]", "new_text": "[x]"}, ".git/"),
        ("write_file", {"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\n"}, ".git/"),
        ("list_dir", {"path": ".."}, "outside the workspace"),
        ("search", {"pattern": "root", "path": "/etc"}, "absolute"),
        ("run_command", {"argv": ["curl", "https://example.com"]}, "not an allowed command"),
        ("run_command", {"argv": ["/usr/bin/env"]}, "not an allowed command"),
    ],
)
def test_ways_out_are_refused(toolbox: Toolbox, tool: str, arguments: dict[str, object], why: str) -> None:
    outside = toolbox.root.parent / "outside-target"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text(TOKEN)
    (toolbox.root.parent / "secret.txt").write_text(TOKEN)
    link = toolbox.root / "outside"
    if not link.exists():
        link.symlink_to(outside, target_is_directory=True)
    result = toolbox.call(tool, arguments)
    assert result.refused
    assert result.is_error
    assert why in result.content
    assert TOKEN not in result.content
    assert not (outside / "planted.py").exists()
    assert (toolbox.root / ".git" / "config").read_text() == "[core]\n"


def test_search_does_not_follow_symlinks_out(toolbox: Toolbox) -> None:
    outside = toolbox.root.parent / "elsewhere"
    outside.mkdir()
    (outside / "keys.txt").write_text(f"token {TOKEN}\n")
    (toolbox.root / "link").symlink_to(outside, target_is_directory=True)
    (toolbox.root / "keys-link.txt").symlink_to(outside / "keys.txt")
    assert toolbox.call("search", {"pattern": "token"}).content == "no matches"


def test_commands_see_no_secrets_and_live_in_the_workspace(
    toolbox: Toolbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-" + "k" * 30)
    dump = toolbox.call("run_command", {"argv": ["env"]})
    assert not dump.is_error
    assert TOKEN not in dump.content
    assert "sk-ant" not in dump.content
    assert "GITHUB_TOKEN" not in dump.content
    assert f"HOME={toolbox.root / '.tamma' / 'home'}" in dump.content


def test_long_output_is_capped_and_slow_commands_killed(tmp_path: Path) -> None:
    policy = ToolPolicy(
        test_command=(sys.executable, "-c", "import time; print('x' * 50_000, flush=True); time.sleep(30)"),
        command_timeout_s=1,
        output_cap=1_000,
    )
    result = Toolbox(tmp_path, policy, home=tmp_path / ".tamma").call("run_tests", {})
    assert result.tests is not None
    assert result.tests.timed_out
    assert not result.tests.passed
    assert "bytes cut" in result.content
    assert len(result.content) < 2_000


def test_bad_calls_are_tool_errors_not_crashes(toolbox: Toolbox) -> None:
    assert "unknown tool" in toolbox.call("rm_rf", {}).content
    invalid = toolbox.call("write_file", {"path": "a.py"})
    assert invalid.is_error
    assert "content" in invalid.content
    assert toolbox.call("read_file", {"path": "missing.py"}).is_error
    assert {spec.name for spec in toolbox.specs} == {
        "read_file",
        "write_file",
        "edit_file",
        "list_dir",
        "search",
        "run_tests",
        "run_command",
        "finish",
    }


@pytest.mark.parametrize(
    ("marker", "command"),
    [
        ("pyproject.toml", ("python", "-m", "pytest", "-q")),
        ("package.json", ("npm", "test")),
        ("go.mod", ("go", "test", "./...")),
        ("Cargo.toml", ("cargo", "test")),
    ],
)
def test_test_command_detection(tmp_path: Path, marker: str, command: tuple[str, ...]) -> None:
    (tmp_path / marker).write_text("")
    assert detect_test_command(tmp_path) == command


def test_undetectable_test_command_says_what_to_configure(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"agent\.test_command"):
        detect_test_command(tmp_path)
    assert detect_lint_command(tmp_path) is None
    (tmp_path / "app.py").write_text("")
    assert detect_lint_command(tmp_path) == ("python", "-m", "ruff", "check")


def test_a_same_length_edit_in_the_same_second_is_what_the_tests_run(tmp_path: Path) -> None:
    """Python trusts a cached `.pyc` whose source kept its size and mtime second; test runs in
    the workspace write no bytecode, so a quick `a - b` -> `a + b` fix is what runs next."""
    root = tmp_path / "workspace"
    root.mkdir()
    source = root / "calc.py"
    source.write_text("def add(a, b):\n    return a - b\n")
    check = "import calc, sys; sys.exit(0 if calc.add(1, 2) == 3 else 1)"
    policy = ToolPolicy(test_command=(sys.executable, "-c", check), command_timeout_s=30)
    toolbox = Toolbox(root, policy, home=root / ".tamma" / "home")
    assert not toolbox.run_tests().passed
    stamp = source.stat().st_mtime_ns
    toolbox.call("edit_file", {"path": "calc.py", "old_text": "a - b", "new_text": "a + b"})
    os.utime(source, ns=(stamp, stamp))  # the same second, as a fast model's edit would be
    assert toolbox.run_tests().passed
    assert not list(root.rglob("*.pyc"))
