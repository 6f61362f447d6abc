"""Text from outside made safe to pass on: lone surrogates out.

A forge's JSON may carry a lone UTF-16 surrogate as an escape (`"\\ud800"`); Python decodes it
into a `str` that no UTF-8 encoder accepts, so the first HTTP request or JSON dump that holds
it (a prompt, a recorded request) fails. Each becomes U+FFFD, as the event store keeps it.
"""

from __future__ import annotations

import re

__all__ = ["encodable"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable(text: str) -> str:
    """`text` with each lone surrogate as U+FFFD; clean text is returned as is, cheaply."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text
