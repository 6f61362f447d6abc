"""Package attributes that load their module on first use (PEP 562).

Why: `import tamma.platforms` must not import PyGithub and python-gitlab, nor `import
tamma.providers` the model SDKs; the CLI imports these packages to start and stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, locations: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` resolving each name of `locations` (name -> module) on first use."""

    def __getattr__(name: str) -> Any:
        if name in locations:
            return getattr(import_module(locations[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
