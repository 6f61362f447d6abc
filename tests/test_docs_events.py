"""docs/events.md documents every event type Tamma records: a type added to `tamma.event_types`
without its row is a reader's dead end (the audit trail shows a name no page explains)."""

from __future__ import annotations

from pathlib import Path

from tamma import event_types

DOC = Path(__file__).resolve().parents[1] / "docs" / "events.md"


def _documented(event_type: str, rows: list[str]) -> bool:
    """A row names the type in backticks, or shares it with its sibling as the table does
    (`` `CLARIFICATION.REQUESTED` / `RECEIVED` ``)."""
    family, _, last = event_type.rpartition(".")
    return any(f"`{event_type}`" in row or (f"`{family}." in row and f"/ `{last}`" in row) for row in rows)


def test_every_event_type_has_a_row_in_the_events_doc() -> None:
    rows = [line for line in DOC.read_text().splitlines() if line.startswith("| `")]
    recorded = [
        value for name, value in vars(event_types).items() if name.isupper() and isinstance(value, str)
    ]
    assert len(recorded) > 40
    assert [t for t in recorded if not _documented(t, rows)] == []
