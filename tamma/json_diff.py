"""Where two JSON values first differ: what replays report when a run is not the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Difference", "first_difference"]


@dataclass(frozen=True)
class Difference:
    path: str
    expected: Any
    actual: Any

    def describe(self, expected_as: str = "recorded", actual_as: str = "replay") -> str:
        return f"{self.path}: {expected_as} {_short(self.expected)}, {actual_as} {_short(self.actual)}"


def first_difference(expected: Any, actual: Any, path: str = "") -> Difference | None:
    """The first differing leaf in key order (lists: by index, then by length)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(expected.keys() | actual.keys()):
            found = first_difference(expected.get(key), actual.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for i, (left, right) in enumerate(zip(expected, actual, strict=False)):
            found = first_difference(left, right, f"{path}[{i}]")
            if found:
                return found
        if len(expected) != len(actual):
            return Difference(f"{path} (length)", len(expected), len(actual))
        return None
    return None if expected == actual else Difference(path, expected, actual)


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
