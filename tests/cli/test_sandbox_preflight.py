"""The sandbox is checked before a command starts Prefect: a missing bubblewrap is one line
saying what to install, and an unconfined run is warned about."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import RunTamma


def test_a_run_without_bubblewrap_stops_before_it_starts(tamma: RunTamma, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    ran = tamma("run", "local:shop#1", env={"PATH": str(empty)})
    assert ran.returncode == 1
    assert ran.stderr.startswith("tamma: error: the sandbox needs bubblewrap")
    assert "apt-get install bubblewrap" in ran.stderr
    assert "sandbox: none" in ran.stderr
    assert "Traceback" not in ran.stderr + ran.stdout
    assert not (tmp_path / "home" / "events.db").exists()  # nothing was claimed or recorded


def test_an_unconfined_sandbox_is_warned_about(tamma: RunTamma) -> None:
    ran = tamma("replay", "r-00000000", env={"TAMMA_SANDBOX": "none"})
    assert "warning: sandbox: none: repository code" in ran.stderr
    assert ran.returncode != 0  # the run does not exist; the warning came first all the same
