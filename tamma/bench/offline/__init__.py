"""The offline task set `tamma bench --offline` runs: written out as ordinary task files.

Each shipped task (`_catalog`) becomes what a user's own task would be: a git repository at
its base commit, a task file naming it (with the hidden tests as a `test_patch`), and the
scripted model's session beside it. So the offline set goes through the same loading,
set-up, flow and judging as any other, and the files show the format by example.

The scripted answers carry nominal token counts (fixed per answer, no cost), so the offline
report fills every column; a real model's are measured.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tamma.bench.offline._catalog import CATALOG, OfflineTask
from tamma.demo.scenario import agent_settings, analysis_answer, plan_answer, sandbox_settings
from tamma.git import git
from tamma.providers import Response, Usage, save_script, scripted_tool_use
from tamma.sandbox import SandboxPolicy

__all__ = ["offline_overrides", "write_offline_tasks"]

ANALYSIS_REASONS = ["the issue names the function, an input and the expected result"]
PROMPT_TOKENS = 1_200
"""Nominal input tokens of a phase's first request; each later turn adds TURN_TOKENS."""
TURN_TOKENS = 300


def write_offline_tasks(root: Path) -> list[Path]:
    """Write every shipped task under `root` (`<id>.yaml`, `<id>/repo`, `<id>/session.json`);
    returns the task files."""
    root.mkdir(parents=True, exist_ok=True)
    return [_write(task, root) for task in CATALOG]


def offline_overrides(policy: SandboxPolicy) -> dict[str, dict[str, Any]]:
    """Settings the shipped tasks run with, as the demo's: this interpreter's pytest and ruff, and
    `policy` with pytest's plugin autoload off (the tasks need no plugin)."""
    return {"agent": agent_settings(), "sandbox": sandbox_settings(policy)}


def _write(task: OfflineTask, root: Path) -> Path:
    folder = root / task.instance_id
    repo = folder / "repo"
    _write_files(repo, task.files)
    git("init", "--quiet", "--initial-branch=main", cwd=repo)
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "-m", f"{task.instance_id}: the project before the fix", cwd=repo)
    base = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    save_script(_conversations(task), folder / "session.json")
    entry = {
        "instance_id": task.instance_id,
        "repo": f"{task.instance_id}/repo",
        "base_commit": base,
        "title": task.title,
        "body": task.body,
        "FAIL_TO_PASS": list(task.fail_to_pass),
        "PASS_TO_PASS": list(task.pass_to_pass),
        "test_patch": _test_patch(repo, task),
        "test_command": shlex.join([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]),
        "script": f"{task.instance_id}/session.json",
    }
    task_file = root / f"{task.instance_id}.yaml"
    task_file.write_text(
        yaml.dump(entry, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
    )
    return task_file


class _BlockDumper(yaml.SafeDumper):
    """Multi-line text (the test patch) as a literal block, so the task file reads like a diff."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_BlockDumper.add_representer(str, _text)


def _write_files(root: Path, files: Mapping[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def _test_patch(repo: Path, task: OfflineTask) -> str:
    """The hidden tests as a patch against the base commit; the repository stays at the base."""
    _write_files(repo, task.hidden_tests)
    git("add", "--all", cwd=repo)
    patch = git("diff", "--cached", "--no-color", cwd=repo).stdout
    git("reset", "--quiet", "--hard", "HEAD", cwd=repo)
    return patch


def _conversations(task: OfflineTask) -> dict[str, list[Response]]:
    """The model's side, by purpose and turn, as `ScriptedProvider` answers it."""
    answers: dict[str, list[Response]] = {
        "analysis": [_priced(analysis_answer(10, ANALYSIS_REASONS), 0)],
        "plan": [_priced(plan_answer(task.plan), 0)],
    }
    for phase, calls in task.calls.items():
        answers[phase] = [
            _priced(scripted_tool_use(name, arguments, tool_id=f"toolu_{phase}_{turn:02d}"), turn)
            for turn, (name, arguments) in enumerate(calls)
        ]
    return answers


def _priced(response: Response, turn: int) -> Response:
    """`response` with nominal usage: a longer conversation reads more, a longer answer says more."""
    said = len(json.dumps([block.model_dump(mode="json") for block in response.content]))
    usage = Usage(input_tokens=PROMPT_TOKENS + TURN_TOKENS * turn, output_tokens=max(1, said // 4))
    return response.model_copy(update={"usage": usage})
