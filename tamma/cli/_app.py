"""Root of the `tamma` command: joins the command groups and owns the one error handler.

Heavy imports (SQLAlchemy, Prefect, SDKs) happen inside commands, so `tamma --help`
starts fast.
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
from tamma.cli._signals import Interrupted, stop_on_signals
from tamma.logs import ENV_VAR, LogFormat, configure

app = typer.Typer(
    name="tamma",
    help=(
        "Tamma resolves issues end to end (analyze, plan, approve, implement test-first, "
        "open a PR, repair CI) and records every decision as an event."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
) -> None:
    """Options for every command, set before any of them runs."""
    configure(log_format)


app.command("run")(run.run)
app.command("approve")(run.approve)
app.command("reject")(run.reject)
app.command("status")(status.status)
app.add_typer(status.plan_app, name="plan")
app.command("sweep")(orchestrate.sweep)
app.command("events")(events.list_events)
app.command("history")(history.history)
app.command("diff")(history.diff)
app.command("replay")(replay.replay)
app.add_typer(audit.app, name="audit")
app.command("demo")(demo.demo)
app.command("bench")(bench.bench)
app.command("serve")(orchestrate.serve)
app.command("worker")(orchestrate.worker)
app.command("deploy")(orchestrate.deploy)
app.command("webhooks")(webhooks.webhooks)
app.command("metrics")(metrics.metrics)
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
