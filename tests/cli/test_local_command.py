"""`tamma local init` and `tamma local issue` through the real console script."""

from __future__ import annotations

from pathlib import Path

from tamma.git import git
from tamma.platforms._local import LocalPlatform
from tests.cli.conftest import RunTamma


def test_init_a_plain_directory_and_file_issues_by_name_or_path(tamma: RunTamma, tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    (project / "app.py").write_text("print('hi')\n")
    created = tamma("local", "init", str(project), "--test-command", "python -c pass")
    assert created.returncode == 0, created.stderr
    assert "local platform 'shop'" in created.stdout
    by_name = tamma(
        "local", "issue", "shop", "--title", "Crash on start", "--body", "Trace...", "--label", "tamma"
    )
    by_path = tamma("local", "issue", str(project), "--title", "Second")
    assert (by_name.stdout.strip(), by_path.stdout.strip()) == ("local:shop#1", "local:shop#2")
    platform = LocalPlatform(tmp_path / "home" / "local" / "shop")
    assert [i.title for i in platform.list_issues(labels=["tamma"])] == ["Crash on start"]
    assert not (project / ".git").exists()  # the user's folder is copied, never made a repository
    listed = git("ls-tree", "--name-only", "main", cwd=platform.remote).stdout.split()
    assert listed == ["app.py"]


def test_clear_errors_for_missing_and_duplicate_platforms(tamma: RunTamma, tmp_path: Path) -> None:
    missing = tamma("local", "issue", "nowhere", "--title", "x")
    assert missing.returncode == 1
    assert "no local platform named or created from 'nowhere'" in missing.stderr
    assert "Traceback" not in missing.stderr
    (tmp_path / "p").mkdir()
    assert tamma("local", "init", str(tmp_path / "p")).returncode == 0
    again = tamma("local", "init", str(tmp_path / "p"))
    assert again.returncode == 1
    assert "already exists" in again.stderr
