"""Audit export: one row per event, streamed, in stable documented columns.

Columns (docs/events.md): position, recorded_at (ISO 8601, UTC), type, actor (tamma, model,
user, policy or a worker's host name), run, issue, summary (one readable line, or empty),
cost_usd (model calls only), id. Rows are written as they are read from the store's keyset
pages, so a million events export in constant memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, Literal, TextIO

from event_store import Event, EventStore, Query
from tamma import event_types as et
from tamma.audit.run_state import run_of, tag_value
from tamma.audit.summaries import describe
from tamma.redaction import Redactor

__all__ = ["COLUMNS", "ExportFormat", "export", "rows"]

COLUMNS = ("position", "recorded_at", "type", "actor", "run", "issue", "summary", "cost_usd", "id")
ExportFormat = Literal["jsonl", "json", "csv"]


def rows(events: Iterable[Event]) -> Iterator[dict[str, Any]]:
    for event in events:
        yield {
            "position": event.position,
            "recorded_at": event.recorded_at.isoformat(),
            "type": event.type,
            "actor": event.metadata.get("actor", ""),
            "run": run_of(event),
            "issue": tag_value(event, "issue:"),
            "summary": describe(event) or "",
            "cost_usd": event.data.get("cost_usd", 0.0) if event.type == et.AI_RESPONSE_RECEIVED else 0.0,
            "id": str(event.id),
        }


def export(
    store: EventStore,
    out: TextIO,
    *,
    run_id: str | None = None,
    issue: str | None = None,
    after: int = 0,
    output: ExportFormat = "jsonl",
    redactor: Redactor | None = None,
) -> int:
    """Write the matching events to `out`; returns how many. Events were redacted when they
    were written; `redactor` masks again with today's patterns and configured secrets."""
    redactor = redactor or Redactor()
    tags = [*([f"run:{run_id}"] if run_id else []), *([f"issue:{issue}"] if issue else [])]
    query = Query.of(tags=tags) if tags else Query.all()
    count = 0
    writer = csv.DictWriter(out, fieldnames=COLUMNS) if output == "csv" else None
    if writer is not None:
        writer.writeheader()
    elif output == "json":
        out.write("[")
    for row in map(redactor.value, rows(store.read(query, after=after))):
        if writer is not None:
            writer.writerow(row)
        elif output == "json":
            out.write(("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False))
        else:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    if output == "json":
        out.write("\n]\n")
    return count
