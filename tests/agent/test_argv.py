"""The argv check: what an allowlisted program may be asked to do, and what it is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tamma.agent._argv import check_argv
from tamma.agent._claude_policy import refusal
from tamma.agent._paths import Refused
from tamma.agent.tools import ToolPolicy

ALLOWED = frozenset(
    {"ls", "cat", "grep", "wc", "cp", "tee", "sort", "find", "git", "npm", "npx", "make"}
    | {"python", "python3", "python3.11", "pytest", "perl", "node", "ruby"}
    | {"sh", "env", "xargs", "timeout", "sed", "awk"}  # configured, and refused all the same
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    workspace = tmp_path / "workspace"
    (workspace / "tests").mkdir(parents=True)
    (workspace / ".git").mkdir()
    (workspace / "tests" / "run.py").write_text("print('ok')\n")
    (tmp_path / "elsewhere").mkdir()
    (workspace / "outside").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    return workspace


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        # plain programs, with paths inside the workspace
        (["ls", "-la"], None),
        (["ls", "{root}/tests"], None),
        (["cat", "tests/run.py"], None),
        (["grep", "-rn", "TODO", "."], None),
        (["wc", "-l", "tests/../tests/run.py"], "'..' segment"),
        (["find", ".", "-name", "*.py"], None),
        (["perl", "tests/check.pl"], None),
        (["node", "tests/run.js"], None),
        # arguments reaching out, or into .git/
        (["ls", "/etc"], "outside the workspace"),
        (["cat", "../secret.txt"], "outside the workspace"),
        (["cat", "~/.ssh/id_rsa"], "absolute"),
        (["cat", "outside/secret.txt"], "outside the workspace"),
        (["grep", "-r", "x", "--include=/etc/*"], "outside the workspace"),
        (["cp", "evil.sh", ".git/hooks/pre-commit"], ".git/"),
        (["tee", ".GIT/config"], ".git/"),
        (["ls", "a\0b"], "NUL"),
        (["ls", "\ud800"], "not valid Unicode"),
        ([], "needs a program"),
        # the allowlist, by bare name only
        (["curl", "https://example.com"], "not an allowed command"),
        (["/bin/ls", "-la"], "name the program without a path"),
        (["./ls"], "name the program without a path"),
        # shells, launchers and programs that run scripts: refused even when configured
        (["sh", "-c", "id"], "a shell runs any command line"),
        (["env", "python", "tests/run.py"], "run printenv"),
        (["xargs", "rm"], "run that program directly"),
        (["timeout", "5", "pytest"], "run that program directly"),
        (["sed", "-i", "s/a/b/", "tests/run.py"], "edit_file"),
        (["awk", "{print}", "tests/run.py"], "read_file"),
        (["make", "test"], "agent.test_command"),
        (["npx", "jest"], "npm test"),
        (["npm", "test"], None),
        (["npm", "run", "test", "--", "--watch=false"], None),
        (["npm", "ls"], None),
        (["npm", "install", "left-pad"], "npm test"),
        (["npm", "test", "--script-shell=sh"], "npm test"),
        # inline code and programs run by options
        (["perl", "-e", "exec '/bin/sh'"], "write a script file"),
        (["perl", "-ne", "print", "tests/run.py"], "write a script file"),
        (["perl", "-MPOSIX", "tests/check.pl"], "write a script file"),
        (["node", "--eval=process.exit()"], "write a script file"),
        (["node", "-pe", "1"], "write a script file"),
        (["ruby", "-e", "system('sh')"], "write a script file"),
        (["find", ".", "-exec", "rm", "{}", "+"], "list with find"),
        (["find", ".", "-delete"], "list with find"),
        (["sort", "--compress-program=sh", "tests/run.py"], "runs the program"),
        (["sort", "--compress=sh", "tests/run.py"], "runs the program"),
        # git: read-only subcommands with harmless options
        (["git", "status"], None),
        (["git", "--no-pager", "diff", "HEAD~1..HEAD"], None),
        (["git", "log", "--oneline", "-n", "5"], None),
        (["git", "show", "HEAD:tests/run.py"], None),
        (["git", "grep", "-n", "def add"], None),
        (["git", "blame", "tests/run.py"], None),
        (["git", "ls-files", ".git"], None),
        (["git", "branch"], None),
        (["git", "branch", "--show-current"], None),
        (["git", "--version"], None),
        (["git", "config", "core.hooksPath", "/tmp"], "read-only subcommands"),
        (["git", "st"], "read-only subcommands"),
        (["git", "push", "origin", "main"], "read-only subcommands"),
        (["git", "commit", "-m", "x"], "read-only subcommands"),
        (["git", "submodule", "update"], "read-only subcommands"),
        (["git", "-c", "core.pager=sh", "log"], "global options"),
        (["git", "--config-env=core.pager=PWD", "log"], "global options"),
        (["git", "--git-dir=.", "log"], "global options"),
        (["git", "--exec-path=.", "status"], "global options"),
        (["git", "-C", "tests", "log"], "global options"),
        (["git", "-p", "log"], "global options"),
        (["git", "diff", "--ext-diff"], "runs another program"),
        (["git", "log", "-p", "--textconv"], "runs another program"),
        (["git", "show", "--output=tests/run.py"], "writes a file"),
        (["git", "grep", "-Ovim", "x"], "runs another program"),
        (["git", "grep", "-iO", "x"], "runs another program"),
        (["git", "grep", "--open-files", "-e", "x"], "runs another program"),
        (["git", "diff", "--text"], None),
        (["git", "cat-file", "--filters", "HEAD:tests/run.py"], "runs another program"),
        (["git", "log", "--upload-pack=sh"], "runs another program"),
        (["git", "branch", "-D", "main"], "only lists branches"),
        (["git", "branch", "feature"], "only lists branches"),
        (["git", "log", "--", ".."], "'..' segment"),
        # python: scripts in the workspace and a few tool modules; no inline code, no stdin
        (["python", "tests/run.py"], None),
        (["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"], None),
        (["python3.11", "-X", "importtime", "-I", "-m", "unittest", "discover"], None),
        (["python", "-W", "error", "-m", "mypy", "tests"], None),
        (["python", "--version"], None),
        (["python3.12", "tests/run.py"], "not an allowed command"),
        (["python", "-c", "import os"], "write a script file"),
        (["python", "-Bc", "import os"], "write a script file"),
        (["python", "-i", "tests/run.py"], "interactive"),
        (["python3", "-"], "standard input"),
        (["python"], "standard input"),
        (["python", "-m", "http.server"], "the modules that may run"),
        (["python", "-mpip", "install", "x"], "the modules that may run"),
        (["python", "/tmp/evil.py"], "outside the workspace"),
        (["python", "-m", "pytest", "--pdb"], "debugger"),
        # pytest: nothing outside the workspace, nothing interactive
        (["pytest", "-q", "--rootdir=.", "tests"], None),
        (["pytest", "--rootdir=/"], "outside the workspace"),
        (["pytest", "-c", "/etc/pytest.ini"], "outside the workspace"),
        (["pytest", "--confcutdir", "../.."], "'..' segment"),
        (["pytest", "-p", "/tmp/plugin.py"], "outside the workspace"),
        (["pytest", "--trace"], "debugger"),
        (["pytest", "--basetemp=tests"], "deletes --basetemp"),
    ],
)
def test_argv(root: Path, argv: list[str], why: str | None) -> None:
    argv = [arg.replace("{root}", str(root)) for arg in argv]
    if why is None:
        check_argv(argv, allowed=ALLOWED, root=root)
    else:
        with pytest.raises(Refused, match=re.escape(why)):
            check_argv(argv, allowed=ALLOWED, root=root)


def test_a_refusal_lists_the_allowed_programs(root: Path) -> None:
    with pytest.raises(Refused) as refused:
        check_argv(["rm", "-rf", "."], allowed=frozenset({"git", "ls"}), root=root)
    assert str(refused.value) == "'rm' is not an allowed command (allowed: git, ls)"


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("git log --oneline", None),
        ("grep -rn 'a.*b' tests", None),
        ("python -m pytest -q tests/test_x.py::test_y[1]", None),  # the test command, as before
        ("ls \\*.py", None),  # escaped: ls gets the literal name
        ("ls *.py", "unquoted"),
        ("cp evil.sh .g?t/hooks/pre-commit", "unquoted"),
        ("cat 'unbalanced", "balance its quotes"),
        ("env", "printenv"),
        ("/usr/bin/git status", "without a path"),
        ("git -c core.fsmonitor=sh status", "global options"),
        ("cat ~/.netrc", "absolute"),
        ("git log; sh", "shell operators"),
    ],
)
def test_claude_code_bash_commands_get_the_same_check(root: Path, command: str, why: str | None) -> None:
    policy = ToolPolicy(test_command=("python", "-m", "pytest", "-q"), allowed_commands=ALLOWED)
    reason = refusal(root, policy, "Bash", {"command": command})
    if why is None:
        assert reason is None
    else:
        assert reason is not None
        assert why in reason
