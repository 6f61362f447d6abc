"""Packages that export names lazily: every name resolves, and importing one pulls in no SDK."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module

import pytest

LAZY_PACKAGES = {
    "tamma.providers": ("Message", ("anthropic", "openai")),
    "tamma.platforms": ("Issue", ("github", "gitlab")),
    "tamma.metrics": ("MetricSpec", ("prometheus_client",)),
}


@pytest.mark.parametrize("package", sorted(LAZY_PACKAGES))
def test_every_public_name_resolves(package: str) -> None:
    module = import_module(package)
    assert sorted(module.__all__) == sorted(module._LAZY)
    for name in module.__all__:
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        getattr(module, "Nope")  # noqa: B009 - the point is the dynamic lookup


@pytest.mark.parametrize(("package", "sdks"), sorted(LAZY_PACKAGES.items()))
def test_importing_a_model_does_not_import_the_sdks(package: str, sdks: tuple[str, ...]) -> None:
    probe = (
        f"import sys; from {package} import __all__; print(' '.join(m for m in {sdks!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""
