"""Bench task files: an issue to resolve, where its code is, and the hidden tests that judge it.

A task file is YAML or JSON holding one task or a list of them, or JSON Lines (`.jsonl`) with
one task per line. Field names follow SWE-bench's instances where they fit, so a SWE-bench
set converts by pointing `repo` at a clone and naming the test command:

    instance_id: shop-7               # unique in the set
    repo: ../shop                     # a git repository: a path (relative to this file),
                                      # a file:// or https:// URL; owner/name means GitHub
    base_commit: 1a2b3c4              # default: the repository's HEAD
    problem_statement: |              # or `title` and `body`; the title defaults to its first line
      Totals are wrong ...
    FAIL_TO_PASS: [tests/test_total.py::test_refund]   # must fail at base_commit, pass on the PR
    PASS_TO_PASS: [tests/test_total.py::test_empty]    # must pass on both
    test_patch: |                     # the hidden tests: applied only to judge, never shown
      diff --git a/tests/test_total.py b/tests/test_total.py ...
    test_command: python -m pytest -q # Tamma's: what CI and the judge run (test ids appended)
    script: shop-7.session.json       # Tamma's: a scripted model's answers (--model scripted)

SWE-bench's other fields (patch, hints_text, version, ...) are ignored. FAIL_TO_PASS and
PASS_TO_PASS may also be JSON-encoded strings, as the published datasets store them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tamma.errors import ConfigError

__all__ = ["TASK_SUFFIXES", "BenchInputError", "BenchTask", "load_tasks"]

TASK_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")
TITLE_CHARS = 120
DEFAULT_TEST_COMMAND = "python -m pytest -q"
_GITHUB_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


class BenchInputError(ConfigError):
    """A task file or a bench option that cannot be used; the message says which and why."""


class BenchTask(BaseModel):
    """One task: SWE-bench's names (FAIL_TO_PASS, ...) or their lower-case forms both work."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    instance_id: str = Field(min_length=1)
    repo: str = Field(min_length=1)
    """Resolved on load: an absolute path, or a URL git can clone."""
    base_commit: str | None = None
    title: str = ""
    body: str = ""
    problem_statement: str = ""
    fail_to_pass: tuple[str, ...] = Field(alias="FAIL_TO_PASS", min_length=1)
    pass_to_pass: tuple[str, ...] = Field(default=(), alias="PASS_TO_PASS")
    test_patch: str = ""
    test_command: str = DEFAULT_TEST_COMMAND
    script: Path | None = None
    """Resolved on load to an absolute path."""

    @field_validator("fail_to_pass", "pass_to_pass", mode="before")
    @classmethod
    def _json_encoded_lists(cls, value: Any) -> Any:
        """SWE-bench's datasets store these lists as JSON text."""
        return json.loads(value) if isinstance(value, str) and value.lstrip().startswith("[") else value

    @field_validator("repo")
    @classmethod
    def _locate_repository(cls, repo: str, info: ValidationInfo) -> str:
        if "://" in repo:
            return repo
        path = (_base_dir(info) / repo).expanduser()
        if path.exists():
            return str(path.resolve())
        if _GITHUB_NAME.fullmatch(repo):
            return f"https://github.com/{repo}.git"
        raise ValueError(f"no repository at {path}")

    @field_validator("script")
    @classmethod
    def _locate_script(cls, script: Path | None, info: ValidationInfo) -> Path | None:
        if script is None:
            return None
        path = (_base_dir(info) / script).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"no script file at {path}")
        return path

    @model_validator(mode="after")
    def _some_issue_text(self) -> BenchTask:
        if not self.problem_statement.strip() and not self.title.strip():
            raise ValueError("give problem_statement, or title (and body)")
        return self

    @property
    def issue_title(self) -> str:
        """`title`, else the problem statement's first line (shortened)."""
        if self.title.strip():
            return self.title.strip()
        first = next(line.strip() for line in self.problem_statement.splitlines() if line.strip())
        return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1] + "…"

    @property
    def issue_body(self) -> str:
        """`body`, else the whole problem statement."""
        return self.body if self.body.strip() else self.problem_statement


def _base_dir(info: ValidationInfo) -> Path:
    """Where the task file is: relative paths in it start there."""
    context = info.context or {}
    return Path(context.get("base_dir", "."))


def load_tasks(paths: Iterable[Path]) -> list[BenchTask]:
    """The tasks of every file, and of every task file directly inside each directory, in order.
    Raises BenchInputError naming the file and the task for anything unreadable or invalid."""
    tasks: list[BenchTask] = []
    for file in _task_files(paths):
        tasks.extend(_read(file))
    if not tasks:
        raise BenchInputError("no tasks: give task files (YAML, JSON or JSON Lines) or --offline")
    seen: set[str] = set()
    for task in tasks:
        if task.instance_id in seen:
            raise BenchInputError(f"instance_id {task.instance_id!r} appears twice in the task set")
        seen.add(task.instance_id)
    return tasks


def _task_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix in TASK_SUFFIXES and p.is_file())
        elif path.is_file():
            yield path
        else:
            raise BenchInputError(f"{path}: no such task file or directory")


def _read(file: Path) -> list[BenchTask]:
    try:
        text = file.read_text()
        if file.suffix == ".jsonl":
            entries: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            entries = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchInputError(f"{file}: cannot read it as a task file ({detail})") from None
    entries = entries if isinstance(entries, list) else [entries]
    return [_task(file, number, entry) for number, entry in enumerate(entries, 1)]


def _task(file: Path, number: int, entry: Any) -> BenchTask:
    name = entry.get("instance_id") if isinstance(entry, dict) else None
    where = f"{file}: task {number}" + (f" ({name})" if name else "")
    if not isinstance(entry, dict):
        raise BenchInputError(f"{where}: expected a mapping of fields, got {type(entry).__name__}")
    try:
        return BenchTask.model_validate(entry, context={"base_dir": file.parent})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'task'}: {error['msg']}" for error in exc.errors()
        )
        raise BenchInputError(f"{where}: {problems}") from None
