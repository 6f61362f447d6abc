"""How commands write: a console that never hard-wraps piped output, one JSON document for
scripts, examples for help pages, and URLs fit to be printed."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

JsonOutput = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document on stdout instead (keys in docs/cli.md)."),
]

_PASSWORD_IN_URL = re.compile(r"(?P<user>//[^/@:]*:)[^/]*@")
"""The user part up to the last `@` of the authority, so a password with an `@` stays hidden."""


def console(**options: Any) -> Console:
    """A rich console on stdout that, when stdout is no terminal (a pipe, a file), does not break
    long lines at 80 columns: a suggested command stays whole, to copy or to grep."""
    from rich.console import Console

    out = Console(**options)
    out.soft_wrap = not out.is_terminal
    return out


def emit_json(document: Any) -> None:
    """`document` as one indented JSON document on stdout: no markup, no colour, no wrapping.
    Callers put in it only what their text output shows (secrets masked the same way)."""
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def examples(*lines: str) -> str:
    """An `Examples:` block for a command's epilog, printed as written (`\\b`: click does not
    rewrap it)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def masked_url(url: str) -> str:
    """A database URL with its password shown as `***`: `postgresql+psycopg://user:***@host/db`."""
    return _PASSWORD_IN_URL.sub(r"\g<user>***@", url, count=1)
