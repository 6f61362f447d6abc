"""The demo's world: a small Python project with a real bug, its local platform and issue, and
the scripted model session that resolves it.

The bug: `calc.add` subtracts. The scripted session analyzes the issue, plans, writes a test
that fails, and fixes the code. With `ci_failure`, the first fix only handles positive
numbers: the agent's own suite (tests/) passes, but CI also runs integration/ and fails on a
negative number; the CI repair then fixes it for good. Every step really runs: git, pytest,
ruff, the local CI runner. Only the model's answers are canned.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from tamma.agent.answers import ANALYSIS
from tamma.agent.answers import PLAN as PLAN_FORM
from tamma.platforms import LocalPlatform, init_local_platform
from tamma.providers import Response, save_script, scripted_tool_use
from tamma.sandbox import SandboxPolicy

__all__ = [
    "DemoWorld",
    "agent_settings",
    "analysis_answer",
    "build_world",
    "conversations",
    "plan_answer",
    "sandbox_settings",
    "session",
]

CALC = '''"""Arithmetic for the shop's invoices."""


def add(a: int, b: int) -> int:
    """The sum of a and b."""
    return a - b


def total(amounts: list[int]) -> int:
    """The sum of all amounts."""
    result = 0
    for amount in amounts:
        result = add(result, amount)
    return result
'''
EXISTING_TEST = """from calc import total


def test_total_of_nothing_is_zero() -> None:
    assert total([]) == 0
"""
INTEGRATION_TEST = """from calc import total


def test_a_refund_can_exceed_the_sale() -> None:
    assert total([-5, 2]) == -3
"""
NEW_TEST = """from calc import add, total


def test_add_adds() -> None:
    assert add(1, 2) == 3


def test_total_sums_amounts() -> None:
    assert total([1, 2, 3]) == 6
"""
ISSUE_TITLE = "Invoice totals are wrong: add() subtracts"
ISSUE_BODY = """`calc.add(1, 2)` returns -1 instead of 3, so every invoice total is wrong.

Steps: `python -c "import calc; print(calc.add(1, 2))"` prints -1. Expected 3."""
PLAN = """**Cause.** `calc.add` returns `a - b`; `total` builds on it, so totals are wrong too.

**Tests first.** Add `tests/test_add.py`: `add(1, 2) == 3` and `total([1, 2, 3]) == 6`. Both fail today.

**Fix.** Make `add` return the sum. No other function changes.

**Risk.** Low: `add` has no other callers than `total`."""


def test_command() -> tuple[str, ...]:
    """The agent's suite: the unit tests (CI runs the integration tests too)."""
    return (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")


def agent_settings() -> dict[str, object]:
    """The demo's `agent:` settings (as TAMMA_AGENT): this interpreter's pytest and ruff."""
    return {
        "test_command": list(test_command()),
        "lint_command": [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated"],
        "command_timeout_s": 120,
    }


def sandbox_settings(policy: SandboxPolicy | None = None) -> dict[str, Any]:
    """The demo's `sandbox:` settings (as TAMMA_SANDBOX): `policy` with pytest's plugin autoload
    off. The demo's tests need no plugin, and the ones installed beside Tamma (hypothesis above
    all) would cost a second at each of its many test runs."""
    policy = policy or SandboxPolicy()
    return replace(policy, env={**policy.env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}).describe()


class DemoWorld:
    def __init__(self, platform: LocalPlatform, script: Path) -> None:
        self.platform, self.script = platform, script

    @property
    def issue_ref(self) -> str:
        return f"local:{self.platform.repo}#1"


def build_world(home: Path, *, ci_failure: bool = True, name: str = "shop") -> DemoWorld:
    """The project, its local platform under `home` (CI: the whole suite), the issue, the script."""
    source = home / "demo-src" / name
    (source / "tests").mkdir(parents=True)
    (source / "integration").mkdir()
    (source / "calc.py").write_text(CALC)
    (source / "tests" / "test_total.py").write_text(EXISTING_TEST)
    (source / "integration" / "test_refunds.py").write_text(INTEGRATION_TEST)
    (source / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0.1.0"\n')
    ci = f"{sys.executable} -m pytest -q -p no:cacheprovider"
    platform = init_local_platform(source, home / "local" / name, test_command=ci)
    platform.create_issue(ISSUE_TITLE, ISSUE_BODY, labels=["tamma", "bug"], author="alice")
    script = save_script(conversations(ci_failure=ci_failure), home / f"{name}-session.json")
    return DemoWorld(platform, script)


def conversations(*, ci_failure: bool = True, ambiguity: int = 10) -> dict[str, list[Response]]:
    """The model's side of the demo, by purpose and turn (see `ScriptedProvider`): a run killed
    anywhere and started again gets the answers its resumed prompts ask for."""
    first_fix = "abs(a) + b" if ci_failure else "a + b"
    calls: dict[str, list[tuple[str, dict[str, object]]]] = {
        "tests": [
            ("list_dir", {"path": "."}),
            ("read_file", {"path": "calc.py"}),
            ("write_file", {"path": "tests/test_add.py", "content": NEW_TEST}),
            ("run_tests", {}),
            ("finish", {"summary": "tests/test_add.py shows add(1, 2) == -1 and a wrong total"}),
        ],
        "fix": [
            ("edit_file", {"path": "calc.py", "old_text": "return a - b", "new_text": f"return {first_fix}"}),
            ("run_tests", {}),
            ("finish", {"summary": f"add() returns {first_fix}"}),
        ],
        "refactor": [("finish", {"summary": "the change is one line; nothing to refactor"})],
    }
    if ci_failure:
        calls["ci-fix"] = [
            ("read_file", {"path": "calc.py"}),
            ("edit_file", {"path": "calc.py", "old_text": "return abs(a) + b", "new_text": "return a + b"}),
            ("run_tests", {}),
            ("finish", {"summary": "abs() broke negative amounts (refunds); add() returns a + b"}),
        ]
    numbered = enumerate((call for phase_calls in calls.values() for call in phase_calls), 1)
    tool_uses = [
        scripted_tool_use(name, arguments, tool_id=f"toolu_demo_{n:02d}") for n, (name, arguments) in numbered
    ]
    answers: dict[str, list[Response]] = {
        "analysis": [analysis_answer(ambiguity, ["clear steps and expected value"])],
        "plan": [plan_answer(PLAN)],
    }
    for phase, phase_calls in calls.items():
        answers[phase], tool_uses = tool_uses[: len(phase_calls)], tool_uses[len(phase_calls) :]
    return answers


def analysis_answer(ambiguity: int, reasons: list[str], questions: list[str] | None = None) -> Response:
    """A model's analysis of an issue, in the form the analysis step asks for."""
    analysis = {"ambiguity": ambiguity, "reasons": reasons, "questions": questions or []}
    return scripted_tool_use(ANALYSIS.tool_name, analysis, tool_id="toolu_analysis")


def plan_answer(plan: str) -> Response:
    """A model's plan, in the form the planning step asks for."""
    return scripted_tool_use(PLAN_FORM.tool_name, {"plan": plan}, tool_id="toolu_plan")


def session(*, ci_failure: bool = True, ambiguity: int = 10) -> list[Response]:
    """The same answers as one list, in the order the demo asks for them."""
    return [
        answer
        for turns in conversations(ci_failure=ci_failure, ambiguity=ambiguity).values()
        for answer in turns
    ]
