"""Redaction at every exit: what Tamma publishes, logs or raises carries no secret.

Events are redacted by the `Recorder`; this module covers the other ways out. A `Publisher`
redacts text bound for people (issue comments, pull request titles and bodies, Prefect
artifacts) and then checks it once more with `Redactor.leaks`: text in which a configured
secret can still be found (spaced out, split by invisible characters, ...) is not sent at all.
A notice takes its place, keeping Tamma's hidden markers so that retries still find what was
posted, and the refusal is reported to `on_refused` (the run records PUBLISH.REFUSED).

`redact_logs` puts a filter on the handlers of Prefect's loggers (its console and the API
handler that stores logs in Prefect's database), and `redact_exception` rewrites an error's
message before it reaches Prefect's state messages and tracebacks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from tamma.redaction import Redactor

__all__ = ["Publisher", "redact_exception", "redact_logs"]

WITHHELD = (
    "[Tamma withheld this {where}: after redaction it still contained what looks like a secret "
    "({leaks}). The run's events (PUBLISH.REFUSED) say where it came from.]"
)
_MARKER = re.compile(r"<!-- tamma:[A-Za-z0-9._:-]+ -->")
_LOGGERS = ("", "prefect", "prefect.flow_runs", "prefect.task_runs", "tamma")


class Publisher:
    """Makes text fit to publish; see the module docstring."""

    def __init__(self, redactor: Redactor, on_refused: Callable[[str, list[str]], None]) -> None:
        self.redactor = redactor
        self.on_refused = on_refused

    def text(self, where: str, text: str) -> str:
        """`text` redacted, or a notice in its place when it still holds a secret."""
        redacted = self.redactor.text(text)
        leaks = self.redactor.leaks(redacted)
        if not leaks:
            return redacted
        self.on_refused(where, leaks)
        markers = "\n\n".join(_MARKER.findall(redacted))
        notice = WITHHELD.format(where=where, leaks="; ".join(leaks))
        return f"{notice}\n\n{markers}" if markers else notice


class _RedactingFilter(logging.Filter):
    """Redacts a record's message and exception text in place (the record then carries no args)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__("tamma-redaction")
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.text(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redactor.text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def redact_logs(redactor: Redactor) -> None:
    """Redact every record Prefect's and Tamma's log handlers emit from now on with `redactor`
    (it replaces the filter an earlier run of this process installed)."""
    for name in _LOGGERS:
        for handler in logging.getLogger(name).handlers:
            for old in [f for f in handler.filters if isinstance(f, _RedactingFilter)]:
                handler.removeFilter(old)
            handler.addFilter(_RedactingFilter(redactor))


def redact_exception(error: BaseException, redactor: Redactor) -> None:
    """Redact the message of `error` (and of its causes) in place: its type and traceback stay,
    so Prefect's retry decisions and the run's records still see what failed."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(redactor.text(a) if isinstance(a, str) else a for a in current.args)
        current = current.__cause__ or current.__context__
