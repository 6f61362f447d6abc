"""`tamma webhooks`: receive forge webhooks and start a `resolve-issue` deployment run for each
issue given the trigger label or asked with `/tamma run` in a comment."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from tamma.webhooks import Trigger

DEPLOYMENT = "resolve-issue/resolve-issue"


def webhooks(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 for the forge to reach it).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port; the forge posts to /webhooks/{github,gitlab,gitea,bitbucket}.")
    ] = 8787,
    deployment: Annotated[str, typer.Option(help="The deployment each trigger runs.")] = DEPLOYMENT,
) -> None:
    """Start runs from forge webhooks (needs PREFECT_API_URL, `tamma deploy`, and the shared secret).

    Point the forge's webhook at http://HOST:PORT/webhooks/github (or gitlab, gitea, bitbucket) with the
    secret in TAMMA_WEBHOOK_SECRET (`webhooks.secret_env`), for issue and comment events. An issue
    given the `tamma` label (`webhooks.trigger_label`), or a comment starting with `/tamma run`
    (`webhooks.command`), starts a run. Unsigned, wrongly signed, replayed and oversized
    deliveries are refused and recorded (`tamma events --type WEBHOOK.REJECTED`).
    """
    import os

    import uvicorn

    from event_store import EventStore
    from tamma.config import load_settings
    from tamma.errors import TammaError
    from tamma.webhooks import webhook_app

    settings = load_settings()
    if not os.environ.get("PREFECT_API_URL"):
        raise TammaError("set PREFECT_API_URL to the Prefect server's API (e.g. http://prefect:4200/api)")
    if settings.webhooks.secret() is None:
        raise TammaError(
            f"set {settings.webhooks.secret_env} to the secret the forge signs its deliveries with"
        )
    store = EventStore(settings.event_store_url)
    typer.echo(f"webhooks at http://{host}:{port}/webhooks/{{github,gitlab,gitea,bitbucket}} -> {deployment}")
    uvicorn.run(
        webhook_app(settings.webhooks, store, deployment_starter(deployment)),
        host=host,
        port=port,
        log_level="warning",
    )


def deployment_starter(deployment: str) -> Callable[[Trigger], str]:
    """Start one run of `deployment` for a trigger, without waiting for it; its flow run id."""

    def start(trigger: Trigger) -> str:
        from prefect.client.schemas.objects import FlowRun
        from prefect.deployments import run_deployment

        flow_run = run_deployment(name=deployment, parameters={"issue_ref": trigger.ref}, timeout=0)
        assert isinstance(flow_run, FlowRun)  # sync_compatible: outside an event loop, no coroutine
        return str(flow_run.id)

    return start
