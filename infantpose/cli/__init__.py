"""The ``infantpose`` command line (the typer app and its commands: :mod:`infantpose.cli.commands`).

Stop signals are installed first, before the heavy imports, when this package is the command line
(the console script, or ``python -m infantpose.cli``, during whose start ``sys.argv[0]`` is "-m"): a
signal that comes while the command loads is kept, not lost. A program or a test session that imports
it keeps its own Ctrl-C.
"""

from __future__ import annotations

import sys
from typing import Any

from infantpose import signals

if sys.argv[0] == "-m" or sys.argv[0].rsplit("/", 1)[-1] == "infantpose":
    signals.install()


def __getattr__(name: str) -> Any:
    if name in ("app", "main"):
        from infantpose.cli import commands as module

        return getattr(module, name)
    raise AttributeError(f"module 'infantpose.cli' has no attribute {name!r}")


def main() -> None:
    """The console script: run the command line."""
    from infantpose.cli.commands import main as run

    run()
