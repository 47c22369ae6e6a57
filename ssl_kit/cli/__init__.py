"""The ``ssl-kit`` command line: dispatch (:mod:`~ssl_kit.cli.commands`), the Lightning CLI
(:mod:`~ssl_kit.cli.lightning`, which the benchmark runner also builds runs with), short errors
(:mod:`~ssl_kit.cli.errors`), shipped configs by name (:mod:`~ssl_kit.cli.config_files`) and
the demo (:mod:`~ssl_kit.cli.demo`).

``ssl_kit.cli.commands`` is loaded only when called, so importing the Lightning CLI from here never
imports the dispatcher (and with it the benchmark runner).
"""

from __future__ import annotations

from typing import Any

__all__ = ["main"]


def main(args: list[str] | None = None) -> Any:
    """Run one ``ssl-kit`` command (see :func:`ssl_kit.cli.commands.main`)."""
    from ssl_kit.cli.commands import main as dispatch

    return dispatch(args)
