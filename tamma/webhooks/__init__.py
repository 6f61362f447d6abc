"""Forge webhooks that start runs: signed deliveries in, `resolve-issue` runs out.

`webhook_app(settings, store, start, resume)` is an ASGI app (Starlette, which Prefect already
brings) with one route per forge, `POST /webhooks/{github,gitlab,gitea,bitbucket}`. A delivery is
checked (size, signature, replay) before it is read as JSON; a trigger in it (an issue given the
trigger label, or a comment starting with the command, `/tamma run`) calls `start(trigger)`, which
the CLI wires to a deployment run; a new comment on an issue calls `resume(ref)`, which the CLI
wires to `resume_for_answers` with Prefect's resume (`tamma.cli.webhooks`): the run suspended
there for answers reads the issue again. Every
delivery is recorded: WEBHOOK.RECEIVED, or WEBHOOK.REJECTED with the reason and never the payload.

The app loads on first use: the settings need only `WebhookSettings`.
"""

from typing import TYPE_CHECKING

from tamma._lazy import lazy_attributes
from tamma.webhooks._settings import WebhookSettings

if TYPE_CHECKING:
    from tamma.webhooks._app import webhook_app
    from tamma.webhooks._resume import resume_for_answers
    from tamma.webhooks._triggers import Trigger, comment_on_issue, trigger_of

__all__ = [
    "Trigger",
    "WebhookSettings",
    "comment_on_issue",
    "resume_for_answers",
    "trigger_of",
    "webhook_app",
]

__getattr__ = lazy_attributes(
    __name__,
    {
        "webhook_app": "tamma.webhooks._app",
        "Trigger": "tamma.webhooks._triggers",
        "trigger_of": "tamma.webhooks._triggers",
        "comment_on_issue": "tamma.webhooks._triggers",
        "resume_for_answers": "tamma.webhooks._resume",
    },
)
