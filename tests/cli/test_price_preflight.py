"""A Claude Code run whose model has no price stops before it starts: its spend could not be
counted against the budget, and a run that counts it as $0 has no budget at all."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import RunTamma

UNPRICED = {"backend": "claude-code", "claude_code": {"model": "claude-nonesuch-9"}}


def test_a_claude_code_run_on_an_unpriced_model_stops_in_one_line(tamma: RunTamma, tmp_path: Path) -> None:
    ran = tamma("run", "local:shop#1", env={"TAMMA_AGENT": json.dumps(UNPRICED)})
    assert ran.returncode == 1
    assert ran.stderr.startswith(
        "tamma: error: no price for model 'claude-nonesuch-9' (agent.claude_code.model)"
    )
    assert "prices:" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "home" / "events.db").exists()  # nothing was claimed or recorded


def test_a_price_in_the_settings_lets_it_start(tamma: RunTamma, tmp_path: Path) -> None:
    prices = {"claude-nonesuch-9": {"input": 3, "output": 15}}
    ran = tamma(
        "run",
        "local:shop#1",
        env={"TAMMA_AGENT": json.dumps(UNPRICED), "TAMMA_PRICES": json.dumps(prices)},
    )
    assert "no price" not in ran.stderr  # it went past the check (and stops later: no such issue)
    assert ran.returncode != 0
