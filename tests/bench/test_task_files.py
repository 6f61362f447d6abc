"""Task files: SWE-bench instances convert as they are, and bad files say what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tamma.bench.task_files import BenchInputError, load_tasks
from tests.bench.conftest import commit_files

PROBLEM = "Totals are wrong for refunds\n\n`total([-5, 2])` returns 7; expected -3."


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    commit_files(tmp_path / "shop", {"calc.py": "def total(xs):\n    return sum(map(abs, xs))\n"}, "base")
    return tmp_path / "shop"


def test_a_swe_bench_instance_converts_as_it_is(tmp_path: Path, repo: Path) -> None:
    instance = {
        "instance_id": "shop__shop-7",
        "repo": "shop",
        "base_commit": "abc1234",
        "problem_statement": PROBLEM,
        "FAIL_TO_PASS": '["tests/test_calc.py::test_refund"]',  # JSON text, as the datasets store it
        "PASS_TO_PASS": '["tests/test_calc.py::test_empty"]',
        "test_patch": "diff --git a/tests/test_calc.py b/tests/test_calc.py\n",
        "patch": "the gold patch: ignored",
        "hints_text": "",
        "version": "1.0",
    }
    (tmp_path / "swe.json").write_text(json.dumps([instance]))
    [task] = load_tasks([tmp_path / "swe.json"])
    assert task.instance_id == "shop__shop-7"
    assert task.repo == str(repo)  # relative to the task file
    assert task.base_commit == "abc1234"
    assert task.fail_to_pass == ("tests/test_calc.py::test_refund",)
    assert task.pass_to_pass == ("tests/test_calc.py::test_empty",)
    assert task.issue_title == "Totals are wrong for refunds"
    assert task.issue_body == PROBLEM
    assert task.test_command == "python -m pytest -q"


def test_yaml_lists_json_lines_and_directories_load_in_order(tmp_path: Path, repo: Path) -> None:
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "a.yaml").write_text(
        "- {instance_id: one, repo: ../shop, title: One, body: b, fail_to_pass: [t::one]}\n"
        "- {instance_id: two, repo: ../shop, title: Two, FAIL_TO_PASS: [t::two], test_command: make check}\n"
    )
    lines = [{"instance_id": "three", "repo": "acme/shop", "problem_statement": "x", "FAIL_TO_PASS": ["t"]}]
    (tmp_path / "set" / "b.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    (tmp_path / "set" / "notes.txt").write_text("not a task file")
    tasks = load_tasks([tmp_path / "set"])
    assert [task.instance_id for task in tasks] == ["one", "two", "three"]
    assert tasks[0].issue_title == "One"
    assert tasks[0].issue_body == "b"
    assert tasks[1].test_command == "make check"
    assert tasks[2].repo == "https://github.com/acme/shop.git"  # SWE-bench's owner/name


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("instance_id: [unclosed", "cannot read it as a task file"),
        ("instance_id: x\nrepo: shop\ntitle: t\n", "task 1 (x): FAIL_TO_PASS: Field required"),
        ("instance_id: x\nrepo: shop\nFAIL_TO_PASS: [t]\n", "give problem_statement, or title"),
        (
            "instance_id: x\nrepo: nowhere\ntitle: t\nFAIL_TO_PASS: [t]\n",
            "repo: Value error, no repository at",
        ),
        ("instance_id: x\nrepo: shop\ntitle: t\nFAIL_TO_PASS: [t]\nscript: gone.json\n", "no script file at"),
        ("- just text\n", "task 1: expected a mapping of fields, got str"),
    ],
)
def test_a_bad_task_file_names_the_file_the_task_and_the_problem(
    tmp_path: Path, repo: Path, content: str, message: str
) -> None:
    (tmp_path / "tasks.yaml").write_text(content)
    with pytest.raises(BenchInputError, match=r"tasks\.yaml") as raised:
        load_tasks([tmp_path / "tasks.yaml"])
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_task_set_with_a_duplicate_or_no_task_is_refused(tmp_path: Path, repo: Path) -> None:
    task = "{instance_id: same, repo: shop, title: t, FAIL_TO_PASS: [t]}"
    (tmp_path / "twice.yaml").write_text(f"- {task}\n- {task}\n")
    with pytest.raises(BenchInputError, match="'same' appears twice"):
        load_tasks([tmp_path / "twice.yaml"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchInputError, match="no tasks"):
        load_tasks([tmp_path / "empty"])
    with pytest.raises(BenchInputError, match="no such task file"):
        load_tasks([tmp_path / "missing.yaml"])
