"""Issue references parse strictly and print one form; CI status combines its checks."""

from __future__ import annotations

import pytest

from tamma.errors import InvalidReference
from tamma.platforms import Check, CIStatus, IssueRef, marker


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("github:octo/hello-world#12", "github:octo/hello-world#12"),
        ("gitlab:group/sub/project#7", "gitlab:group/sub/project#7"),
        ("local:demo#1", "local:demo#1"),
        ("https://github.com/octo/hello-world/issues/12", "github:octo/hello-world#12"),
        ("https://github.example.com/octo/repo/pull/3?x=1", "github:octo/repo#3"),
        ("https://gitlab.com/group/sub/project/-/issues/7", "gitlab:group/sub/project#7"),
        ("  local:demo#1\n", "local:demo#1"),
    ],
)
def test_references_parse_and_print_one_form(text: str, expected: str) -> None:
    ref = IssueRef.parse(text)
    assert str(ref) == expected
    assert IssueRef.parse(str(ref)) == ref
    assert ref.tag == f"issue:{expected}"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "github:octo#12",
        "github:a/b/c#1",
        "local:a/b#1",
        "gitlab:proj#1",
        "github:octo/repo#0",
        "github:octo/repo#-1",
        "jira:ABC-1",
        "github:octo/../etc#1",
        "https://github.com/octo/repo/wiki",
        "github:octo/repo#12; rm -rf /",
    ],
)
def test_anything_else_is_an_invalid_reference(text: str) -> None:
    with pytest.raises(InvalidReference, match=r"github:owner/repo#12|repository is written"):
        IssueRef.parse(text)


def test_ci_status_combines_checks() -> None:
    passing = Check(name="lint", state="success")
    assert CIStatus(sha="a").state == "pending"
    assert CIStatus(sha="a", checks=(passing, Check(name="t", state="pending"))).state == "pending"
    failing = CIStatus(sha="a", checks=(passing, Check(name="t", state="failure", log_id="9")))
    assert failing.state == "failure"
    assert [c.log_id for c in failing.failed] == ["9"]
    assert CIStatus(sha="a", checks=(passing,)).state == "success"


def test_marker_is_a_hidden_html_comment() -> None:
    assert marker("0f3a") == "<!-- tamma:0f3a -->"
