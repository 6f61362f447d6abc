"""Masking secrets in anything Tamma writes: events, logs, artifacts, error messages.

Two nets. Patterns catch the well-known token shapes: cloud and platform tokens, JWTs, private
key blocks (also cut off at either end), credentials in URLs and headers. `Redactor(secrets=...)`
also masks the values Tamma was configured with, whatever their shape, in the encodings a
process can print them in: base64 (also as part of a longer stream, as in
`base64 < /proc/$PPID/environ`), percent-encoding, hex and JSON escapes.

`Redactor.leaks` is the last check before text is published: it finds what redaction cannot
mask because someone took it apart (spaced out, split by invisible characters, case changed)
and names it without repeating it.

Redaction runs on every event Tamma writes, so the regexes are compiled once, have no nested
quantifiers that could backtrack, and start with a literal wherever they can: a search skips
ahead to a literal, but steps through every character for a class or a case-insensitive word
(about ten times slower), so case-insensitive shapes are searched in the lowercased text.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "Redactor", "redact"]

MASK = "[REDACTED]"

_MIN_SECRET_LENGTH = 6
_MIN_BASE64_FRAGMENT = 8
"""Shorter, the stable middle of a secret's base64 could turn up in other base64 by chance."""

_WRAP = r"(?:\r?\n)?"
"""Between the characters of a base64 or hex form: `base64` wraps at 76 columns, `xxd -p` at 60."""


@dataclass(frozen=True)
class _Shape:
    """A token shape; a match is masked whole, or only its `secret` group when it has one (so
    `Authorization: Basic` or `password=` stay readable).

    An `any_case` pattern is written in lowercase and searched in the lowercased text, whose
    positions are those of the text (see `_lowered`): its label stays a literal that the search
    can skip ahead to (see the module docstring)."""

    name: str
    pattern: re.Pattern[str]
    any_case: bool = False

    def spans(self, text: str, lowered: str) -> Iterator[tuple[int, int]]:
        """Where `text` needs masking."""
        for match in self.pattern.finditer(lowered if self.any_case else text):
            yield match.span("secret") if "secret" in self.pattern.groupindex else match.span()

    def sub(self, text: str, lowered: str) -> str:
        """`text` masked; `text` itself when nothing matched."""
        pieces, done = [], 0
        for start, end in self.spans(text, lowered):
            pieces += [text[done:start], MASK]
            done = end
        return "".join([*pieces, text[done:]]) if pieces else text


def _lowered(text: str) -> str:
    """`text.lower()` with the same length, so positions in one are positions in the other:
    U+0130 is the only character whose lowercase is two characters."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text.replace("\u0130", "i").lower()


def _mask_secret(match: re.Match[str]) -> str:
    if match["secret"] is None:
        return match[0]
    start, end = match.span("secret")
    return match.string[match.start() : start] + MASK + match.string[end : match.end()]


_EOL = r"(?:\r?\n|\\r\\n|\\n)"
"""Real line breaks, and the escaped ones of a key inside a JSON string (a service account file)."""
_KEY_LABEL = r"[A-Z0-9 ]*PRIVATE KEY[A-Z ]*"
_KEY_LINE = r"[ \t]*+[A-Za-z0-9+/=]++[ \t]*+(?=[\r\n\\\"']|\Z)"
_KEY_HEADERS = rf"(?:{_EOL}[A-Za-z-]++:[^\r\n\\]*+)*+(?:{_EOL}[ \t]*+(?={_EOL}))?"  # Proc-Type:, DEK-Info:
_KEY_END = re.compile(rf"-----END {_KEY_LABEL}-----")


def _key_tail(eol: str, cr: str) -> re.Pattern[str]:
    """An END line and the base64 lines right above it, or else a run of base64 lines, consumed
    so that the search does not start again from each of its lines (that would be quadratic).
    Matches start at a line break, a literal the search can skip ahead to."""
    line = rf"[ \t]*+[A-Za-z0-9+/=]++[ \t]*+{cr}?{eol}"
    return re.compile(rf"{eol}(?:(?P<secret>(?:{line})*+[ \t]*+{_KEY_END.pattern})|(?:{line})++)")


_KEY_TAILS = (("\n", _key_tail(r"\n", r"\r")), ("\\n", _key_tail(r"\\n", r"(?:\\r)")))
"""For real line breaks, and for escaped ones (a key inside a JSON string)."""

_SHAPES = (
    # A whole block, or a BEGIN line and the base64 lines after it when the END was cut off.
    _Shape(
        "private key",
        re.compile(
            rf"-----BEGIN {_KEY_LABEL}-----{_KEY_HEADERS}(?:{_EOL}{_KEY_LINE})*+"
            rf"(?:{_EOL}[ \t]*+{_KEY_END.pattern})?"
        ),
    ),
    _Shape("Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}")),
    # The boundary check follows the first letter so the search can still skip ahead to it;
    # without it, words like `task-` or `disk-` start a "key".
    _Shape("OpenAI API key", re.compile(r"s(?<![A-Za-z0-9]s)k-(?:proj-)?[A-Za-z0-9_\-]{20,}")),
    _Shape("GitHub token", re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}")),
    # The known prefixes only: a generic `gl[a-z]+-` would mask `global-` and `glossary-` names.
    _Shape(
        "GitLab token",
        re.compile(r"gl(?:pat|ptt|dt|rt|rtr|soat|cbt|oas|ft|imt|agent|ffct|wt)-[A-Za-z0-9_\-]{20,}"),
    ),
    _Shape(
        "AWS access key id",
        re.compile(
            r"A(?<![A-Za-z0-9]A)(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])"
        ),
    ),
    _Shape("JWT", re.compile(r"eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")),
    _Shape("Slack token", re.compile(r"xox[abposr]-[A-Za-z0-9\-]{10,}")),
    _Shape("Google API key", re.compile(r"AIza[0-9A-Za-z_\-]{35}")),
    _Shape("Stripe secret key", re.compile(r"sk_(?:live|test)_[A-Za-z0-9]{16,}")),
    _Shape("Stripe restricted key", re.compile(r"rk_(?:live|test)_[A-Za-z0-9]{16,}")),
    _Shape("npm token", re.compile(r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    _Shape("Hugging Face token", re.compile(r"hf_[A-Za-z0-9]{30,}")),
    _Shape("URL credentials", re.compile(r"://(?P<secret>[^/\s:@]+:[^/\s@]+)@")),
    _Shape(
        "AWS secret access key",
        re.compile(r"secret_?access_?key[\"']?\s*[:=]\s*[\"']?(?P<secret>[a-z0-9/+=]{40})(?![a-z0-9/+=])"),
        any_case=True,
    ),
    _Shape(
        "basic auth credentials",
        re.compile(r"authorization[\"']?\s*[:=]\s*[\"']?basic[ \t]+(?P<secret>[a-z0-9+/]+={0,2})"),
        any_case=True,
    ),
    _Shape("bearer token", re.compile(r"bearer (?P<secret>[a-z0-9._~+/\-]{8,}=*)"), any_case=True),
    _Shape("password parameter", re.compile(r"password=(?P<secret>[^&\s\"']+)"), any_case=True),
)


def _mask_key_tails(text: str) -> str:
    """Mask a key whose BEGIN line was cut off (the tail of a long output): each END line left
    after the block pattern, with the base64 lines above it."""
    if "-----END " not in text:
        return text
    for eol, pattern in _KEY_TAILS:
        if eol in text:  # a line break put first lets a tail start at the start of the text
            text = pattern.sub(_mask_secret, eol + text)[len(eol) :]
    return text


def _shape_names(text: str) -> Iterator[str]:
    lowered = _lowered(text)
    for shape in _SHAPES:
        if any(text[start:end] != MASK for start, end in shape.spans(text, lowered)):
            yield shape.name
    if _mask_key_tails(text) != text:
        yield "private key"


def _base64_middles(raw: bytes) -> Iterator[str]:
    """The part of `raw`'s base64 that is the same wherever `raw` sits in a longer stream.

    Base64 turns 3 bytes into 4 characters, so `raw` starts at one of three alignments. For
    alignment k, the first ceil(8k/6) characters also encode the bytes before, and from
    character floor(8(k+len)/6) on they encode the bytes after."""
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + raw).decode()
        middle = encoded[-(-8 * k // 6) : 8 * (k + len(raw)) // 6]
        if len(middle) >= _MIN_BASE64_FRAGMENT:
            yield middle


_URL_SAFE = str.maketrans("+/", "-_")
_BASE64_EITHER_ALPHABET = {"+": r"[+\-]", "-": r"[+\-]", "/": "[/_]", "_": "[/_]"}


def _forms(secret: str) -> list[tuple[str, str]]:
    """(kind, text) of each way a process can print `secret`, without repeats."""
    raw = secret.encode("utf-8", "surrogatepass")
    middles = list(_base64_middles(raw))
    forms = [
        ("as is", secret),
        ("JSON-escaped", json.dumps(secret)[1:-1]),
        ("JSON-escaped", json.dumps(secret, ensure_ascii=False)[1:-1]),
        ("percent-encoded", quote(raw, safe="")),
        ("percent-encoded", quote_plus(raw, safe="")),
        ("hex", raw.hex()),
        ("hex", raw.hex().upper()),
        *(("base64", middle) for middle in middles),
        *(("base64", middle.translate(_URL_SAFE)) for middle in middles),
    ]
    kinds: dict[str, str] = {}
    for kind, text in forms:
        kinds.setdefault(text, kind)
    return [(kind, text) for text, kind in kinds.items()]


def _regex(kind: str, form: str) -> str:
    """Hex in either case and base64 in either alphabet, both also wrapped; the rest exactly.
    Forms that differ only there share one regex, so the alternation stays short."""
    if kind == "hex":
        return _WRAP.join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in form)
    if kind == "base64":
        return _WRAP.join(_BASE64_EITHER_ALPHABET.get(c, c) for c in form)
    return re.escape(form)


_INVISIBLE = re.compile("[\u00ad\u034f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_MARKDOWN = re.compile(r"`|\\(?=[!-/:-@\[-`{-~])")  # backticks, and backslashes escaping punctuation


def _without_invisible(text: str) -> str:
    return text if text.isascii() else _INVISIBLE.sub("", text)


def _without_markdown(text: str) -> str:
    return _MARKDOWN.sub("", text) if "`" in text or "\\" in text else text


def _without_whitespace(text: str) -> str:
    return "".join(text.split())


_UNDOINGS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("case changed", str.casefold),
    ("split by invisible characters", _without_invisible),
    ("markdown-escaped", _without_markdown),
    ("spaced out", _without_whitespace),
)
"""What `leaks` undoes, in order; a leak is named after the step that revealed it."""


def _normalise(text: str, steps: int = len(_UNDOINGS)) -> str:
    for _, undo in _UNDOINGS[:steps]:
        text = undo(text)
    return text


class Redactor:
    """Masks known token shapes and the values in `secrets` (those under 6 characters are
    ignored: too likely to occur by chance), in every form `_forms` lists."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        numbered: dict[str, int] = {}
        for number, secret in enumerate(secrets, start=1):
            if secret and len(secret) >= _MIN_SECRET_LENGTH:
                numbered.setdefault(secret, number)
        forms = [(number, _forms(secret)) for secret, number in numbered.items()]
        longest = {_regex(kind, text): len(text) for _, found in forms for kind, text in found}
        self._values = re.compile("|".join(sorted(longest, key=longest.__getitem__, reverse=True)))
        # What a match of `_values` contains once line breaks are removed: see `text`.
        self._probes = tuple(
            {text.replace("\r", "").replace("\n", "") for _, found in forms for _, text in found}
        )
        self._leak_forms = [(number, _leak_forms(found)) for number, found in forms]

    def text(self, value: str) -> str:
        """Mask the configured values, then the token shapes, in `value`."""
        # A few `in` checks on the unwrapped text cost less than one scan of the alternation,
        # which steps through every character; most texts contain no configured value.
        if self._probes:
            flat = value.replace("\r", "").replace("\n", "")
            if any(probe in flat for probe in self._probes):
                value = self._values.sub(MASK, value)
        lowered = _lowered(value)
        for shape in _SHAPES:
            masked = shape.sub(value, lowered)
            if masked is not value:
                value, lowered = masked, _lowered(masked)
        return _mask_key_tails(value)

    def value(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value (dict keys included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

    def leaks(self, text: str, *, shapes: bool = True) -> list[str]:
        """Name each secret still readable in `text`, for a last check before it is published.

        Redaction masks exact forms; this also finds a configured secret (in any of its forms)
        that was spaced out, split by invisible characters or markdown escapes, or had its case
        changed, and a token shape split by invisible characters. The names say which secret
        and how ("configured secret #2 (spaced out)", "AWS access key id"), never its value;
        `leaks(redactor.text(x))` is empty unless `x` hides a secret that way. `shapes=False`
        looks for the configured secrets only (a diff may hold token-shaped test data)."""
        normalised = _normalise(text)
        found = []
        for number, forms in self._leak_forms:
            hit = next(((kind, form) for kind, form, folded in forms if folded in normalised), None)
            if hit is not None:
                found.append(_describe(number, *hit, text))
        if not shapes:
            return found
        return found + list(dict.fromkeys(_shape_names(_without_invisible(text))))


def _leak_forms(forms: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(kind, text, normalised text) of the forms still distinctive once normalised."""
    normalised = [(kind, text, _normalise(text)) for kind, text in forms]
    return [form for form in normalised if len(form[2]) >= _MIN_SECRET_LENGTH]


def _describe(number: int, kind: str, form: str, text: str) -> str:
    how = next(
        label
        for steps, label in enumerate(("verbatim", *(label for label, _ in _UNDOINGS)))
        if _normalise(form, steps) in _normalise(text, steps)
    )
    return (
        f"configured secret #{number} ({how})"
        if kind == "as is"
        else f"configured secret #{number} ({kind}, {how})"
    )


def redact(value: str) -> str:
    """Mask well-known token shapes in `value`."""
    return Redactor().text(value)
