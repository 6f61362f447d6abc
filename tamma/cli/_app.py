"""Root of the `tamma` command: joins the command groups and owns the one error handler.

Heavy imports (SQLAlchemy, Prefect, SDKs) happen inside commands, so `tamma --help`
starts fast. Help is plain text (no rich markup: `tamma[claude-code]` prints as written), and
the exit codes are those docs/cli.md lists: 0 ok, 1 error, 2 usage (and an escalated
`tamma run`), 128 + N after signal N.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated

import typer

from tamma.cli import (
    audit,
    bench,
    config_cmd,
    db,
    demo,
    events,
    history,
    local,
    metrics,
    orchestrate,
    replay,
    run,
    status,
    webhooks,
)
from tamma.cli._output import examples
from tamma.cli._signals import Interrupted, stop_on_signals
from tamma.logs import ENV_VAR, LogFormat, configure

app = typer.Typer(
    name="tamma",
    help=(
        "Tamma resolves issues end to end (analyze, plan, approve, implement test-first, "
        "open a PR, repair CI) and records every decision as an event."
    ),
    epilog=examples(
        "tamma demo                               # the whole product offline, scripted model",
        "tamma run github:acme/shop#42            # resolve one issue (asks before implementing)",
        "tamma status --json                      # the latest runs, for scripts",
        "tamma history r-1a2b3c4d                 # one run's timeline",
        "tamma COMMAND --help                     # each command, with examples",
    )
    + "\n\n\b\nExit codes: 0 ok, 1 error (one `tamma: error:` line), 2 usage error or an escalated"
    "\n`tamma run`, 128+N stopped by signal N. See docs/cli.md.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"tamma {version('tamma')}")
        raise typer.Exit()


@app.callback()
def _options(
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            envvar=ENV_VAR,
            help="text: the run's lines as today; json: also one JSON object per line on stderr.",
        ),
    ] = "text",
    _version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", is_eager=True, callback=_print_version, help="Print Tamma's version and exit."
        ),
    ] = False,
) -> None:
    """Options for every command, set before any of them runs."""
    configure(log_format)


app.command(
    "run",
    epilog=examples(
        "tamma run github:acme/shop#42",
        "tamma run local:shop#1 --auto-approve --merge auto",
        "tamma run github:acme/shop#42 --agent claude-code",
        "tamma run local:shop#1 --run-id r-1a2b3c4d   # continue a run that stopped",
    ),
)(run.run)
app.command(
    "approve", epilog=examples("tamma approve r-1a2b3c4d", "tamma approve r-1a2b3c4d --edit plan.md")
)(run.approve)
app.command("reject", epilog=examples('tamma reject r-1a2b3c4d --reason "wrong approach"'))(run.reject)
app.command(
    "status", epilog=examples("tamma status", "tamma status r-1a2b3c4d", "tamma status --limit 5 --json")
)(status.status)
app.add_typer(status.plan_app, name="plan")
app.command(
    "sweep",
    epilog=examples(
        "tamma sweep github:acme/shop --limit 5",
        "tamma sweep github:acme/shop --priority-label urgent --priority-label bug --order newest",
    ),
)(orchestrate.sweep)
app.command(
    "events",
    epilog=examples(
        "tamma events --tag issue:local:demo#1",
        "tamma events --run r-1a2b3c4d --limit 0",
        "tamma events --type ISSUE.CLAIMED --type ISSUE.RELEASED --after 120 --json",
    ),
)(events.list_events)
app.command(
    "history",
    epilog=examples(
        "tamma history r-1a2b3c4d",
        "tamma history local:shop#1 --at plan          # the run as it was when planning finished",
        "tamma history r-1a2b3c4d --at 42              # ... right after event 42",
        "tamma history r-1a2b3c4d --html run.html      # a page to open without a server",
        "tamma history r-1a2b3c4d --json               # the timeline for scripts",
    ),
)(history.history)
app.command(
    "diff",
    epilog=examples(
        "tamma diff r-1a2b3c4d 40 120", "tamma diff r-1a2b3c4d plan 120        # since planning finished"
    ),
)(history.diff)
app.command(
    "replay",
    epilog=examples(
        "tamma replay r-1a2b3c4d                                 # identical, or where it diverged",
        "tamma replay r-1a2b3c4d --from 46 --provider anthropic  # retry from just before event 46",
        "tamma replay r-1a2b3c4d --from 46 --script fix.json     # ... with a scripted model",
    ),
)(replay.replay)
app.add_typer(audit.app, name="audit")
app.command(
    "demo",
    epilog=examples(
        "tamma demo", "tamma demo --no-ci-failure      # no failing CI to repair", "tamma demo --tour"
    ),
)(demo.demo)
app.command(
    "bench",
    epilog=examples(
        "tamma bench --offline                          # the shipped set, scripted (what CI runs)",
        "tamma bench --offline -m claude-sonnet-4-5     # the same tasks, a real model",
        "tamma bench tasks/ -m claude-sonnet-4-5 -m openai:qwen2.5-coder@http://127.0.0.1:11434/v1",
        "tamma bench swe.jsonl -b builtin -b claude-code -j 4 --json bench.json --html bench.html",
    ),
)(bench.bench)
app.command("serve", epilog=examples("tamma serve", "tamma serve --host 0.0.0.0 --port 4200"))(
    orchestrate.serve
)
app.command("worker", epilog=examples("tamma worker", "tamma worker --run-once"))(orchestrate.worker)
app.command("deploy", epilog=examples("tamma deploy"))(orchestrate.deploy)
app.command(
    "webhooks", epilog=examples("PREFECT_API_URL=http://127.0.0.1:4200/api tamma webhooks --port 8787")
)(webhooks.webhooks)
app.command("metrics", epilog=examples("tamma metrics", "tamma metrics --port 9464 --host 0.0.0.0"))(
    metrics.metrics
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(db.app, name="db")
app.add_typer(local.app, name="local")


def main() -> None:
    """Console entry point: user-facing errors become one line on stderr and exit code 1; a stop
    signal, once everything the command started has stopped, one line and exit code 128 + N."""
    from tamma.errors import TammaError

    stop_on_signals()
    try:
        app(standalone_mode=True)
    except Interrupted as stop:
        _say(stop.line())
        sys.exit(stop.exit_code)
    except TammaError as exc:
        _fail(str(exc))
    except Exception as exc:
        from event_store import EventStoreError

        if isinstance(exc, EventStoreError):
            _fail(str(exc))
        raise


def _fail(message: str) -> None:
    _say(f"tamma: error: {message}")
    sys.exit(1)


def _say(line: str) -> None:
    """One line on stderr; after a SIGHUP the terminal may be gone, and that is no error."""
    with contextlib.suppress(OSError):
        print(line, file=sys.stderr)
