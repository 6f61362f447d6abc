"""Secrets are masked in every shape Tamma knows and configured values in every encoding; `leaks`
finds what was disguised, and ordinary text is left alone."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# Fake credentials are assembled from pieces, so no scanner mistakes this file for a leak.
ANTHROPIC_KEY = "sk-ant-api03-" + "Q7x9Lm2Pz_" * 9 + "AA"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5" * 4
DB_PASSWORD = 'p@ss w/rd+é&"x\\y'
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
PEM_BODY = [
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC7VJTUt9Us8cKj",
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu",
    "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ",
    "qgtzJ6GR3eqoYSW9b9UMvkBpZODSctWSNGj3P7jRFDO5VoTwCQAWbFnOjDfH5Ulg",
    "p2PKSQnSJP3AJLQNFNe7br1XbrhV//eO+t51mIpGSDCUv3E0DDFcWDTH9cXDTTlR",
    "Zx==",
]


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("AWS access key id", "AKIA" + "IOSFODNN7EXAMPLE"),
        ("AWS temporary key id", "ASIA" + "Y34FZKBOKMUTVV7A"),
        ("AWS role id", "AROA" + "XXXXXXXXXXXXXXXX"),
        (
            "JWT",
            "eyJhbGciOiJIUzI1NiJ9."
            + "eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ),
        ("Slack bot token", "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
        ("Slack user token", "xoxp-" + "123456789012-123456789012-123456789012-abcdef0123456789"),
        ("Google API key", "AIza" + "SyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"),
        ("Stripe live key", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
        ("Stripe test key", "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"),
        ("Stripe restricted key", "rk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
        ("npm token", "npm_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"),
        ("GitLab trigger token", "glptt-" + "0123456789abcdefABCDEF0123"),
        ("GitLab deploy token", "gldt-" + "AbCdEfGhIj0123456789xy"),
        ("GitLab runner token", "glrt-" + "t1_AbCdEfGhIj0123456789"),
        ("GitLab SCIM token", "glsoat-" + "AbCdEfGhIj0123456789xy"),
        ("GitLab CI job token", "glcbt-" + "64_AbCdEfGhIj0123456789xy"),
        ("Hugging Face token", "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234567"),
    ],
)
def test_more_token_shapes_are_masked(name: str, secret: str) -> None:
    for text in (f"{name}: {secret}\n", f'export TOKEN="{secret}"', f"({secret})"):
        masked = redact(text)
        assert secret not in masked
        assert MASK in masked


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"aws_secret_access_key = {AWS_SECRET}\n", "aws_secret_access_key = "),
        (f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", "AWS_SECRET_ACCESS_KEY="),
        (f'{{"SecretAccessKey": "{AWS_SECRET}"}}', '"SecretAccessKey": "'),
        ("Authorization: Basic dXNlcjpodW50ZXIycGFzcw==\r\n", "Authorization: Basic "),
        ('curl -H "authorization: basic dXNlcjpodW50ZXIycGFzcw=="', "curl -H "),
        ("redis://default:hunter2pass@cache:6379/0", "@cache:6379/0"),
        ("amqp://guest:hunter2pass@rabbit/", "amqp://"),
    ],
)
def test_labelled_credentials_are_masked_and_the_label_kept(text: str, kept: str) -> None:
    masked = redact(text)
    for leaked in (AWS_SECRET, "dXNlcjpodW50ZXIycGFzcw", "hunter2pass"):
        assert leaked not in masked
    assert kept in masked
    assert MASK in masked


def test_an_aws_key_id_inside_a_longer_word_is_left_alone() -> None:
    text = "XAKIA" + "IOSFODNN7EXAMPLE and AKIA" + "IOSFODNN7EXAMPLEX"
    assert redact(text) == text


def _pem(label: str, body: list[str]) -> str:
    return "\n".join([f"-----BEGIN {label}-----", *body, f"-----END {label}-----"])


@pytest.mark.parametrize(
    "label",
    ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"],
)
def test_a_whole_private_key_block_is_masked(label: str) -> None:
    masked = redact(f"$ cat key\n{_pem(label, PEM_BODY)}\n$ echo done\n")
    assert masked == f"$ cat key\n{MASK}\n$ echo done\n"


def test_an_encrypted_key_with_headers_is_masked() -> None:
    body = ["Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,3F17F5316E2BAC89", "", *PEM_BODY]
    assert redact(_pem("RSA PRIVATE KEY", body)) == MASK


@pytest.mark.parametrize("cut", [1, 30, 64, 100, 200])
def test_a_key_whose_begin_line_was_cut_off_is_masked(cut: int) -> None:
    """The tail of a long output: it starts inside the base64 body."""
    tail = _pem("RSA PRIVATE KEY", PEM_BODY)[40 + cut :]
    masked = redact(f"{tail}\nexit status 0")
    assert masked == f"{MASK}\nexit status 0"
    after_a_note = redact(f"... 4096 bytes cut ...\n{tail}\n")
    assert after_a_note == f"... 4096 bytes cut ...\n{MASK}\n"


@pytest.mark.parametrize("cut", [40, 100, 200])
def test_a_key_whose_end_was_cut_off_is_masked(cut: int) -> None:
    """The head of a long output: BEGIN, then base64 lines up to the end of the text."""
    head = _pem("OPENSSH PRIVATE KEY", PEM_BODY)[: 36 + cut]
    assert redact(f"$ cat id_ed25519\n{head}") == f"$ cat id_ed25519\n{MASK}"
    assert redact(f"{head}\nthe rest stays") == f"{MASK}\nthe rest stays"


def test_a_key_inside_a_json_string_is_masked_whole_or_cut() -> None:
    """A service account file: the key's line breaks are escaped."""
    document = json.dumps({"type": "service_account", "private_key": _pem("PRIVATE KEY", PEM_BODY) + "\n"})
    assert redact(document) == json.dumps({"type": "service_account", "private_key": MASK + "\n"})
    tail = redact(document[100:])
    assert not any(line in tail for line in PEM_BODY)


def test_text_after_a_key_is_kept() -> None:
    masked = redact(_pem("EC PRIVATE KEY", PEM_BODY) + "\nthe rest of the log\n")
    assert masked == f"{MASK}\nthe rest of the log\n"


def _only_encoding(stream: bytes, part: bytes, encoded: str) -> str:
    """The characters of `encoded` (the base64 of `stream`) that encode nothing but `part`."""
    start = stream.index(part)
    return encoded.replace("\n", "")[-(-start * 4 // 3) : (start + len(part)) * 4 // 3]


def _assert_unreadable(chars: str, masked: str) -> None:
    unwrapped = masked.replace("\n", "")
    assert all(chars[at : at + 8] not in unwrapped for at in range(len(chars) - 7))


@pytest.mark.parametrize("suffix", [b"\0B=2", b"|B=2"])  # `|` sets the high bits a cut depends on
@pytest.mark.parametrize("shift", [0, 1, 2])
@pytest.mark.parametrize(
    "secret",
    # The last two have `+` and `/` in their base64, where the URL-safe alphabet differs.
    [
        ANTHROPIC_KEY,
        GITHUB_TOKEN,
        DB_PASSWORD,
        "correct-horse",
        "tilde~~~question???",
        "\xfb\xff\xfe\xfd\xfc\xfb",
    ],
)
def test_a_secret_inside_a_longer_base64_stream_is_masked_at_each_alignment(
    secret: str, shift: int, suffix: bytes
) -> None:
    redactor = Redactor(secrets=[secret])
    stream = b"A=1" + b"x" * shift + b"\0KEY=" + secret.encode() + suffix
    for encode in (base64.b64encode, base64.urlsafe_b64encode, base64.encodebytes):
        encoded = encode(stream).decode()
        masked = redactor.text(encoded)
        assert masked.startswith(encoded[:4])  # the characters of `A=1` stay
        assert MASK in masked
        _assert_unreadable(_only_encoding(stream, secret.encode(), encoded), masked)


def test_the_environment_of_a_parent_process_in_base64_is_masked() -> None:
    """`base64 < /proc/$PPID/environ`, as a tool call could print it: wrapped at 76 columns."""
    redactor = Redactor(secrets=[ANTHROPIC_KEY, GITHUB_TOKEN])
    environ = f"HOME=/root\0ANTHROPIC_API_KEY={ANTHROPIC_KEY}\0GITHUB_TOKEN={GITHUB_TOKEN}\0PWD=/w\0"
    printed = base64.encodebytes(environ.encode()).decode()
    masked = redactor.text(printed)
    assert masked.count(MASK) == 2
    for secret in (ANTHROPIC_KEY, GITHUB_TOKEN):
        _assert_unreadable(_only_encoding(environ.encode(), secret.encode(), printed), masked)
    assert redactor.leaks(masked) == []


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: urllib.parse.quote(s, safe=""),
        urllib.parse.quote_plus,
        lambda s: s.encode().hex(),
        lambda s: s.encode().hex().upper(),
        lambda s: json.dumps(s)[1:-1],
        lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    ],
    ids=["quote", "quote_plus", "hex", "HEX", "json", "json-unicode"],
)
def test_encoded_forms_of_a_secret_are_masked(encode: Callable[[str], str]) -> None:
    redactor = Redactor(secrets=[DB_PASSWORD])
    form = encode(DB_PASSWORD)
    assert form != DB_PASSWORD
    assert redactor.text(f"url=https://h/?p={form}&next=1") == f"url=https://h/?p={MASK}&next=1"


def test_hex_wrapped_by_xxd_is_masked() -> None:
    redactor = Redactor(secrets=[ANTHROPIC_KEY])
    hexed = ("00ff" + ANTHROPIC_KEY.encode().hex() + "00ff").encode()
    printed = "\n".join(hexed[i : i + 60].decode() for i in range(0, len(hexed), 60))
    masked = redactor.text(printed)
    assert masked.startswith("00ff" + MASK)
    assert ANTHROPIC_KEY.encode().hex()[10:30] not in masked.replace("\n", "")


def test_nested_values_are_masked_in_every_form() -> None:
    redactor = Redactor(secrets=[GITHUB_TOKEN])
    hexed = GITHUB_TOKEN.encode().hex()
    value = {"a": ({"b": [f"x {hexed}"]}, GITHUB_TOKEN), hexed: None, "n": 3}
    assert redactor.value(value) == {"a": [{"b": [f"x {MASK}"]}, MASK], MASK: None, "n": 3}


def spaced(secret: str) -> str:
    return " ".join(secret)


@pytest.mark.parametrize(
    ("disguise", "how"),
    [
        (spaced, "spaced out"),
        (lambda s: "\n".join(s[i : i + 5] for i in range(0, len(s), 5)), "spaced out"),
        (lambda s: "\u200b".join(s), "split by invisible characters"),
        (lambda s: "\u2060".join(s[:10]) + "\ufeff" + s[10:], "split by invisible characters"),
        (lambda s: "\u00ad".join(s), "split by invisible characters"),
        (lambda s: f"`{s[:8]}`{s[8:]}".replace("-", "\\-"), "markdown-escaped"),
        (str.upper, "case changed"),
    ],
    ids=["spaces", "lines", "zero-width-space", "word-joiner", "soft-hyphen", "markdown", "upper"],
)
def test_leaks_finds_a_disguised_secret_after_redaction(disguise: Callable[[str], str], how: str) -> None:
    shapeless = "correct-horse-battery-staple"
    redactor = Redactor(secrets=[GITHUB_TOKEN, shapeless])
    published = redactor.text(f"## Result\n\nThe password is {disguise(shapeless)}.\n")
    assert redactor.leaks(published) == [f"configured secret #2 ({how})"]


def test_leaks_names_a_secret_without_repeating_it() -> None:
    redactor = Redactor(secrets=["abc", GITHUB_TOKEN])  # "abc" is too short, but keeps its number
    found = redactor.leaks(f"the token: {spaced(GITHUB_TOKEN)}")
    assert found == ["configured secret #2 (spaced out)"]
    assert redactor.leaks(GITHUB_TOKEN) == ["configured secret #2 (verbatim)", "GitHub token"]


def test_leaks_finds_a_disguised_encoded_secret() -> None:
    redactor = Redactor(secrets=[DB_PASSWORD])
    assert redactor.leaks(spaced(DB_PASSWORD.encode().hex())) == ["configured secret #1 (hex, spaced out)"]


def test_leaks_finds_a_token_shape_split_by_invisible_characters() -> None:
    redactor = Redactor()
    key_id = "AKIA" + "IOSFODNN7EXAMPLE"
    assert redactor.leaks(f"id: {key_id[:4]}\u200b{key_id[4:]}") == ["AWS access key id"]
    assert redactor.leaks(f"token {GITHUB_TOKEN}") == ["GitHub token"]
    assert redactor.leaks(_pem("PRIVATE KEY", PEM_BODY)[50:]) == ["private key"]


ORDINARY = [
    "the quick brown fox jumps over the lazy dog; a bearer of good news",
    "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nMerge: 3e6bdcc 029b787",
    "request id 123e4567-e89b-12d3-a456-426614174000 took 12 ms",
    "tests/test_x.py::test_parse[case-0] PASSED\nE   AssertionError: assert 12 == 13\n"
    "FAILED tests/test_x.py::test_y - KeyError: 'global-configuration-settings'\n"
    "========= 1 failed, 41 passed in 3.21s =========",
    '"""A module."""\n\nfrom __future__ import annotations\n\nimport base64\n\n\n'
    "def run_task(task_name: str, *, retries: int = 3) -> dict[str, object]:\n"
    '    """Run the task-runner-configuration-file step."""\n'
    '    return {"name": task_name, "disk-usage-monitoring-service": retries}\n',
    "diff --git a/x.css b/x.css\n+.glossary-item-with-a-very-long-name { color: red }",
    "data: " + base64.b64encode(bytes(range(256))).decode(),
    "see https://example.com/a/b?q=1#frag and ssh://git@github.com/o/r.git",
    "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU fingerprint; key ID AKIAISNOTAKEY",
    "the key file starts with -----BEGIN and ends with END",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_prose_and_code_are_not_masked(text: str) -> None:
    redactor = Redactor(secrets=[ANTHROPIC_KEY, GITHUB_TOKEN, DB_PASSWORD])
    assert redact(text) == text
    assert redactor.text(text) == text
    assert redactor.leaks(text) == []


@pytest.mark.parametrize(
    "text",
    [
        f"key={ANTHROPIC_KEY} token={GITHUB_TOKEN}",
        base64.b64encode(f"X=1\0K={ANTHROPIC_KEY}\0".encode()).decode(),
        base64.encodebytes(f"PWD=/\0P={DB_PASSWORD}\0".encode()).decode(),
        urllib.parse.quote_plus(DB_PASSWORD) + " " + DB_PASSWORD.encode().hex(),
        json.dumps({"password": DB_PASSWORD, "url": "https://u:hunter2pass@h/"}),
        "Authorization: Bearer abcdefghijkl\npassword=hunter2&x=1\n" + _pem("RSA PRIVATE KEY", PEM_BODY),
        _pem("PRIVATE KEY", PEM_BODY)[70:] + "\n" + _pem("EC PRIVATE KEY", PEM_BODY)[:90],
        "AKIA" + "IOSFODNN7EXAMPLE " + AWS_SECRET + f" aws_secret_access_key={AWS_SECRET}",
        *ORDINARY,
    ],
)
def test_redacted_text_has_no_leaks(text: str) -> None:
    redactor = Redactor(secrets=[ANTHROPIC_KEY, GITHUB_TOKEN, DB_PASSWORD])
    assert redactor.leaks(redactor.text(text)) == []


@given(st.lists(st.one_of(st.text(), st.sampled_from([ANTHROPIC_KEY, DB_PASSWORD, "\n", " "])), max_size=8))
@settings(max_examples=200, deadline=None)
def test_any_text_is_redacted_without_raising_and_then_has_no_leaks(pieces: list[str]) -> None:
    redactor = Redactor(secrets=[ANTHROPIC_KEY, DB_PASSWORD])
    masked = redactor.text("".join(pieces))
    assert ANTHROPIC_KEY not in masked
    assert DB_PASSWORD not in masked
    assert redactor.leaks(masked) == []


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb\x00c", "\x00" * 10, "é\ud83d", "\udc80" * 1000])
def test_redaction_never_raises(text: str) -> None:
    redactor = Redactor(secrets=["\ud800secret-value", GITHUB_TOKEN])
    assert redactor.text(text) == text
    assert redactor.text(f"{text} {GITHUB_TOKEN} {text}") == f"{text} {MASK} {text}"
    assert redactor.leaks(text) == []


def test_case_insensitive_labels_are_found_after_a_dotted_capital_i() -> None:
    """`"İ".lower()` is two characters; the lowercased text must keep the text's positions."""
    assert redact("İİİİ BEARER abcdefghijkl") == f"İİİİ BEARER {MASK}"


@pytest.mark.parametrize(
    "text",
    [
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA " * 20_000,
        ("QUJD\n" * 3 + "-----END PRIVATE KEY-----") * 20_000,
        ("A" * 64 + "\n") * 15_000,
        "A" * 1_000_000,
        "://a:b" * 150_000,
        "Bearer " * 140_000,
        "password=" * 110_000,
        "eyJa.eyJb" * 100_000,
    ],
    ids=["begins", "ends", "base64-run", "one-line", "urls", "bearers", "passwords", "jwts"],
)
def test_adversarial_megabytes_are_redacted_in_linear_time(text: str) -> None:
    """A regex that backtracks takes minutes here; these take tens of milliseconds."""
    redactor = Redactor(secrets=[ANTHROPIC_KEY, GITHUB_TOKEN, DB_PASSWORD])
    started = time.perf_counter()
    redactor.text(text)
    assert time.perf_counter() - started < 2
