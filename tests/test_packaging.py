"""The explicit package list in pyproject.toml names every package of the source tree: a
package left out works in an editable install and is missing from a real one (or, for a folder
of modules without `__init__.py` such as the migrations' `versions`, is shipped as data with
a warning from setuptools on every build)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_for_installation() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    top_level = {name.split(".")[0] for name in listed}
    on_disk = {
        ".".join(module.parent.relative_to(ROOT).parts)
        for top in top_level
        for module in (ROOT / top).rglob("*.py")
    }
    assert on_disk - listed == set()
    assert listed - on_disk == set()
