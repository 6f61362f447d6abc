"""A reply on the issue resumes the deployed run suspended for answers: the forge's webhook
delivery of the comment is enough, nobody presses Resume. A comment that answers nothing (on a
pull request, Tamma's own, from someone whose replies do not count) never gets a run past its
questions, and a run waiting for a decision is never answered by a comment."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments import run_deployment
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectAlreadyExists
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.types.entrypoint import EntrypointType
from prefect.workers.process import ProcessWorker

from event_store import EventStore, NewEvent, Query
from flows._clarify import questions_key
from flows.resolve_issue import resolve_issue
from tamma import event_types as et
from tamma.cli.webhooks import resume_suspended_for_answers
from tamma.demo.scenario import ISSUE_BODY, ISSUE_TITLE, analysis_answer, conversations
from tamma.providers import save_script
from tamma.webhooks import Trigger, comment_on_issue, resume_for_answers, webhook_app
from tamma.webhooks._resume import waiting_for_answers
from tests.fakes.github import FakeGitHub
from tests.flows.conftest import BIN, PoolShell, free_port
from tests.flows.test_webhooks import SECRET, SETTINGS, deliver, hub_signature, recorded, serving

RUN = "r-c0mm3nt5"
REPO = "acme/shop"
REF = f"github:{REPO}#1"
POOL = "webhook-resume"
TOKEN = "ghp_" + "R3sum" * 7 + "x"


def github_comment(
    body: str, *, number: int = 1, pull: bool = False, action: str = "created"
) -> dict[str, Any]:
    issue: dict[str, Any] = {"number": number, "labels": []}
    if pull:
        issue["pull_request"] = {"url": f"https://api.github.com/repos/{REPO}/pulls/{number}"}
    return {"action": action, "issue": issue, "comment": {"body": body}, "repository": {"full_name": REPO}}


def deliver_github(endpoint: str, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    answer = deliver(
        endpoint, "github", event, body, {"X-Hub-Signature-256": f"sha256={hub_signature(body)}"}
    )
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(f"sqlite:///{tmp_path / 'events.db'}") as opened:
        yield opened


@pytest.fixture
def signed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTINGS.secret_env, SECRET)


@dataclass
class Calls:
    """A stand-in for starting and resuming runs: what it was asked, and what it answers."""

    resumed: str | None = None
    starts: list[str] = field(default_factory=list)
    resumes: list[str] = field(default_factory=list)

    def start(self, trigger: Trigger) -> str:
        self.starts.append(trigger.ref)
        return "started-flow-run"

    def resume(self, ref: str) -> str | None:
        self.resumes.append(ref)
        return self.resumed


GITLAB = {"project": {"path_with_namespace": "group/app"}, "issue": {"iid": 3}}


@pytest.mark.parametrize(
    ("forge", "event", "payload", "ref"),
    [
        ("github", "issue_comment", github_comment("Euros."), REF),
        ("github", "issue_comment", github_comment("Euros.", pull=True), None),
        ("github", "issue_comment", github_comment("Euros.", action="edited"), None),
        ("github", "issue_comment", github_comment("Which currency?\n\n<!-- tamma:r-1-questions -->"), None),
        ("github", "issues", {**github_comment(""), "action": "labeled", "label": {"name": "tamma"}}, None),
        ("github", "push", {"ref": "refs/heads/main"}, None),
        ("gitea", "issue_comment", github_comment("Euros.", number=7), f"gitea:{REPO}#7"),
        ("gitlab", "Note Hook", {**GITLAB, "object_attributes": {"note": "Eur", "noteable_type": "Issue"}}, "gitlab:group/app#3"),
        ("gitlab", "Note Hook", {**GITLAB, "object_attributes": {"note": "Eur", "noteable_type": "MergeRequest"}}, None),
        ("gitlab", "Note Hook", {**GITLAB, "object_attributes": {"note": "Eur", "noteable_type": "Issue", "action": "update"}}, None),
        ("gitlab", "Note Hook", {**GITLAB, "object_attributes": {"note": "added ~bug", "noteable_type": "Issue", "system": True}}, None),
        ("bitbucket", "issue:comment_created", {"comment": {"content": {"raw": "Eur"}}, "issue": {"id": 5}, "repository": {"full_name": "team/app"}}, "bitbucket:team/app#5"),
        ("bitbucket", "pullrequest:comment_created", {"comment": {"content": {"raw": "Eur"}}, "repository": {"full_name": "team/app"}}, None),
    ],
    ids=[
        "github-issue",
        "github-pull-request",
        "github-edit",
        "tammas-own",
        "github-label",
        "push",
        "gitea-issue",
        "gitlab-issue",
        "gitlab-merge-request",
        "gitlab-edit",
        "gitlab-system-note",
        "bitbucket-issue",
        "bitbucket-pull-request",
    ],
)  # fmt: skip
def test_only_a_new_comment_on_an_issue_may_be_an_answer(
    forge: Any, event: str, payload: dict[str, Any], ref: str | None
) -> None:
    assert comment_on_issue(forge, event, payload) == ref


def test_a_comment_on_an_issue_is_handed_to_the_resumer_and_what_it_resumed_recorded(
    store: EventStore, signed: None
) -> None:
    calls = Calls(resumed="resumed-flow-run")
    with serving(webhook_app(SETTINGS, store, calls.start, calls.resume)) as endpoint:
        on_pull = deliver_github(endpoint, "issue_comment", github_comment("LGTM", pull=True))
        push = deliver_github(endpoint, "push", {"ref": "refs/heads/main"})
        reply = deliver_github(endpoint, "issue_comment", github_comment("Euros."))
    assert (on_pull["resumed"], push["resumed"], reply["resumed"]) == (None, None, "resumed-flow-run")
    assert (calls.resumes, calls.starts) == ([REF], [])
    [resumed] = recorded(store, et.WEBHOOK_TRIGGERED)
    assert (resumed["ref"], resumed["flow_run_id"]) == (REF, "resumed-flow-run")


def test_the_start_command_in_a_comment_starts_a_run_and_resumes_the_waiting_one(
    store: EventStore, signed: None
) -> None:
    calls = Calls(resumed="resumed-flow-run")
    with serving(webhook_app(SETTINGS, store, calls.start, calls.resume)) as endpoint:
        answer = deliver_github(endpoint, "issue_comment", github_comment("/tamma run"))
    assert (answer["started"], answer["resumed"]) == (REF, "resumed-flow-run")
    assert calls.starts == calls.resumes == [REF]
    assert [t["flow_run_id"] for t in recorded(store, et.WEBHOOK_TRIGGERED)] == [
        "started-flow-run",
        "resumed-flow-run",
    ]


def test_an_unreachable_prefect_is_recorded_and_the_delivery_still_accepted(
    store: EventStore, signed: None, caplog: pytest.LogCaptureFixture
) -> None:
    tags = [f"run:{RUN}", f"issue:{REF}"]
    store.append(
        [
            NewEvent(et.RUN_STARTED, {"flow_run_id": str(uuid.uuid4())}, tags=tags),
            NewEvent(et.CLARIFICATION_REQUESTED, {"questions": ["Which currency?"]}, tags=tags),
        ]
    )

    def resume_elsewhere(ref: str) -> str | None:
        with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):
            return resume_for_answers(store, ref, resume_suspended_for_answers)

    with serving(webhook_app(SETTINGS, store, Calls().start, resume_elsewhere)) as endpoint:
        answer = deliver_github(endpoint, "issue_comment", github_comment("Euros."))
    assert answer["resumed"] is None
    [failed] = recorded(store, et.WEBHOOK_TRIGGERED)
    assert failed["error"].startswith("ConnectError")
    [logged] = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("tamma")]
    assert logged.exc_info is None
    assert "\n" not in logged.getMessage()


def test_a_run_that_does_not_wait_for_answers_in_prefect_is_left_alone(store: EventStore) -> None:
    def asked(run: str, flow_run_id: str, *, answered: bool = False) -> None:
        tags = [f"run:{run}", f"issue:{REF}"]
        store.append(NewEvent(et.RUN_STARTED, {"flow_run_id": flow_run_id}, tags=tags))
        store.append(NewEvent(et.CLARIFICATION_REQUESTED, {"questions": ["?"]}, tags=tags))
        if answered:
            store.append(NewEvent(et.CLARIFICATION_RECEIVED, {"answer": "Euros."}, tags=tags))

    asked("r-answered", str(uuid.uuid4()), answered=True)
    asked("r-process", "process-0123456789ab")  # `tamma run`: it polls the issue itself
    asked("r-gone", str(uuid.uuid4()))  # a flow run this Prefect server does not know
    assert [run for run, _ in waiting_for_answers(store, REF)] == ["r-gone", "r-process"]
    assert resume_for_answers(store, REF, resume_suspended_for_answers) is None


# The whole way: a deployed run on the fake GitHub, a worker of its own pool, the webhook app.


@pytest.fixture
def pool(home: Path, fake_github: FakeGitHub) -> PoolShell:
    """A worker's shell on the session's Prefect server, for a pool of this module's own, with
    the resolve-issue deployment on it and the demo issue on the fake GitHub (by `octocat`)."""
    fake_github.create_repo(REPO)
    fake_github.create_issue(REPO, ISSUE_TITLE, ISSUE_BODY, labels=["tamma"])
    template = ProcessWorker.get_default_base_job_template()
    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):  # made by an earlier test
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process", base_job_template=template))
    deployment = resolve_issue.to_deployment(
        name="on-comment", work_pool_name=POOL, entrypoint_type=EntrypointType.MODULE_PATH
    )
    assert isinstance(deployment, RunnerDeployment)  # sync_compatible, outside an event loop
    deployment.apply()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "GITHUB_TOKEN": TOKEN,
        "TAMMA_PLATFORMS": json.dumps({"github": {"base_url": fake_github.base_url}}),
    }
    return PoolShell(env, home)


def waiting_for(flow_run_id: uuid.UUID) -> str | None:
    """The key of the flow run's suspension, or None when it is not suspended."""
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
    assert state is not None
    return state.state_details.pause_key if state.is_paused() else None


def resumed_by(endpoint: str, comment: str) -> str | None:
    """What the delivery of a new comment on the issue resumed."""
    resumed = deliver_github(endpoint, "issue_comment", github_comment(comment))["resumed"]
    return None if resumed is None else str(resumed)


def run_events(home: Path) -> list[str]:
    with EventStore(f"sqlite:///{home / 'events.db'}") as events:
        return [e.type for e in events.read(Query.of(tags=[f"run:{RUN}"]))]


def test_a_reply_on_the_issue_resumes_the_deployed_run_waiting_for_answers(
    home: Path, fake_github: FakeGitHub, pool: PoolShell, signed: None
) -> None:
    asking = conversations(ci_failure=False) | {
        "analysis": [analysis_answer(85, ["no currency"], ["Which currency?"])]
    }
    script = save_script(asking, home / "asking-session.json")
    flow_run = run_deployment(
        "resolve-issue/on-comment",
        parameters={"issue_ref": REF, "run_id": RUN, "script": str(script)},
        timeout=0,
    )
    work = partial(pool.run, str(BIN / "tamma"), "worker", "--pool", POOL, "--run-once")
    work()
    assert waiting_for(flow_run.id) == questions_key(RUN, 1)

    with EventStore(f"sqlite:///{home / 'events.db'}") as store:
        app = webhook_app(
            SETTINGS,
            store,
            Calls().start,
            partial(resume_for_answers, store, resume=resume_suspended_for_answers),
        )
        with serving(app) as endpoint:
            [questions] = fake_github.issue(REPO, 1).comments
            assert resumed_by(endpoint, questions.body) is None  # Tamma's own comment

            fake_github.add_comment(REPO, 1, "Rewrite it in Rust.", author="drive-by")  # not an answer
            assert resumed_by(endpoint, "Rewrite it in Rust.") == str(flow_run.id)
            work()
            assert waiting_for(flow_run.id) == questions_key(RUN, 2)  # it looked, and waits again
            assert et.CLARIFICATION_RECEIVED not in run_events(home)

            fake_github.add_comment(REPO, 1, "Euros.", author="octocat")  # the reporter answers
            assert resumed_by(endpoint, "Euros.") == str(flow_run.id)
            assert resumed_by(endpoint, "Euros.") is None  # delivered twice: resumed once
            work()
            assert waiting_for(flow_run.id) == f"{RUN}-plan"
            assert resumed_by(endpoint, "Looks good") is None  # a comment never decides on the plan

        [received] = store.read(Query.of(types=[et.CLARIFICATION_RECEIVED], tags=[f"run:{RUN}"]))
    assert [reply["author"] for reply in received.data["replies"]] == ["octocat"]
    events = run_events(home)
    for once in (
        et.CLARIFICATION_REQUESTED,
        et.CLARIFICATION_RECEIVED,
        et.PLAN_PROPOSED,
        et.APPROVAL_REQUESTED,
    ):
        assert events.count(once) == 1, once
    assert et.ESCALATION_TRIGGERED not in events
