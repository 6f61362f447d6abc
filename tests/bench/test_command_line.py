"""`tamma bench` teaches itself with examples, and refuses bad input with one line and exit code 2
before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.conftest import run_tamma


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give task files or --offline"),
        (("tasks.yaml",), "tasks.yaml: task 1 (shop-1): FAIL_TO_PASS: Field required"),
        (("--offline", "--backend", "codex"), "--backend 'codex': use builtin or claude-code"),
        (("--offline", "-b", "claude-code"), "--model scripted answers only for the builtin backend"),
        (("tasks.yaml", "--model", "openai:qwen"), "use scripted, configured, MODEL"),
        (("--offline", "--out", "."), "is not empty; name a new directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "tasks.yaml").write_text("instance_id: shop-1\nrepo: .\ntitle: Crash\n")
    result = run_tamma(tmp_path / "home", "bench", *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("tamma: error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "home" / "bench").exists()


def test_help_teaches_with_examples(tmp_path: Path) -> None:
    result = run_tamma(tmp_path / "home", "bench", "--help")
    assert result.returncode == 0
    for example in (
        "tamma bench --offline",
        "-m claude-sonnet-4-5",
        "openai:qwen2.5-coder@http",
        "docs/bench.md",
    ):
        assert example in result.stdout
