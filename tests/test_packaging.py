"""The explicit package list in pyproject.toml names every package of the source tree: a
package left out works in an editable install and is missing from a real one."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_for_installation() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    top_level = {name.split(".")[0] for name in listed}
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in top_level
        for init in (ROOT / top).rglob("__init__.py")
        if "versions" not in init.parts
    }
    assert on_disk - listed == set()
    assert listed - on_disk == set()
