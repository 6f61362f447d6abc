"""One Prefect API server for the whole test session, shared by every test that runs flows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """Prefect's test harness: a subprocess API server on a temporary SQLite database, with no
    telemetry (there is no network) and no flow heartbeats (they slow every run down)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        patch.delenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", raising=False)
        with prefect_test_harness(server_startup_timeout=90):
            yield
