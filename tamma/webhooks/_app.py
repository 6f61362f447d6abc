"""The webhook endpoint: refuse what is too big, unsigned or a replay; record the rest; start
the run a trigger asks for, and resume the run a new comment may be answering.

    POST /webhooks/{github|gitlab|gitea|bitbucket}
      413  body over `max_body_bytes` (read no further)
      503  no shared secret configured: nothing can be trusted
      401  missing or wrong signature
      400  no delivery id, or a body that is not JSON
      409  a delivery id seen before (a replay)
      202  accepted: {"delivery", "started": "<ref>" or null, "resumed": "<flow run id>" or null}

The delivery id is claimed with a conditional append (no WEBHOOK.RECEIVED with its tag may
exist), so two copies arriving at once are told apart like two workers claiming an issue.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from event_store import AppendCondition, AppendConditionFailed, EventStore, NewEvent, Query
from tamma import event_types as et
from tamma.metrics import timed_append
from tamma.recorder import EVENT_VERSION
from tamma.webhooks._settings import WebhookSettings
from tamma.webhooks._signatures import DELIVERY_HEADERS, Forge, signed
from tamma.webhooks._triggers import EVENT_HEADERS, Trigger, ci_commit_of, comment_on_issue, trigger_of

__all__ = ["webhook_app"]

Starter = Callable[[Trigger], str]
"""Starts the run a trigger asks for; returns what identifies it (a Prefect flow run id)."""
Resumer = Callable[[str], str | None]
"""Resumes the run suspended for answers on an issue (its reference); the flow run id, or None
when no run waits there (`resume_for_answers`)."""
REPLIED = "a comment while its run waits for answers"
"""WEBHOOK.TRIGGERED's `reason` when a delivery resumed a run."""

_log = logging.getLogger(__name__)


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def webhook_app(settings: WebhookSettings, store: EventStore, start: Starter, resume: Resumer) -> Starlette:
    """The ASGI app; `start` and `resume` run in a worker thread (they may call Prefect
    synchronously). A `/tamma run` comment does both: the run it starts finds the issue held by
    the waiting run, which resumes and reads the comment like any other reply."""

    async def receive(request: Request) -> JSONResponse:
        forge = request.path_params["forge"]
        if forge not in DELIVERY_HEADERS:
            return JSONResponse({"error": f"no webhooks for {forge!r}"}, status_code=404)
        delivery = request.headers.get(DELIVERY_HEADERS[forge], "")
        event = request.headers.get(EVENT_HEADERS[forge], "")
        try:
            body = await _body(request, settings.max_body_bytes)
            payload = _checked(forge, request, body, settings)
            if not delivery:
                raise _Refused(400, f"no delivery id ({DELIVERY_HEADERS[forge]})")
            trigger = trigger_of(forge, event, payload, settings)
            commit = ci_commit_of(forge, event, payload)
            commented = comment_on_issue(forge, event, payload)
            await run_in_threadpool(_record_received, store, forge, delivery, event, trigger, commit)
        except _Refused as refused:
            await run_in_threadpool(_record_rejected, store, forge, delivery, event, refused)
            return JSONResponse({"error": refused.reason}, status_code=refused.status)
        if trigger is not None:
            await run_in_threadpool(_act, store, forge, delivery, trigger, lambda: start(trigger))
        resumed = None
        if commented is not None:
            replied = Trigger(commented, REPLIED)
            resumed = await run_in_threadpool(
                _act, store, forge, delivery, replied, lambda: resume(commented)
            )
        return JSONResponse(
            {"delivery": delivery, "started": trigger.ref if trigger else None, "resumed": resumed},
            status_code=202,
        )

    return Starlette(routes=[Route("/webhooks/{forge}", receive, methods=["POST"])])


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to be over `limit` (by its length or as read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _Refused(413, f"delivery of {declared} bytes; at most {limit}")
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise _Refused(413, f"delivery over {limit} bytes")
    return bytes(received)


def _checked(forge: Forge, request: Request, body: bytes, settings: WebhookSettings) -> dict[str, Any]:
    secret = settings.secret()
    if secret is None:
        raise _Refused(503, f"webhooks are not configured: set {settings.secret_env}")
    if not signed(forge, request.headers, body, secret):
        raise _Refused(401, "missing or wrong signature")
    try:
        payload = json.loads(body)
    except ValueError:
        raise _Refused(400, "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise _Refused(400, "the body is not a JSON object")
    return payload


def _tags(forge: str, delivery: str, trigger: Trigger | None = None) -> list[str]:
    tags = [f"webhook:{forge}", f"delivery:{forge}:{delivery}"] if delivery else [f"webhook:{forge}"]
    return [*tags, f"issue:{trigger.ref}"] if trigger else tags


def _event(event_type: str, tags: list[str], **data: object) -> NewEvent:
    return NewEvent(event_type, {"v": EVENT_VERSION, **data}, tags=tags, metadata={"actor": "webhook"})


def _record_received(
    store: EventStore, forge: str, delivery: str, event: str, trigger: Trigger | None, commit: str | None
) -> None:
    """WEBHOOK.RECEIVED, tagged `ci:<sha>` for a CI event (what a run watching CI waits on)."""
    tag = f"delivery:{forge}:{delivery}"
    received = _event(
        et.WEBHOOK_RECEIVED,
        [*_tags(forge, delivery, trigger), *([f"ci:{commit}"] if commit else [])],
        forge=forge,
        delivery=delivery,
        event=event,
        trigger=trigger.ref if trigger else None,
        reason=trigger.reason if trigger else None,
        commit=commit,
    )
    try:
        timed_append(store, received, AppendCondition(Query.of(tags=[tag]), after=None))
    except AppendConditionFailed:
        raise _Refused(409, f"delivery {delivery} was received before (a replay)") from None


def _record_rejected(store: EventStore, forge: str, delivery: str, event: str, refused: _Refused) -> None:
    timed_append(
        store,
        _event(
            et.WEBHOOK_REJECTED,
            [f"webhook:{forge}"],
            forge=forge,
            delivery=delivery,
            event=event,
            status=refused.status,
            reason=refused.reason,
        ),
    )


def _act(
    store: EventStore, forge: str, delivery: str, trigger: Trigger, act: Callable[[], str | None]
) -> str | None:
    """Start or resume the run `trigger` names; the flow run it reached, or None. What came of it
    (a flow run id, or why not) goes on record, but nothing when there was nothing to resume. The
    delivery was good whatever happens here: an error (Prefect unreachable) is recorded and
    logged in one line, never a 500."""
    try:
        flow_run_id = act()
    except Exception as error:
        reason = f"{type(error).__name__}: {' '.join(str(error).split())}"
        _log.warning("webhook delivery %s (%s on %s): %s", delivery, trigger.reason, trigger.ref, reason)
        outcome: dict[str, object] = {"error": reason}
        flow_run_id = None
    else:
        if flow_run_id is None:
            return None
        outcome = {"flow_run_id": flow_run_id}
    timed_append(
        store,
        _event(
            et.WEBHOOK_TRIGGERED,
            _tags(forge, delivery, trigger),
            ref=trigger.ref,
            reason=trigger.reason,
            **outcome,
        ),
    )
    return flow_run_id
