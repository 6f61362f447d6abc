"""The shipped offline tasks: four tiny Python projects, each with a real bug, an issue about
it, hidden tests that judge a fix, and the scripted model session that works on it.

What the sessions do, so the report shows every outcome honestly:

- slugify-lowercase, leap-year-centuries: the fix is right; the hidden tests pass (resolved).
- word-count-punctuation: the model fixes commas only; its own test and CI pass, the pull
  request opens, and the issue's own example (a full stop) fails the hidden test (unresolved).
- temperature-offset: the model's fix is wrong and it then claims success twice without a
  change; the fix phase's check fails three times and the run escalates (no pull request).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["CATALOG", "OfflineTask", "ToolCall"]

ToolCall = tuple[str, dict[str, object]]
"""A tool the scripted model calls, with its input."""


@dataclass(frozen=True)
class OfflineTask:
    instance_id: str
    title: str
    body: str
    files: Mapping[str, str]
    """The project at its base commit."""
    hidden_tests: Mapping[str, str]
    """The test patch's files, as the judge sees them."""
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    plan: str
    calls: Mapping[str, tuple[ToolCall, ...]]
    """The scripted agent's tool calls by phase (tests, fix, refactor), turn by turn."""


def _pyproject(name: str) -> str:
    return f'[project]\nname = "{name}"\nversion = "0.1.0"\n'


SLUGIFY = OfflineTask(
    instance_id="slugify-lowercase",
    title="Slugs keep capital letters: 'Hello World' becomes 'Hello-World'",
    body=(
        "`slugify('Hello World')` returns `Hello-World`, but the site lowercases every URL, so "
        "links to such articles give 404. Expected: `hello-world`."
    ),
    files={
        "pyproject.toml": _pyproject("blog"),
        "slug.py": '''"""URL slugs for the blog's article titles."""

import re


def slugify(title: str) -> str:
    """The title as a URL slug: its words, lowercase, joined by dashes."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "-".join(words)
''',
        "tests/test_slug.py": """from slug import slugify


def test_words_are_joined_by_dashes() -> None:
    assert slugify("tamma bench results") == "tamma-bench-results"


def test_an_empty_title_has_an_empty_slug() -> None:
    assert slugify("") == ""
""",
    },
    hidden_tests={
        "tests/test_slug_case.py": """from slug import slugify


def test_titles_become_lowercase_slugs() -> None:
    assert slugify("Hello World") == "hello-world"
    assert slugify("Tamma 2.0 Release Notes") == "tamma-2-0-release-notes"
""",
    },
    fail_to_pass=("tests/test_slug_case.py::test_titles_become_lowercase_slugs",),
    pass_to_pass=(
        "tests/test_slug.py::test_words_are_joined_by_dashes",
        "tests/test_slug.py::test_an_empty_title_has_an_empty_slug",
    ),
    plan="""**Cause.** `slugify` joins the words as they are written; nothing lowercases them.

**Tests first.** `tests/test_slug_case.py`: `slugify("Hello World") == "hello-world"`. It fails today.

**Fix.** Lowercase each word before joining.""",
    calls={
        "tests": (
            ("read_file", {"path": "slug.py"}),
            (
                "write_file",
                {
                    "path": "tests/test_slug_case.py",
                    "content": "from slug import slugify\n\n\ndef test_slugs_are_lowercase() -> None:\n"
                    '    assert slugify("Hello World") == "hello-world"\n',
                },
            ),
            ("run_tests", {}),
            ("finish", {"summary": "tests/test_slug_case.py shows the capital letters kept"}),
        ),
        "fix": (
            (
                "edit_file",
                {
                    "path": "slug.py",
                    "old_text": 'return "-".join(words)',
                    "new_text": 'return "-".join(word.lower() for word in words)',
                },
            ),
            ("run_tests", {}),
            ("finish", {"summary": "slugify lowercases each word"}),
        ),
        "refactor": (("finish", {"summary": "one line changed; nothing to refactor"}),),
    },
)

LEAP_YEARS = OfflineTask(
    instance_id="leap-year-centuries",
    title="Bookings on 29 February 2100 are accepted",
    body=(
        "`is_leap_year(1900)` and `is_leap_year(2100)` return True. Century years are leap years "
        "only when divisible by 400: 2000 is one, 1900 and 2100 are not."
    ),
    files={
        "pyproject.toml": _pyproject("bookings"),
        "calendar_rules.py": '''"""Calendar rules for the booking system."""


def is_leap_year(year: int) -> bool:
    """Whether `year` has a 29 February in the Gregorian calendar."""
    return year % 4 == 0


def days_in_year(year: int) -> int:
    return 366 if is_leap_year(year) else 365
''',
        "tests/test_calendar.py": """from calendar_rules import days_in_year, is_leap_year


def test_ordinary_years() -> None:
    assert not is_leap_year(2023)
    assert is_leap_year(2024)


def test_days_in_a_leap_year() -> None:
    assert days_in_year(2024) == 366
""",
    },
    hidden_tests={
        "tests/test_centuries.py": """from calendar_rules import days_in_year, is_leap_year


def test_centuries_are_leap_years_every_400_years() -> None:
    assert not is_leap_year(1900)
    assert is_leap_year(2000)
    assert not is_leap_year(2100)


def test_1900_has_365_days() -> None:
    assert days_in_year(1900) == 365
""",
    },
    fail_to_pass=(
        "tests/test_centuries.py::test_centuries_are_leap_years_every_400_years",
        "tests/test_centuries.py::test_1900_has_365_days",
    ),
    pass_to_pass=(
        "tests/test_calendar.py::test_ordinary_years",
        "tests/test_calendar.py::test_days_in_a_leap_year",
    ),
    plan="""**Cause.** `is_leap_year` checks divisibility by 4 only.

**Tests first.** 1900 and 2100 are not leap years, 2000 is.

**Fix.** Apply the Gregorian rule: divisible by 4, and not by 100 unless by 400.""",
    calls={
        "tests": (
            ("read_file", {"path": "calendar_rules.py"}),
            (
                "write_file",
                {
                    "path": "tests/test_leap_centuries.py",
                    "content": "from calendar_rules import is_leap_year\n\n\n"
                    "def test_century_rule() -> None:\n"
                    "    assert not is_leap_year(1900)\n"
                    "    assert is_leap_year(2000)\n",
                },
            ),
            ("run_tests", {}),
            ("finish", {"summary": "1900 is reported as a leap year"}),
        ),
        "fix": (
            (
                "edit_file",
                {
                    "path": "calendar_rules.py",
                    "old_text": "return year % 4 == 0",
                    "new_text": "return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)",
                },
            ),
            ("run_tests", {}),
            ("finish", {"summary": "the Gregorian century rule"}),
        ),
        "refactor": (("finish", {"summary": "nothing to refactor"}),),
    },
)

WORD_COUNT = OfflineTask(
    instance_id="word-count-punctuation",
    title="Word counts treat 'red,' and 'red' as different words",
    body=(
        "`word_counts('red, red and blue.')` gives `{'red,': 1, 'red': 1, 'and': 1, 'blue.': 1}`. "
        "Punctuation is not part of a word; expected `{'red': 2, 'and': 1, 'blue': 1}`."
    ),
    files={
        "pyproject.toml": _pyproject("editor"),
        "words.py": '''"""Word statistics for the editor's sidebar."""


def word_counts(text: str) -> dict[str, int]:
    """How often each word of `text` occurs, ignoring case and punctuation."""
    counts: dict[str, int] = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
    return counts
''',
        "tests/test_words.py": """from words import word_counts


def test_case_is_ignored() -> None:
    assert word_counts("Red red") == {"red": 2}
""",
    },
    hidden_tests={
        "tests/test_punctuation.py": """from words import word_counts


def test_punctuation_is_not_part_of_a_word() -> None:
    assert word_counts("red, red and blue.") == {"red": 2, "and": 1, "blue": 1}
""",
    },
    fail_to_pass=("tests/test_punctuation.py::test_punctuation_is_not_part_of_a_word",),
    pass_to_pass=("tests/test_words.py::test_case_is_ignored",),
    plan="""**Cause.** `word_counts` splits on whitespace only, so punctuation sticks to words.

**Tests first.** `"red, red, blue"` counts red twice.

**Fix.** Drop the punctuation before splitting.""",
    calls={
        "tests": (
            (
                "write_file",
                {
                    "path": "tests/test_commas.py",
                    "content": "from words import word_counts\n\n\n"
                    "def test_commas_are_not_part_of_a_word() -> None:\n"
                    '    assert word_counts("red, red, blue") == {"red": 2, "blue": 1}\n',
                },
            ),
            ("run_tests", {}),
            ("finish", {"summary": "commas stick to words"}),
        ),
        "fix": (
            (
                "edit_file",
                {
                    "path": "words.py",
                    "old_text": "text.lower().split()",
                    "new_text": 'text.lower().replace(",", " ").split()',
                },
            ),
            ("run_tests", {}),
            ("finish", {"summary": "commas are dropped before splitting"}),
        ),
        "refactor": (("finish", {"summary": "nothing to refactor"}),),
    },
)

TEMPERATURE = OfflineTask(
    instance_id="temperature-offset",
    title="The display shows 100 °C as 203 °F",
    body="`celsius_to_fahrenheit(100)` returns 203.0; water boils at 212 °F, and 0 °C is 32 °F.",
    files={
        "pyproject.toml": _pyproject("station"),
        "convert.py": '''"""Unit conversions for the weather station's display."""


def celsius_to_fahrenheit(celsius: float) -> float:
    """Degrees Fahrenheit for `celsius` degrees Celsius."""
    return celsius * 9 / 5 + 23


def fahrenheit_to_celsius(fahrenheit: float) -> float:
    """Degrees Celsius for `fahrenheit` degrees Fahrenheit."""
    return (fahrenheit - 32) * 5 / 9
''',
        "tests/test_convert.py": """from convert import fahrenheit_to_celsius


def test_water_boils_at_100_celsius() -> None:
    assert fahrenheit_to_celsius(212) == 100
""",
    },
    hidden_tests={
        "tests/test_to_fahrenheit.py": """from convert import celsius_to_fahrenheit


def test_fixed_points() -> None:
    assert celsius_to_fahrenheit(100) == 212
    assert celsius_to_fahrenheit(-40) == -40
""",
    },
    fail_to_pass=("tests/test_to_fahrenheit.py::test_fixed_points",),
    pass_to_pass=("tests/test_convert.py::test_water_boils_at_100_celsius",),
    plan="""**Cause.** The conversion's formula is wrong.

**Tests first.** 100 °C is 212 °F and 0 °C is 32 °F.

**Fix.** Correct the formula.""",
    calls={
        "tests": (
            (
                "write_file",
                {
                    "path": "tests/test_boiling.py",
                    "content": "from convert import celsius_to_fahrenheit\n\n\n"
                    "def test_boiling_and_freezing() -> None:\n"
                    "    assert celsius_to_fahrenheit(100) == 212\n"
                    "    assert celsius_to_fahrenheit(0) == 32\n",
                },
            ),
            ("run_tests", {}),
            ("finish", {"summary": "100 °C converts to 203 °F"}),
        ),
        "fix": (
            (
                "edit_file",
                {
                    "path": "convert.py",
                    "old_text": "celsius * 9 / 5 + 23",
                    "new_text": "celsius * 5 / 9 + 32",
                },
            ),
            ("run_tests", {}),
            ("finish", {"summary": "the offset is 32"}),
            ("finish", {"summary": "the formula now reads like the textbook's"}),
            ("finish", {"summary": "I could not find what else is wrong"}),
        ),
    },
)

CATALOG: tuple[OfflineTask, ...] = (SLUGIFY, LEAP_YEARS, WORD_COUNT, TEMPERATURE)
