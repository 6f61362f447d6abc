"""`tamma local`: the embedded platform for trying Tamma on any directory, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tamma.cli._output import examples

app = typer.Typer(
    help="Create and use local platforms: a bare git remote plus an issue tracker.", no_args_is_help=True
)


@app.command("init", epilog=examples('tamma local init ~/src/shop --test-command "python -m pytest -q"'))
def init(
    path: Annotated[
        Path,
        typer.Argument(
            help="A git repository, or a plain directory whose files (copied) become the first commit."
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(help="Platform name in references (local:NAME#1). Default: the directory's name."),
    ] = None,
    test_command: Annotated[
        str,
        typer.Option(
            "--test-command", help="What local CI runs in a clean checkout, e.g. 'python -m pytest -q'."
        ),
    ] = "",
) -> None:
    """Create a local platform from PATH: issues, pull requests, CI and merges, all on this machine."""
    from tamma.config import load_settings
    from tamma.platforms._local import init_local_platform, local_platforms_dir

    platform_name = name or path.resolve().name
    root = local_platforms_dir(load_settings().home) / platform_name
    platform = init_local_platform(path, root, test_command=test_command)
    typer.echo(f"local platform {platform_name!r} at {root}; clone URL {platform.repository().clone_url}")
    typer.echo(f"file an issue: tamma local issue {platform_name} --title '...' --body '...'")


@app.command(
    "issue",
    epilog=examples('tamma local issue shop --title "Crash on start" --label tamma   # -> local:shop#1'),
)
def issue(
    platform: Annotated[
        str, typer.Argument(help="The platform's name, or the directory it was created from.")
    ],
    title: Annotated[str, typer.Option(help="Issue title.")],
    body: Annotated[str, typer.Option(help="Issue description.")] = "",
    labels: Annotated[list[str] | None, typer.Option("--label", help="A label; repeat for several.")] = None,
) -> None:
    """File an issue on a local platform and print its reference."""
    from tamma.config import load_settings
    from tamma.platforms._local import open_local_platform

    created = open_local_platform(load_settings().home, platform).create_issue(
        title, body, labels=labels or ()
    )
    typer.echo(str(created.ref))
