"""`metrics:` in the settings: where `tamma serve`, `tamma worker` and `tamma metrics` serve."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MetricsSettings"]


class MetricsSettings(BaseModel):
    """The Prometheus endpoint. `--metrics-port`/`--metrics-host` (`--port`/`--host` for
    `tamma metrics`) and TAMMA_METRICS_PORT/TAMMA_METRICS_HOST win over these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    port: int | None = Field(default=None, ge=1, le=65535)
    """Serve beside `tamma serve` and `tamma worker` on this port; None: only when asked on the
    command line (`tamma metrics` then uses 9464)."""
    host: str = "127.0.0.1"
    """0.0.0.0 lets a Prometheus on another machine scrape it."""
