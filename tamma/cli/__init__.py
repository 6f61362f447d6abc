"""The `tamma` command: a thin shell over the library (see `tamma.cli._app`)."""

from tamma.cli._app import app, main

__all__ = ["app", "main"]
