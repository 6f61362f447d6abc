"""Forge webhooks over real HTTP on loopback: signed deliveries start deployment runs on the
session's Prefect server; unsigned, wrongly signed, replayed and oversized ones are refused
and recorded, without their payload."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from prefect.client.orchestration import get_client
from prefect.deployments.runner import RunnerDeployment
from starlette.applications import Starlette

from event_store import EventStore, Query
from flows.resolve_issue import resolve_issue
from tamma import event_types as et
from tamma.cli.webhooks import DEPLOYMENT, deployment_starter, resume_suspended_for_answers
from tamma.webhooks import WebhookSettings, resume_for_answers, webhook_app
from tasks.ci import wait_for_ci_news

SECRET = "whsec-" + "s3cr3t" * 4
SETTINGS = WebhookSettings(secret_env="TEST_TAMMA_WEBHOOK_SECRET", max_body_bytes=1_000_000)
SECRET_IN_BODY = "payload-marker-7c1d"


@pytest.fixture(scope="module")
def deployment() -> str:
    deployment = resolve_issue.to_deployment(name="resolve-issue")
    assert isinstance(deployment, RunnerDeployment)  # sync_compatible, outside an event loop
    return str(deployment.apply())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(f"sqlite:///{tmp_path / 'events.db'}") as opened:
        yield opened


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port; the base URL of its webhooks."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{listening.getsockname()[1]}/webhooks"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def endpoint(store: EventStore, deployment: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The webhook app as `tamma webhooks` serves it, starting real deployment runs."""
    monkeypatch.setenv(SETTINGS.secret_env, SECRET)
    with serving(
        webhook_app(
            SETTINGS,
            store,
            deployment_starter(DEPLOYMENT),
            partial(resume_for_answers, store, resume=resume_suspended_for_answers),
        )
    ) as url:
        yield url


def github_labelled(number: int = 12) -> dict[str, Any]:
    return {
        "action": "labeled",
        "label": {"name": "tamma"},
        "issue": {"number": number, "title": SECRET_IN_BODY, "labels": [{"name": "tamma"}]},
        "repository": {"full_name": "acme/shop"},
    }


def hub_signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    endpoint: str, forge: str, event: str, body: bytes, headers: dict[str, str], delivery: str | None = None
) -> httpx.Response:
    names = {
        "bitbucket": ("X-Event-Key", "X-Request-UUID"),
        "github": ("X-GitHub-Event", "X-GitHub-Delivery"),
        "gitlab": ("X-Gitlab-Event", "X-Gitlab-Event-UUID"),
        "gitea": ("X-Gitea-Event", "X-Gitea-Delivery"),
    }
    event_header, delivery_header = names[forge]
    sent = {
        event_header: event,
        delivery_header: delivery or str(uuid.uuid4()),
        "Content-Type": "application/json",
        **headers,
    }
    return httpx.post(f"{endpoint}/{forge}", content=body, headers=sent, timeout=30)


def recorded(store: EventStore, event_type: str) -> list[dict[str, Any]]:
    return [event.data for event in store.read(Query.of(types=[event_type]))]


def flow_run_parameters(flow_run_id: str) -> dict[str, Any]:
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(uuid.UUID(flow_run_id))
    assert flow_run.deployment_id is not None
    return dict(flow_run.parameters)


def test_a_labelled_issue_starts_a_deployment_run(endpoint: str, store: EventStore) -> None:
    body = json.dumps(github_labelled()).encode()
    answer = deliver(
        endpoint, "github", "issues", body, {"X-Hub-Signature-256": f"sha256={hub_signature(body)}"}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["started"] == "github:acme/shop#12"
    [received] = recorded(store, et.WEBHOOK_RECEIVED)
    assert received["trigger"] == "github:acme/shop#12"
    [triggered] = recorded(store, et.WEBHOOK_TRIGGERED)
    assert flow_run_parameters(triggered["flow_run_id"])["issue_ref"] == "github:acme/shop#12"


@pytest.mark.parametrize(
    ("signature", "status"),
    [("sha256=" + "0" * 64, 401), ("", 401), ("sha256=" + hub_signature(b"another body"), 401)],
    ids=["wrong", "missing", "for-another-body"],
)
def test_deliveries_that_are_not_signed_with_the_secret_are_refused(
    endpoint: str, store: EventStore, signature: str, status: int
) -> None:
    body = json.dumps(github_labelled()).encode()
    headers = {"X-Hub-Signature-256": signature} if signature else {}
    answer = deliver(endpoint, "github", "issues", body, headers)
    assert answer.status_code == status
    [rejected] = recorded(store, et.WEBHOOK_REJECTED)
    assert rejected["reason"] == "missing or wrong signature"
    assert SECRET_IN_BODY not in json.dumps(rejected)
    assert not recorded(store, et.WEBHOOK_TRIGGERED)


def test_a_replayed_delivery_is_refused(endpoint: str, store: EventStore) -> None:
    body = json.dumps(github_labelled()).encode()
    signed = {"X-Hub-Signature-256": f"sha256={hub_signature(body)}"}
    first = deliver(endpoint, "github", "issues", body, signed, delivery="d-1")
    again = deliver(endpoint, "github", "issues", body, signed, delivery="d-1")
    assert (first.status_code, again.status_code) == (202, 409)
    assert len(recorded(store, et.WEBHOOK_TRIGGERED)) == 1
    assert "a replay" in recorded(store, et.WEBHOOK_REJECTED)[0]["reason"]


def test_an_oversized_delivery_is_refused_unread(endpoint: str, store: EventStore) -> None:
    body = b'{"padding": "' + b"x" * 10_000_000 + b'"}'
    answer = deliver(
        endpoint, "github", "issues", body, {"X-Hub-Signature-256": f"sha256={hub_signature(body)}"}
    )
    assert answer.status_code == 413
    assert recorded(store, et.WEBHOOK_REJECTED)[0]["status"] == 413


def test_gitlab_comment_command_and_gitea_label_start_runs(endpoint: str, store: EventStore) -> None:
    note = {
        "object_kind": "note",
        "object_attributes": {"note": "/tamma run please", "noteable_type": "Issue"},
        "issue": {"iid": 3},
        "project": {"path_with_namespace": "group/app"},
    }
    wrong = deliver(endpoint, "gitlab", "Note Hook", json.dumps(note).encode(), {"X-Gitlab-Token": "guess"})
    assert wrong.status_code == 401
    gitlab = deliver(endpoint, "gitlab", "Note Hook", json.dumps(note).encode(), {"X-Gitlab-Token": SECRET})
    assert gitlab.json()["started"] == "gitlab:group/app#3"
    labelled = {
        "action": "label_updated",
        "issue": {"number": 7, "labels": [{"name": "bug"}, {"name": "tamma"}], "pull_request": None},
        "repository": {"full_name": "team/site"},
    }
    body = json.dumps(labelled).encode()
    gitea = deliver(endpoint, "gitea", "issues", body, {"X-Gitea-Signature": hub_signature(body)})
    assert gitea.json()["started"] == "gitea:team/site#7"
    started = [
        flow_run_parameters(t["flow_run_id"])["issue_ref"] for t in recorded(store, et.WEBHOOK_TRIGGERED)
    ]
    assert started == ["gitlab:group/app#3", "gitea:team/site#7"]


def test_other_events_are_recorded_and_start_nothing(endpoint: str, store: EventStore) -> None:
    other_label = {**github_labelled(), "label": {"name": "docs"}}
    for event, payload in (("push", {"ref": "refs/heads/main"}), ("issues", other_label)):
        body = json.dumps(payload).encode()
        answer = deliver(
            endpoint, "github", event, body, {"X-Hub-Signature-256": f"sha256={hub_signature(body)}"}
        )
        assert answer.status_code == 202
        assert (answer.json()["started"], answer.json()["resumed"]) == (None, None)
    assert len(recorded(store, et.WEBHOOK_RECEIVED)) == 2
    assert not recorded(store, et.WEBHOOK_TRIGGERED)


def test_without_a_configured_secret_nothing_is_trusted(
    endpoint: str, store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SETTINGS.secret_env)
    body = json.dumps(github_labelled()).encode()
    answer = deliver(
        endpoint, "github", "issues", body, {"X-Hub-Signature-256": f"sha256={hub_signature(body, '')}"}
    )
    assert answer.status_code == 503
    assert SETTINGS.secret_env in answer.json()["error"]


def test_a_ci_status_delivery_wakes_a_watch_waiting_for_its_commit(endpoint: str, store: EventStore) -> None:
    """The watch would sleep a whole poll (a minute here); the forge's status event ends the
    wait: `wait_for_ci_news` returns the delivery's position instead of timing out."""
    sha = "a" * 40
    status = {"sha": sha, "state": "success", "context": "ci/tests", "repository": {"full_name": "acme/shop"}}
    body = json.dumps(status).encode()

    def deliver_later() -> None:
        time.sleep(0.5)
        deliver(endpoint, "github", "status", body, {"X-Hub-Signature-256": f"sha256={hub_signature(body)}"})

    sender = threading.Thread(target=deliver_later)
    sender.start()
    woke_at = wait_for_ci_news(store, sha, after=0, timeout_s=60)
    sender.join()
    [received] = list(store.read(Query.of(types=[et.WEBHOOK_RECEIVED], tags=[f"ci:{sha}"])))
    assert woke_at == received.position
    assert received.data["commit"] == sha
    assert received.data["trigger"] is None
    assert wait_for_ci_news(store, "b" * 40, after=0, timeout_s=0.1) == 0  # no news of another commit


def test_a_bitbucket_comment_command_starts_a_run_and_its_status_wakes_the_watch(
    endpoint: str, store: EventStore
) -> None:
    comment = {
        "comment": {"content": {"raw": "/tamma run"}},
        "issue": {"id": 5},
        "repository": {"full_name": "team/app"},
    }
    body = json.dumps(comment).encode()
    unsigned = deliver(endpoint, "bitbucket", "issue:comment_created", body, {})
    assert unsigned.status_code == 401
    signed = {"X-Hub-Signature": f"sha256={hub_signature(body)}"}
    started = deliver(endpoint, "bitbucket", "issue:comment_created", body, signed)
    assert started.json()["started"] == "bitbucket:team/app#5"
    status = {"commit_status": {"state": "SUCCESSFUL", "commit": {"hash": "c" * 40}}}
    body = json.dumps(status).encode()
    woke = deliver(
        endpoint,
        "bitbucket",
        "repo:commit_status_updated",
        body,
        {"X-Hub-Signature": f"sha256={hub_signature(body)}"},
    )
    assert woke.json()["started"] is None
    assert wait_for_ci_news(store, "c" * 40, after=0, timeout_s=5) > 0
