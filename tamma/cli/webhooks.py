"""`tamma webhooks`: receive forge webhooks and start a `resolve-issue` deployment run for each
issue given the trigger label or asked with `/tamma run` in a comment; resume the run suspended
for answers on an issue when a comment comes on it."""

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
    (`webhooks.command`), starts a run; a new comment on an issue resumes its run suspended for
    answers. Unsigned, wrongly signed, replayed and oversized deliveries are refused and recorded
    (`tamma events --type WEBHOOK.REJECTED`).
    """
    import os
    from functools import partial

    import uvicorn

    from event_store import EventStore
    from tamma.config import load_settings
    from tamma.errors import TammaError
    from tamma.webhooks import resume_for_answers, webhook_app

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
        webhook_app(
            settings.webhooks,
            store,
            deployment_starter(deployment),
            partial(resume_for_answers, store, resume=resume_suspended_for_answers),
        ),
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


def resume_suspended_for_answers(run_id: str, flow_run_id: str) -> bool:
    """Resume the flow run if Prefect has it suspended for `run_id`'s questions; whether it did.
    A run outside Prefect (`process-...`) or of another Prefect server is not ours to resume."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.exceptions import ObjectNotFound

    from tamma.webhooks._resume import EMPTY_ANSWER, pause_is_for_answers

    try:
        flow_run = UUID(flow_run_id)
    except ValueError:  # `tamma run` polls the issue itself
        return False
    with get_client(sync_client=True) as client:
        try:
            state = client.read_flow_run(flow_run).state
        except ObjectNotFound:
            return False
        if state is None or not state.is_paused():
            return False
        if not pause_is_for_answers(run_id, state.state_details.pause_key):
            return False
        return client.resume_flow_run(flow_run, run_input=EMPTY_ANSWER).status == SetStateStatus.ACCEPT
