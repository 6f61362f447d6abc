"""The fake GitLab checked through the real python-gitlab client (and, for raw headers, requests).

Why: Tamma's GitLab adapter is tested against this fake, so the fake must answer what
python-gitlab expects from gitlab.com: paths with URL-encoded project paths, paging by `Link`
headers, 429s the client retries by itself, and errors it maps to its typed exceptions.
"""

from __future__ import annotations

import json

import gitlab
import pytest
import requests
from gitlab.v4.objects import Project as GLProject

from tests.fakes._server import Disconnect, error_reply
from tests.fakes.gitlab import TOKEN, FakeGitLab

PATH = "group/sub/project"


@pytest.fixture
def gl(fake_gitlab: FakeGitLab) -> gitlab.Gitlab:
    return gitlab.Gitlab(url=fake_gitlab.url, private_token=TOKEN)


@pytest.fixture
def project(fake_gitlab: FakeGitLab, gl: gitlab.Gitlab) -> GLProject:
    fake_gitlab.add_project(PATH)
    return gl.projects.get(PATH)


# -- projects, auth, errors ----------------------------------------------------------------------


def test_project_by_encoded_path_and_by_id(fake_gitlab: FakeGitLab, gl: gitlab.Gitlab) -> None:
    seeded = fake_gitlab.add_project(PATH, default_branch="trunk")

    by_path = gl.projects.get(PATH)
    by_id = gl.projects.get(seeded.id)

    assert fake_gitlab.requests[0].path == "/api/v4/projects/group%2Fsub%2Fproject"
    assert (by_path.id, by_id.path_with_namespace) == (seeded.id, PATH)
    assert by_path.default_branch == "trunk"
    assert by_path.http_url_to_repo == f"{fake_gitlab.url}/{PATH}.git"
    assert fake_gitlab.last_request.headers["private-token"] == TOKEN


def test_unknown_project_is_a_404_in_gitlab_shape(gl: gitlab.Gitlab) -> None:
    with pytest.raises(gitlab.GitlabGetError) as raised:
        gl.projects.get("nobody/nothing")
    assert (raised.value.response_code, raised.value.error_message) == (404, "404 Project Not Found")


def test_bad_token_is_401_and_read_api_token_may_not_write(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_project(PATH)
    fake_gitlab.add_token("glpat-readonly", scopes=("read_api",))

    with pytest.raises(gitlab.GitlabAuthenticationError) as unauthorized:
        gitlab.Gitlab(url=fake_gitlab.url, private_token="glpat-wrong").projects.get(PATH)
    readonly = gitlab.Gitlab(url=fake_gitlab.url, private_token="glpat-readonly").projects.get(PATH)
    with pytest.raises(gitlab.GitlabCreateError) as forbidden:
        readonly.issues.create({"title": "nope"})

    assert unauthorized.value.response_code == 401
    assert (forbidden.value.response_code, forbidden.value.error_message) == (403, "insufficient_scope")
    assert b'"scope": "api"' in (forbidden.value.response_body or b"")


def test_scripted_replies_answer_first_then_state_resumes(
    fake_gitlab: FakeGitLab, project: GLProject
) -> None:
    fake_gitlab.enqueue(error_reply(502, {"message": "502 Bad Gateway"}), Disconnect())

    with pytest.raises(gitlab.GitlabListError) as raised:
        project.issues.list(get_all=True)
    with pytest.raises(requests.ConnectionError):
        project.issues.list(get_all=True)

    assert raised.value.response_code == 502
    assert project.issues.list(get_all=True) == []


# -- issues, notes, labels, assignees ------------------------------------------------------------


def test_labelled_issues_page_by_link_headers(fake_gitlab: FakeGitLab, project: GLProject) -> None:
    fake_gitlab.add_issues(PATH, 45, labels=("tamma", "ready"))
    fake_gitlab.add_issue(PATH, "Unlabelled")
    fake_gitlab.add_issue(PATH, "Done", labels=["tamma"], state="closed")
    before = len(fake_gitlab.requests)

    pages = project.issues.list(labels=["tamma"], state="opened", per_page=20, iterator=True)
    titles = [issue.title for issue in pages]

    assert (pages.total, pages.total_pages, pages.per_page) == (45, 3, 20)
    assert sorted(titles, key=lambda t: int(t.split()[1])) == [f"Issue {n}" for n in range(1, 46)]
    asked = fake_gitlab.requests[before:]
    assert [r.query for r in asked] == [
        "labels=tamma&state=opened&per_page=20",
        "labels=tamma&state=opened&per_page=20&page=2",
        "labels=tamma&state=opened&per_page=20&page=3",
    ]
    assert len(project.issues.list(labels="tamma,ready", get_all=True)) == 45


def test_paging_headers_on_the_wire(fake_gitlab: FakeGitLab, gl: gitlab.Gitlab) -> None:
    seeded = fake_gitlab.add_project(PATH)
    fake_gitlab.add_issues(PATH, 5)

    response = gl.http_get(f"/projects/{seeded.id}/issues", query_data={"per_page": 2, "page": 2}, raw=True)

    assert isinstance(response, requests.Response)
    assert len(response.json()) == 2
    assert {
        k: response.headers[k] for k in ("X-Page", "X-Next-Page", "X-Prev-Page", "X-Total", "X-Total-Pages")
    } == {
        "X-Page": "2",
        "X-Next-Page": "3",
        "X-Prev-Page": "1",
        "X-Total": "5",
        "X-Total-Pages": "3",
    }
    assert set(response.links) == {"prev", "next", "first", "last"}
    assert response.links["next"]["url"].endswith("/issues?per_page=2&page=3")


def test_issue_filters_by_state_and_assignee(fake_gitlab: FakeGitLab, project: GLProject) -> None:
    fake_gitlab.add_issue(PATH, "Mine", assignees=["alice"])
    fake_gitlab.add_issue(PATH, "Theirs", assignees=["bob"])
    fake_gitlab.add_issue(PATH, "Old", assignees=["alice"], state="closed")

    mine = project.issues.list(assignee_username="alice", state="opened", get_all=True)
    closed = project.issues.list(state="closed", get_all=True)

    assert [issue.title for issue in mine] == ["Mine"]
    assert mine[0].assignees[0]["username"] == "alice"
    assert [issue.title for issue in closed] == ["Old"]


def test_notes_are_created_listed_and_found_by_marker(fake_gitlab: FakeGitLab, project: GLProject) -> None:
    fake_gitlab.add_issue(PATH, "Fix it")
    fake_gitlab.add_note(PATH, 1, "First look")
    issue = project.issues.get(1)

    created = issue.notes.create({"body": "Plan\n<!-- tamma:plan-1 -->"})
    listed = issue.notes.list(get_all=True)

    assert (created.author["username"], created.noteable_iid) == ("root", 1)
    assert [note.body.split("\n")[0] for note in listed] == ["Plan", "First look"]  # newest first
    assert next(note for note in listed if "<!-- tamma:plan-1 -->" in note.body).id == created.id
    assert project.issues.get(1).user_notes_count == 2
    with pytest.raises(gitlab.GitlabCreateError) as blank:
        issue.notes.create({"body": " "})
    with pytest.raises(gitlab.GitlabHttpError) as missing:
        project.manager.gitlab.http_post(f"{issue.notes.path}", post_data={})
    assert blank.value.response_code == 400
    assert json.loads(blank.value.response_body or b"") == {"message": {"note": ["can't be blank"]}}
    assert (missing.value.response_code, missing.value.error_message) == (400, "body is missing")


def test_labels_assignees_and_closing(fake_gitlab: FakeGitLab, gl: gitlab.Gitlab, project: GLProject) -> None:
    fake_gitlab.add_issue(PATH, "Fix it", labels=["tamma"])
    alice = gl.users.list(username="alice", get_all=True)
    assert alice == []
    fake_gitlab.add_user("alice")
    (alice_user,) = gl.users.list(username="alice", get_all=True)

    issue = project.issues.get(1)
    issue.labels = [*issue.labels, "in-progress"]
    issue.assignee_ids = [alice_user.id]
    issue.save()
    project.issues.update(1, {"remove_labels": "tamma", "add_labels": "needs-review"})
    project.issues.update(1, {"state_event": "close"})

    stored = fake_gitlab.project(PATH).issues[1]
    assert stored.labels == ["in-progress", "needs-review"]
    assert [user.username for user in stored.assignees] == ["alice"]
    assert (stored.state, project.issues.get(1).state) == ("closed", "closed")
    assert {label.name for label in project.labels.list(get_all=True)} == {
        "tamma",
        "in-progress",
        "needs-review",
    }


# -- branches and merge requests -----------------------------------------------------------------


def test_branch_create_get_delete_and_refusals(fake_gitlab: FakeGitLab, project: GLProject) -> None:
    main_sha = fake_gitlab.project(PATH).branches["main"]

    created = project.branches.create({"branch": "tamma/issue-1", "ref": "main"})
    with pytest.raises(gitlab.GitlabCreateError) as duplicate:
        project.branches.create({"branch": "tamma/issue-1", "ref": "main"})
    with pytest.raises(gitlab.GitlabCreateError) as bad_ref:
        project.branches.create({"branch": "other", "ref": "no-such-ref"})

    assert created.commit["id"] == main_sha
    assert fake_gitlab.last_request.method == "POST"
    assert project.branches.get("tamma/issue-1").name == "tamma/issue-1"
    assert (duplicate.value.response_code, duplicate.value.error_message) == (400, "Branch already exists")
    assert bad_ref.value.response_code == 400
    project.branches.delete("tamma/issue-1")
    with pytest.raises(gitlab.GitlabGetError) as gone:
        project.branches.get("tamma/issue-1")
    assert (gone.value.response_code, gone.value.error_message) == (404, "404 Branch Not Found")


def test_merge_request_create_find_update_and_duplicate(fake_gitlab: FakeGitLab, project: GLProject) -> None:
    sha = fake_gitlab.push(PATH, "tamma/issue-1", "Fix")
    data = {
        "source_branch": "tamma/issue-1",
        "target_branch": "main",
        "title": "Draft: Fix #1",
        "description": "a",
    }

    created = project.mergerequests.create(data)
    (found,) = project.mergerequests.list(source_branch="tamma/issue-1", state="opened", get_all=True)
    found.description = "a <!-- tamma:run-7 -->"
    found.save()
    with pytest.raises(gitlab.GitlabCreateError) as duplicate:
        project.mergerequests.create(data)

    assert (created.iid, created.sha, created.draft, created.state) == (1, sha, True, "opened")
    assert fake_gitlab.requests[-2].method == "PUT"
    assert project.mergerequests.get(1).description == "a <!-- tamma:run-7 -->"
    assert duplicate.value.response_code == 409
    assert (
        "Another open merge request already exists for this source branch: !1"
        in duplicate.value.error_message
    )
    assert project.mergerequests.list(source_branch="elsewhere", get_all=True) == []


def test_merge_with_squash_moves_target_and_deletes_source(
    fake_gitlab: FakeGitLab, project: GLProject
) -> None:
    fake_gitlab.add_merge_request(PATH, source_branch="tamma/issue-1", title="Draft: Fix")
    mr = project.mergerequests.get(1)
    with pytest.raises(gitlab.GitlabMRClosedError) as draft:
        mr.merge()
    mr.title = "Fix"
    mr.save()

    merged = mr.merge(squash=True, should_remove_source_branch=True)

    stored = fake_gitlab.project(PATH)
    assert draft.value.response_code == 405
    assert merged["state"] == "merged"
    assert stored.branches["main"] == merged["merge_commit_sha"]
    assert stored.commits[merged["squash_commit_sha"]].title == "Fix"
    assert "tamma/issue-1" not in stored.branches
    with pytest.raises(gitlab.GitlabMRClosedError) as again:
        mr.merge()
    assert again.value.response_code == 405


def test_merge_refusals_conflict_ci_and_stale_sha(fake_gitlab: FakeGitLab, project: GLProject) -> None:
    fake_gitlab.project(PATH).only_allow_merge_if_pipeline_succeeds = True
    mr_record = fake_gitlab.add_merge_request(PATH, source_branch="tamma/issue-1")
    pipeline = fake_gitlab.add_pipeline(PATH, ref="tamma/issue-1", jobs={"test": "failed"})
    mr = project.mergerequests.get(1)

    with pytest.raises(gitlab.GitlabMRClosedError) as ci_failed:
        mr.merge()
    fake_gitlab.set_pipeline(pipeline, status="success")
    fake_gitlab.set_merge_request(PATH, 1, has_conflicts=True)
    with pytest.raises(gitlab.GitlabMRClosedError) as conflict:
        mr.merge()
    fake_gitlab.set_merge_request(PATH, 1, has_conflicts=False)
    with pytest.raises(gitlab.GitlabMRClosedError) as stale:
        mr.merge(sha="0" * 40)

    assert [e.value.response_code for e in (ci_failed, conflict, stale)] == [405, 422, 409]
    assert stale.value.error_message == f"SHA does not match HEAD of source branch: {mr_record.sha}"
    assert mr.merge(sha=mr_record.sha)["state"] == "merged"


# -- CI: pipelines, jobs, logs, commit statuses --------------------------------------------------


def test_pipeline_pending_then_failed_with_log_then_success(
    fake_gitlab: FakeGitLab, project: GLProject
) -> None:
    mr = fake_gitlab.add_merge_request(PATH, source_branch="tamma/issue-1")
    pipeline = fake_gitlab.add_pipeline(PATH, ref="tamma/issue-1")
    lint = fake_gitlab.add_job(pipeline, "lint", status="pending")
    test = fake_gitlab.add_job(pipeline, "test", status="pending")
    assert [p.status for p in project.pipelines.list(sha=mr.sha, get_all=True)] == ["pending"]

    fake_gitlab.set_job(lint, status="success")
    fake_gitlab.set_job(test, status="failed", trace="$ pytest\nE   assert 1 == 2\n")
    gl_mr = project.mergerequests.get(mr.iid)
    (failed,) = project.pipelines.get(pipeline.id).jobs.list(scope=["failed"], get_all=True)
    log = project.jobs.get(failed.id, lazy=True).trace()

    assert gl_mr.head_pipeline["status"] == "failed"
    assert (failed.name, failed.failure_reason, failed.pipeline["sha"]) == ("test", "script_failure", mr.sha)
    assert log == b"$ pytest\nE   assert 1 == 2\n"
    assert fake_gitlab.last_request.path.endswith(f"/jobs/{test.id}/trace")

    new_sha = fake_gitlab.push(PATH, "tamma/issue-1", "Fix the test")
    fake_gitlab.add_pipeline(PATH, merge_request=mr.iid, jobs={"lint": "success", "test": "success"})
    statuses = [(p.source, p.status) for p in project.mergerequests.get(mr.iid).pipelines.list(get_all=True)]
    assert statuses == [("merge_request_event", "success"), ("push", "failed")]
    assert project.mergerequests.get(mr.iid).head_pipeline["sha"] == new_sha


def test_commit_statuses(project: GLProject, fake_gitlab: FakeGitLab) -> None:
    sha = fake_gitlab.project(PATH).branches["main"]
    commit = project.commits.get(sha, lazy=True)

    commit.statuses.create({"state": "running", "name": "tamma/ci", "target_url": "https://ci.example/1"})
    commit.statuses.create({"state": "failed", "name": "tamma/ci"})

    (status,) = commit.statuses.list(get_all=True)
    assert (status.status, status.name, status.target_url) == ("failed", "tamma/ci", "https://ci.example/1")
    with pytest.raises(gitlab.GitlabCreateError) as invalid:
        commit.statuses.create({"state": "exploded"})
    assert invalid.value.response_code == 400


# -- rate limits ---------------------------------------------------------------------------------


def test_every_answer_carries_rate_limit_headers(fake_gitlab: FakeGitLab, gl: gitlab.Gitlab) -> None:
    fake_gitlab.add_project(PATH)
    fake_gitlab.set_rate_limit(100, remaining=10)

    response = gl.http_get("/projects/group%2Fsub%2Fproject", raw=True)

    assert isinstance(response, requests.Response)
    assert (response.headers["RateLimit-Limit"], response.headers["RateLimit-Remaining"]) == ("100", "9")
    assert int(response.headers["RateLimit-Reset"]) > 0


def test_python_gitlab_retries_a_429_by_itself(fake_gitlab: FakeGitLab, gl: gitlab.Gitlab) -> None:
    fake_gitlab.add_project(PATH)
    fake_gitlab.throttle(2, retry_after=0)

    assert gl.projects.get(PATH).path_with_namespace == PATH
    assert len(fake_gitlab.requests) == 3


def test_429_is_an_error_when_the_client_does_not_obey_rate_limits(
    fake_gitlab: FakeGitLab, gl: gitlab.Gitlab
) -> None:
    fake_gitlab.add_project(PATH)
    fake_gitlab.throttle(1, retry_after=30)

    with pytest.raises(gitlab.GitlabHttpError) as raised:
        gl.http_get("/projects/group%2Fsub%2Fproject", obey_rate_limit=False)

    assert (raised.value.response_code, raised.value.error_message) == (429, "Retry later\n")
    assert len(fake_gitlab.requests) == 1


def test_an_exhausted_budget_answers_429_until_reset(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_project(PATH)
    fake_gitlab.set_rate_limit(10, remaining=0, reset_in=20)

    response = requests.get(f"{fake_gitlab.api_url}/user", headers={"PRIVATE-TOKEN": TOKEN}, timeout=5)

    assert response.status_code == 429
    assert 19 <= int(response.headers["Retry-After"]) <= 20
    assert response.headers["RateLimit-Remaining"] == "0"
    assert int(response.headers["RateLimit-Reset"]) >= int(response.headers["Retry-After"])
