"""The ``infantpose`` command line. Each command imports its stage lazily,
so the base install (runtime only) can run ``info`` and the runtime commands."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="infantpose",
    help="3D infant pose estimation: train, export, verify, run and benchmark.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """3D infant pose estimation: train, export, verify, run and benchmark."""


@app.command()
def info() -> None:
    """Print versions, onnxruntime providers and whether torch, TensorRT and a CUDA GPU are available."""
    from infantpose.system import system_info

    for key, value in system_info().items():
        typer.echo(f"{key:<22} {value}")


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    from infantpose.errors import InfantposeError

    try:
        app()
    except InfantposeError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
