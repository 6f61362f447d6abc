"""JSON that every backend stores and returns identically, settled before anything is written.

What a database would change or refuse is settled here, once, so that an event reads back
equal to its `NewEvent` on SQLite and PostgreSQL alike (and a replay compares equal):

* text (keys, strings, tags, types) is made storable rather than refused, since it is often
  someone else's (an issue title, a test's output) and refusing it would end the run: U+0000,
  which PostgreSQL text cannot hold, becomes U+2400 "␀" (visible where it was) and each lone
  surrogate, which is not UTF-8, becomes U+FFFD. Text already storable is left as it is, so
  doing it twice changes nothing;
* integers must fit in 64 bits, the range JSON decoders agree on;
* a float with an integral value becomes an int: JSONB keeps numbers as decimals and hands
  1e16 or 3.0 back as integers, so the event says so from the start; one beyond 64 bits is
  refused rather than silently changed.

Reads decode with orjson (about twice as fast as the standard library: decoding is most of a
read's cost) and fall back to `json` for anything orjson declines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson

from event_store._errors import InvalidEvent

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NUL_SYMBOL = "\u2400"
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` as every backend stores it (see the module docstring): NUL as U+2400, each
    lone surrogate as U+FFFD, anything else unchanged.

    Called on every string of every event, so clean text costs two scans in C: `in` and
    `isascii`; only non-ASCII text is test-encoded, and only text with a surrogate is rewritten."""
    if "\x00" in text:
        text = text.replace("\x00", _NUL_SYMBOL)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def storable_object(value: object, name: str) -> dict[str, Any]:
    """A JSON object as it will read back from every backend, or InvalidEvent."""
    if not isinstance(value, Mapping):
        raise InvalidEvent(f"event {name} must be a JSON object (a dict), got {type(value).__name__}")
    try:
        # The round trip turns tuples into lists and non-string keys into strings, as a read would.
        plain = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"event {name} is not JSON-serializable: {exc}") from None
    normalized: dict[str, Any] = _normalize(plain, f"event {name}")
    return normalized


def _normalize(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return {storable_text(key): _normalize(item, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalize(item, where) for item in value]
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        value = _integral_float(value, where)
    if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
        raise InvalidEvent(f"{where} holds the integer {value}, beyond 64 bits; store it as a string")
    return value


def _integral_float(value: float, where: str) -> int:
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise InvalidEvent(f"{where} holds the float {value!r}, integral and beyond 64 bits; store a string")
    return int(value)


def decode(text: str | bytes) -> Any:
    """Stored JSON to Python: orjson, or the standard library for what orjson declines."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
