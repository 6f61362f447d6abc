"""Finding a repository's test and lint commands when configuration does not name them.

The markers are the ones each ecosystem's own tooling looks for; the first match wins, in
the order below. A repository matching none needs `agent.test_command` in tamma.yaml.
"""

from __future__ import annotations

from pathlib import Path

from tamma.errors import ConfigError

__all__ = ["detect_lint_command", "detect_test_command"]

_TEST_COMMANDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini"), ("python", "-m", "pytest", "-q")),
    (("package.json",), ("npm", "test")),
    (("go.mod",), ("go", "test", "./...")),
    (("Cargo.toml",), ("cargo", "test")),
)


def detect_test_command(root: Path) -> tuple[str, ...]:
    for markers, command in _TEST_COMMANDS:
        if any((root / marker).exists() for marker in markers):
            return command
    if any(root.glob("test_*.py")) or (root / "tests").is_dir():
        return ("python", "-m", "pytest", "-q")
    raise ConfigError(
        f"cannot tell how to run the tests of {root.name}: set agent.test_command in tamma.yaml "
        "(e.g. test_command: [python, -m, pytest, -q])"
    )


def detect_lint_command(root: Path) -> tuple[str, ...] | None:
    """`ruff check` for Python repositories; None (no lint phase) for others unless configured."""
    python = any(root.glob("*.py")) or any((root / marker).exists() for marker in _TEST_COMMANDS[0][0])
    return ("python", "-m", "ruff", "check") if python else None
