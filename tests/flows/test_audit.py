"""History, time travel, diff and export over a recorded run, through the CLI and from events alone."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from event_store import AppendCondition, EventStore, NewEvent, Query
from flows.resolve_issue import resolve_in_process
from tamma import event_types as et
from tamma.audit.export import COLUMNS
from tamma.audit.history import snapshot, timeline
from tamma.demo.scenario import DemoWorld
from tamma.git import git
from tests.flows.test_cli_run import tamma

RUN = "r-a0d17001"


@pytest.fixture
def recorded(world: DemoWorld, home: Path) -> Path:
    result = resolve_in_process(
        world.issue_ref, run_id=RUN, auto_approve=True, script=str(world.script), ci_poll_s=0.1
    )
    assert result["outcome"] == "awaiting-merge"
    return home


def test_the_timeline_has_every_step_with_its_model_usage(recorded: Path) -> None:
    with EventStore(f"sqlite:///{recorded / 'events.db'}") as store:
        spans = timeline(store.read(Query.of(tags=[f"run:{RUN}"])))
    names = [span.name for span in spans]
    for expected in (
        "step claim",
        "step analyze",
        "step plan",
        "step implement",
        "  agent tests",
        "  agent fix",
        "step pull-request",
        "step watch-ci",
        "step fix-ci",
    ):
        assert expected in names, expected
    assert all(span.end is not None and span.ok for span in spans)
    analyze = next(span for span in spans if span.name == "step analyze")
    assert analyze.model_calls == 1
    implement = next(span for span in spans if span.name == "step implement")
    assert implement.model_calls == 9  # the scripted agent session: 9 answers


def test_time_travel_shows_the_run_as_it_was(recorded: Path) -> None:
    at_plan = tamma(recorded, "history", RUN, "--at", "plan")
    assert at_plan.returncode == 0, at_plan.stderr
    assert "phase: planned" in at_plan.stdout
    assert "files written: none yet" in at_plan.stdout
    assert "pull request" not in at_plan.stdout
    with EventStore(f"sqlite:///{recorded / 'events.db'}") as store:
        events = list(store.read(Query.of(tags=[f"run:{RUN}"])))
        fixed = next(
            e.position for e in events if e.type == et.AGENT_PHASE_COMPLETED and e.data["phase"] == "fix"
        )
        first_fix = snapshot(store, RUN, fixed)
        end = snapshot(store, RUN, events[-1].position)
    assert "return abs(a) + b" in first_fix.files["calc.py"]  # what the agent wrote then
    assert first_fix.state.pull_request is None
    assert "return a + b" in end.files["calc.py"]  # after the CI repair
    assert end.state.outcome == "awaiting-merge"

    timeline_out = tamma(recorded, "history", "local:shop#1")
    assert timeline_out.returncode == 0, timeline_out.stderr
    assert "step fix-ci" in timeline_out.stdout
    assert "awaiting-merge" in timeline_out.stdout

    changed = tamma(recorded, "diff", RUN, str(fixed), str(events[-1].position))
    assert changed.returncode == 0, changed.stderr
    assert "-    return abs(a) + b" in changed.stdout
    assert "+    return a + b" in changed.stdout
    assert "ci_fixes: 0 -> 1" in changed.stdout


def test_audit_export_in_three_formats(recorded: Path) -> None:
    as_jsonl = tamma(recorded, "audit", "export", "--run", RUN)
    assert as_jsonl.returncode == 0, as_jsonl.stderr
    lines = [json.loads(line) for line in as_jsonl.stdout.splitlines()]
    assert lines
    assert all(tuple(row) == COLUMNS for row in lines)
    assert [row["position"] for row in lines] == sorted(row["position"] for row in lines)
    assert {row["run"] for row in lines} == {RUN}
    assert any(row["summary"].startswith("pull request #1") for row in lines)
    as_json = json.loads(tamma(recorded, "audit", "export", "--run", RUN, "--format", "json").stdout)
    assert as_json == lines
    as_csv = list(
        csv.DictReader(
            io.StringIO(
                tamma(recorded, "audit", "export", "--issue", "local:shop#1", "--format", "csv").stdout
            )
        )
    )
    assert len(as_csv) >= len(lines)
    bad = tamma(recorded, "audit", "export", "--format", "xml")
    assert bad.returncode == 2
    assert "use jsonl, json or csv" in bad.stderr


def test_a_run_records_what_it_started_from(recorded: Path, world: DemoWorld) -> None:
    with EventStore(f"sqlite:///{recorded / 'events.db'}") as store:
        events = {e.type: e for e in store.read(Query.of(tags=[f"run:{RUN}"]))}
    selected = events[et.ISSUE_SELECTED]
    assert selected.data["title"] == world.platform.get_issue(1).title
    assert selected.data["body"].startswith("`calc.add(1, 2)` returns -1")
    opened = events[et.WORKSPACE_OPENED]
    assert opened.data["clone_url"] == str(world.platform.remote)
    assert opened.data["base_branch"] == "main"
    assert len(opened.data["base_sha"]) == 40
    repair = events[et.CI_FIX_ATTEMPTED]
    assert "assert 7 == -3" in repair.data["logs"]["tests"]


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def test_the_html_report_renders_in_headless_chromium(recorded: Path, tmp_path: Path) -> None:
    report = tmp_path / "run.html"
    written = tamma(recorded, "history", RUN, "--html", str(report))
    assert written.returncode == 0, written.stderr
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is needed for this test: .ci/run installs Debian's chromium package"
    common = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    for text in (
        f"Tamma run {RUN}",
        "awaiting-merge",
        "step implement",
        "agent fix",
        "Cost per step",
        "Tests first",
    ):
        assert text in dom.stdout, text
    shot = tmp_path / "run.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1100,1400", report.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    image = shot.read_bytes()
    assert image.startswith(b"\x89PNG")
    assert len(image) > 20_000  # a page with charts and tables, not a blank one


def test_capture_is_complete_and_the_run_rebuilds_from_events_alone(recorded: Path, world: DemoWorld) -> None:
    with EventStore(f"sqlite:///{recorded / 'events.db'}") as store:
        run_events = list(store.read(Query.of(tags=[f"run:{RUN}"])))
        everything = list(store.read(Query.all()))
        rebuilt = snapshot(store, RUN, run_events[-1].position)
    assert everything == run_events  # nothing of the run escaped its tags
    assert all("issue:local:shop#1" in e.tags for e in run_events)
    kinds = [e.type for e in run_events]
    captured = {
        "phase boundaries": (
            et.STEP_STARTED,
            et.STEP_FINISHED,
            et.AGENT_PHASE_STARTED,
            et.AGENT_PHASE_COMPLETED,
        ),
        "model exchanges": (et.AI_REQUEST_STARTED, et.AI_RESPONSE_RECEIVED),
        "tools": (et.TOOL_CALLED, et.TOOL_RESULT, et.CODE_FILE_WRITTEN, et.TESTS_RAN),
        "git": (et.WORKSPACE_OPENED, et.COMMIT_CREATED, et.BRANCH_PUSHED),
        "platform side effects": (et.COMMENT_POSTED, et.PR_CREATED),
        "approval": (et.APPROVAL_PROVIDED,),
        "CI": (et.CI_STATUS_CHANGED, et.CI_FIX_ATTEMPTED),
        "end": (et.MERGE_CHECKPOINT_REACHED, et.RUN_COMPLETED),
    }
    for what, types in captured.items():
        for kind in types:
            assert kind in kinds, f"{what}: {kind}"
    assert kinds.count(et.AI_REQUEST_STARTED) == kinds.count(et.AI_RESPONSE_RECEIVED) == 15
    assert kinds.count(et.TOOL_CALLED) == kinds.count(et.TOOL_RESULT)
    # From events alone: the pull request, the branch head and the files match the platform.
    pull = world.platform.find_pull_request(rebuilt.state.pull_request["head"])  # type: ignore[index]
    assert pull is not None
    assert rebuilt.state.pull_request["number"] == pull.number  # type: ignore[index]
    assert rebuilt.state.head_sha == pull.head_sha
    for path, content in rebuilt.files.items():
        assert git("show", f"{pull.head_sha}:{path}", cwd=world.platform.remote).stdout == content


def test_time_travel_at_each_step_equals_what_the_run_had_then(
    world: DemoWorld, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At every step and agent phase boundary the test looks at the world itself (the workspace
    on disk, the remote branch, the platform's pull requests and comments) while the run is
    still going; time travel to that position, from events alone, must show the same."""
    run = "r-a0d17002"
    seen: list[tuple[int, dict[str, object]]] = []

    class LookingStore(EventStore):
        def append(
            self, events: NewEvent | Iterable[NewEvent], condition: AppendCondition | None = None
        ) -> int:
            batch = [events] if isinstance(events, NewEvent) else list(events)
            position = super().append(batch, condition)
            if batch[-1].type in (et.STEP_FINISHED, et.AGENT_PHASE_COMPLETED):
                seen.append((position, _world_as_it_is(world, home, run)))
            return position

    monkeypatch.setattr("tasks._context.EventStore", LookingStore)
    resolve_in_process(
        world.issue_ref, run_id=run, auto_approve=True, script=str(world.script), ci_poll_s=0.1
    )

    assert len(seen) >= 12
    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        for position, then in seen:
            at = snapshot(store, run, position)
            pull = at.state.pull_request
            travelled = {
                "files": at.files,
                "pushed": at.state.head_sha,
                "pull_request": pull["number"] if pull else None,
                "comments": sorted(at.state.comments),
            }
            assert travelled == then, f"position {position}"


def _world_as_it_is(world: DemoWorld, home: Path, run: str) -> dict[str, object]:
    workspace = home / "workspaces" / "local-shop-1"
    remote = world.platform.remote
    branch = git("for-each-ref", "--format=%(refname:short)", "refs/heads/tamma/", cwd=remote).stdout.split()
    files: dict[str, str] = {}
    if workspace.exists():
        base = git("rev-parse", "main", cwd=remote).stdout.strip()
        changed = git("diff", "--name-only", base, cwd=workspace).stdout.split()
        changed += git("ls-files", "--others", "--exclude-standard", cwd=workspace).stdout.split()
        files = {path: (workspace / path).read_text() for path in changed}
    pull = world.platform.find_pull_request(branch[0]) if branch else None
    bodies = [comment.body for comment in world.platform.get_issue(1).comments]
    return {
        "files": files,
        "pushed": git("rev-parse", branch[0], cwd=remote).stdout.strip() if branch else None,
        "pull_request": pull.number if pull else None,
        "comments": sorted(
            p for p in ("plan", "questions", "escalation") if any(f"{run}-{p}" in b for b in bodies)
        ),
    }
