"""Secrets are masked in every shape Tamma knows, and configured values exactly."""

from __future__ import annotations

import pytest

from tamma.redaction import MASK, Redactor, redact


@pytest.mark.parametrize(
    "secret",
    [
        "sk-ant-api03-AbCdEf0123456789_xyz",
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
        "ghp_" + "a1B2" * 9,
        "gho_" + "Z9y8" * 9,
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
        "glpat-abcdefghij0123456789",
    ],
)
def test_token_shapes_are_masked(secret: str) -> None:
    masked = redact(f"token={secret} and more")
    assert secret not in masked
    assert MASK in masked


def test_bearer_private_keys_and_url_passwords_are_masked() -> None:
    text = (
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig\n"
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n"
        "postgresql://tamma:hunter2pw@db:5432/x https://h/?password=s3cr3t&x=1"
    )
    masked = redact(text)
    for leaked in ("eyJhbGciOiJIUzI1NiJ9", "MIIEow", "hunter2pw", "s3cr3t"):
        assert leaked not in masked
    assert "db:5432/x" in masked


def test_configured_secret_values_are_masked_whatever_their_shape() -> None:
    redactor = Redactor(secrets=["correct-horse-battery", "abc"])
    assert redactor.text("key correct-horse-battery here") == f"key {MASK} here"
    assert redactor.text("abc stays: too short to be a secret") == "abc stays: too short to be a secret"
    nested = redactor.value({"a": ["x correct-horse-battery"], "correct-horse-battery": 1})
    assert nested == {"a": [f"x {MASK}"], MASK: 1}
