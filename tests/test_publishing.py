"""Redaction at every exit: published text, Prefect's log handlers, error messages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tamma.platforms import GuardedPlatform, LocalPlatform, init_local_platform, marker
from tamma.publishing import Publisher, redact_exception, redact_logs
from tamma.redaction import MASK, Redactor

TOKEN = "corp-deploy-credential-4q9z7"
"""A configured secret with no recognisable shape: only its value can catch it."""
AWS_KEY = "AKIA" + "QWERTYUIOPASDFGH"
ZERO_WIDTH = "\u200b"


@pytest.fixture
def refusals() -> list[tuple[str, list[str]]]:
    return []


@pytest.fixture
def publisher(refusals: list[tuple[str, list[str]]]) -> Publisher:
    return Publisher(Redactor([TOKEN]), lambda where, leaks: refusals.append((where, leaks)))


@pytest.fixture
def platform(tmp_path: Path, publisher: Publisher) -> GuardedPlatform:
    source = tmp_path / "source"
    source.mkdir()
    (source / "README.md").write_text("shop\n")
    local = init_local_platform(source, tmp_path / "platform")
    local.create_issue("Totals are wrong", "add() subtracts")
    return GuardedPlatform(local, publisher)


def test_published_text_is_redacted(publisher: Publisher, refusals: list[tuple[str, list[str]]]) -> None:
    text = publisher.text("comment", f"the token is {TOKEN} and the key {AWS_KEY}")
    assert text == f"the token is {MASK} and the key {MASK}"
    assert refusals == []


@pytest.mark.parametrize(
    "disguised",
    [" ".join(TOKEN), ZERO_WIDTH.join(TOKEN), TOKEN.upper(), "`" + TOKEN[:8] + "`" + TOKEN[8:]],
    ids=["spaced out", "zero-width", "upper case", "split by markdown"],
)
def test_text_still_holding_a_secret_is_withheld_with_its_markers(
    publisher: Publisher, refusals: list[tuple[str, list[str]]], disguised: str
) -> None:
    hidden = marker("r-1a2b3c4d-plan")
    text = publisher.text("comment", f"### Plan\n\nuse {disguised}\n\n{hidden}")
    assert text.startswith("[Tamma withheld this comment")
    assert hidden in text  # a retry still finds the comment it posted
    assert TOKEN.lower() not in text.lower().replace(" ", "").replace(ZERO_WIDTH, "")
    assert [where for where, _ in refusals] == ["comment"]
    assert "configured secret #1" in refusals[0][1][0]


def test_every_write_of_a_guarded_platform_is_published_through_it(
    platform: GuardedPlatform, refusals: list[tuple[str, list[str]]]
) -> None:
    platform.add_comment(1, f"deploy with {TOKEN}")
    platform.add_comment(1, f"or with {' '.join(TOKEN)}")
    pull = platform.open_pull_request(
        title=f"[Tamma] fix {AWS_KEY}", body=f"Plan: rotate {TOKEN}", head="main", base="main"
    )
    platform.add_labels(1, [f"key-{TOKEN}"])
    assert isinstance(platform.inner, LocalPlatform)
    stored = platform.inner.get_issue(1)
    comments = [comment.body for comment in stored.comments]
    assert comments[0] == f"deploy with {MASK}"
    assert comments[1].startswith("[Tamma withheld this comment")
    assert (pull.title, pull.body) == (f"[Tamma] fix {MASK}", f"Plan: rotate {MASK}")
    assert f"key-{MASK}" in stored.labels
    assert [where for where, _ in refusals] == ["comment"]


def test_log_records_are_redacted_by_prefects_handlers(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("prefect.flow_runs")
    handler = caplog.handler
    logger.addHandler(handler)
    try:
        redact_logs(Redactor([TOKEN]))
        redact_logs(Redactor([TOKEN]))  # a second run of the process replaces the filter
        assert sum(1 for f in handler.filters if type(f).__name__ == "_RedactingFilter") == 1
        logger.error("cloning with %s", TOKEN)
        try:
            raise RuntimeError(f"push failed for {TOKEN}")
        except RuntimeError:
            logger.exception("the step failed")
    finally:
        logger.removeHandler(handler)
    logged = caplog.text
    assert TOKEN not in logged
    assert f"cloning with {MASK}" in logged
    assert f"push failed for {MASK}" in logged


def test_an_errors_message_and_its_causes_are_redacted_in_place() -> None:
    error = ValueError(f"the model said {TOKEN}", 42)
    error.__cause__ = OSError(f"connect failed with {TOKEN}")
    redact_exception(error, Redactor([TOKEN]))
    assert error.args == (f"the model said {MASK}", 42)
    assert isinstance(error.__cause__, OSError)
    assert str(error.__cause__) == f"connect failed with {MASK}"
