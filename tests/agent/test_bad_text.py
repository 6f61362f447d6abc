"""Text with a NUL or a lone surrogate (an issue title, a file in the repository) never reaches
git or a tool result as such: it is mapped the way the event store stores it, so a run goes
on, and a replay, which reads the issue from the store, commits and asks exactly the same."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from event_store import NewEvent
from tamma.agent.tools import BINARY_SNIFF_BYTES, Toolbox, ToolPolicy
from tamma.agent.workspace import Workspace, branch_name
from tamma.git import git, message_text
from tests.agent.test_workspace import make_remote
from tests.platforms.local_repo import make_local_platform, push_commit

BAD_TITLE = "Crash on \x00 and \ud800 input"
SHOWN_TITLE = "Crash on \u2400 and \ufffd input"


def as_stored(text: str) -> str:
    return str(NewEvent("X", {"text": text}).data["text"])


@pytest.mark.parametrize("text", [BAD_TITLE, "\x00" * 3, "\udfff\ud83d", "a\u2400b", "café 😀", ""])
def test_git_messages_use_the_event_stores_mapping(text: str) -> None:
    assert message_text(text) == as_stored(text)
    assert message_text(message_text(text)) == message_text(text)


def test_a_commit_message_with_nul_and_a_lone_surrogate_is_committed(tmp_path: Path) -> None:
    remote = make_remote(tmp_path / "remote.git")
    branch = branch_name(7, BAD_TITLE)
    assert branch == "tamma/issue-7-crash-on-and-input"
    workspace = Workspace.open(
        root=tmp_path / "workspaces",
        key="local-demo-7",
        clone_url=str(remote),
        branch=branch,
        base_branch="main",
    )
    (workspace.path / "fix.txt").write_text("fixed\n")

    sha = workspace.commit(f"Fix local:demo#7: {BAD_TITLE}")

    assert sha is not None
    shown = git("log", "-1", "--format=%B", sha, cwd=workspace.path).stdout.strip()
    assert shown == f"Fix local:demo#7: {SHOWN_TITLE}"


def test_the_local_tracker_takes_any_text_and_merges_a_pull_request_titled_with_it(tmp_path: Path) -> None:
    """A NUL is kept as a forge would return it; a lone surrogate, which sqlite3 cannot bind
    and no JSON request can carry, is stored as U+FFFD."""
    kept = "Crash on \x00 and \ufffd input"
    platform = make_local_platform(tmp_path)
    issue = platform.create_issue(BAD_TITLE, f"body {BAD_TITLE}", labels=["label \ud800"])
    platform.add_comment(issue.ref.number, f"comment {BAD_TITLE}")
    platform.add_labels(issue.ref.number, ["more \x00"])
    platform.remove_labels(issue.ref.number, ["label \ud800"])

    fetched = platform.get_issue(issue.ref.number)

    assert (fetched.title, fetched.body) == (kept, f"body {kept}")
    assert [c.body for c in fetched.comments] == [f"comment {kept}"]
    assert fetched.labels == ("more \x00",)
    push_commit(platform, tmp_path, "fix", {"fixed.txt": "fixed\n"})
    pull = platform.open_pull_request(title=BAD_TITLE, body=BAD_TITLE, head="fix", base="main")
    assert pull.title == kept
    merged = platform.merge(pull.number)
    shown = git("log", "-1", "--format=%s", merged, cwd=platform.remote).stdout.strip()
    assert shown == f"{SHOWN_TITLE} (#{pull.number})"


@pytest.fixture
def toolbox(tmp_path: Path) -> Toolbox:
    root = tmp_path / "workspace"
    root.mkdir()
    return Toolbox(root, ToolPolicy(test_command=(sys.executable, "-c", "pass")))


def test_a_nul_past_the_binary_sniff_is_shown_as_the_store_keeps_it(toolbox: Toolbox) -> None:
    text = "x" * BINARY_SNIFF_BYTES + "\nbefore \x00 after \xff\n"
    (toolbox.root / "late.txt").write_bytes(text.encode("latin-1"))

    read = toolbox.call("read_file", {"path": "late.txt"})
    found = toolbox.call("search", {"pattern": "before"})

    assert not read.is_error
    assert read.content.endswith("\nbefore \u2400 after \ufffd\n")
    assert found.content == "late.txt:2: before \u2400 after \ufffd"
    assert as_stored(read.content) == read.content
    assert as_stored(found.content) == found.content


def test_a_binary_file_is_named_not_shown(toolbox: Toolbox) -> None:
    (toolbox.root / "blob.bin").write_bytes(b"\x00\xff\xfe" * 10)

    read = toolbox.call("read_file", {"path": "blob.bin"})

    assert read.is_error
    assert read.content == "blob.bin: binary file (30 bytes), not shown"
