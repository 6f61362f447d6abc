"""Where a run's log lines go besides Prefect: nowhere more (`text`), or stderr as JSON (`json`).

`text` keeps Tamma's output as it always was: `tamma run` prints its progress itself, and
Prefect's run logs (and its console, at the level the command chose) carry each line. `json`
adds one JSON object per line on stderr, for a log shipper to read without parsing prose.

The format is chosen once per process: by `tamma --log-format` or TAMMA_LOG_FORMAT (default
`text`). `configure` writes it back to the environment, so a flow run that a worker starts in
a process of its own logs the same way; that process configures itself on its first line
(`run_logger`). Lines reach this logger already redacted by the run's redactor
(`tasks._logging`): the JSON formatter writes them as they are.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

__all__ = ["ENV_VAR", "FIELDS", "LOGGER_NAME", "LogFormat", "configure", "run_logger"]

LogFormat = Literal["text", "json"]
ENV_VAR = "TAMMA_LOG_FORMAT"
LOGGER_NAME = "tamma.run"
FIELDS = "tamma_fields"
"""The `extra` key under which a record carries its line's fields (run_id, issue, ...)."""

_configured: LogFormat | None = None


def configure(log_format: str | None = None) -> LogFormat:
    """Set this process's format: `log_format`, else TAMMA_LOG_FORMAT, else text. Calling it
    again replaces the earlier choice (never a second handler)."""
    global _configured
    chosen = _format_of(log_format or os.environ.get(ENV_VAR) or "text")
    os.environ[ENV_VAR] = chosen
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # Prefect gets the human line from `tasks._logging`, not this record
    # With no handler at all, logging's last resort would print warnings as text on stderr.
    logger.addHandler(_JsonLines() if chosen == "json" else logging.NullHandler())
    _configured = chosen
    return chosen


def _format_of(name: str) -> LogFormat:
    """`name` as a format, or a ValueError that lists the ones there are."""
    formats = get_args(LogFormat)
    if name not in formats:
        raise ValueError(f"unknown log format {name!r}: use {' or '.join(formats)}")
    return cast(LogFormat, name)


def run_logger() -> logging.Logger:
    """The logger of run lines, configured from the environment if nothing configured it yet."""
    if _configured is None:
        configure()
    return logging.getLogger(LOGGER_NAME)


class _JsonLines(logging.Handler):
    """One JSON object per record on stderr: `timestamp`, `level`, `message`, then the line's
    fields. It looks up `sys.stderr` at each line: test runners swap it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(_json_line(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def _json_line(record: logging.LogRecord) -> str:
    line: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "message": record.getMessage(),
        **getattr(record, FIELDS, {}),
    }
    return json.dumps(line, ensure_ascii=False, default=str)
