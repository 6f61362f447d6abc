"""Bad data never kills a run: an issue whose title, body and comment hold a NUL and a lone
surrogate is resolved end to end on PostgreSQL (whose JSONB refuses U+0000), its commits and
pull request made, and its events stored with the text made visible."""

from __future__ import annotations

from pathlib import Path

import pytest

from event_store import EventStore, Query
from flows.resolve_issue import resolve_in_process
from tamma import event_types as et
from tamma.demo.scenario import ISSUE_BODY, ISSUE_TITLE, build_world
from tamma.git import git
from tests.conftest import empty_postgres

BAD = " \x00 \ud800"
SHOWN = " \u2400 \ufffd"


def test_an_issue_with_nul_and_lone_surrogates_reaches_the_merge_checkpoint(
    home: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_postgres(postgres_url)
    monkeypatch.setenv("TAMMA_DATABASE_URL", postgres_url)
    world = build_world(home, ci_failure=False)
    issue = world.platform.create_issue(ISSUE_TITLE + BAD, ISSUE_BODY + BAD, labels=["tamma", "bug"])
    world.platform.add_comment(issue.ref.number, f"Seen with{BAD} in the input")

    result = resolve_in_process(str(issue.ref), auto_approve=True, script=str(world.script), ci_poll_s=0.1)

    assert result["outcome"] == "awaiting-merge", result
    pull = world.platform.find_pull_request(result["pull_request"]["head"])
    assert pull is not None
    assert pull.head == "tamma/issue-2-invoice-totals-are-wrong-add-subtracts"
    messages = git("log", "--format=%s", f"main..{pull.head_sha}", cwd=world.platform.remote).stdout
    assert f"Fix {issue.ref}: {ISSUE_TITLE}{SHOWN}" in messages.splitlines()
    with EventStore(postgres_url) as store:
        run = list(store.read(Query.of(tags=[f"run:{result['run_id']}"])))
    assert run[-1].type == et.RUN_COMPLETED
    stored = "\n".join(str(event.data) for event in run)
    assert ISSUE_TITLE + SHOWN in stored
    assert "\x00" not in stored
