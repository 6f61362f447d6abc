"""Issue numbers a tracker, SQLite or the event store's JSON cannot hold are a clear reference
error when the reference is parsed, not a crash further on."""

from __future__ import annotations

import pytest

from tamma.errors import InvalidReference
from tamma.platforms import IssueRef

LARGEST = 2**63 - 1


@pytest.mark.parametrize(
    "text",
    [
        "local:shop#99999999999999999999",
        f"local:shop#{LARGEST + 1}",
        "github:octo/repo#" + "9" * 5000,  # more digits than int() converts
        f"https://github.com/octo/repo/issues/{LARGEST + 1}",
        f"https://gitlab.com/group/project/-/issues/{LARGEST + 1}",
    ],
)
def test_a_number_beyond_64_bits_is_too_large(text: str) -> None:
    with pytest.raises(InvalidReference, match="issue number is too large"):
        IssueRef.parse(text)


def test_the_largest_64_bit_number_is_a_reference() -> None:
    assert IssueRef.parse(f"local:shop#{LARGEST}").number == LARGEST


@pytest.mark.parametrize("text", ["local:shop#0", "local:shop#-1", "local:shop#007"])
def test_zero_negative_and_padded_numbers_are_no_reference(text: str) -> None:
    with pytest.raises(InvalidReference, match="not an issue reference"):
        IssueRef.parse(text)
