"""The ``infantpose`` command line. Each command imports its stage lazily,
so the base install (runtime only) can run ``info`` and the runtime commands."""

from __future__ import annotations

import sys
from pathlib import Path

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


@app.command()
def synth(
    out: Path = typer.Option(..., "--out", help="Output folder (MINI-RGBD layout, one folder per sequence)."),
    sequences: int = typer.Option(12, min=1, max=99, help="Number of sequences (different infants)."),
    frames: int = typer.Option(500, min=1, help="Frames per sequence (30 fps)."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives the same joints and images."),
    workers: int = typer.Option(1, min=1, help="Worker processes (one sequence each at a time)."),
    resume: bool = typer.Option(False, help="Skip frames already written."),
    cache: Path | None = typer.Option(
        None, help="Cache folder for anny and warp (default ~/.cache/infantpose)."
    ),
    contact_sheet: Path | None = typer.Option(
        None, help="Also write a PNG grid of sample frames with skeletons."
    ),
) -> None:
    """Render synthetic infants (anny body model) in the MINI-RGBD file layout."""
    from infantpose.synth.generate import generate

    summary = generate(out, sequences, frames, seed, workers, resume, cache)
    if contact_sheet is not None:
        from infantpose.synth.preview import contact_sheet as write_sheet

        typer.echo(f"contact sheet: {write_sheet(out, contact_sheet)}")
    typer.echo(
        f"wrote {summary['rendered']} frames ({summary['frames']} in the dataset) to {out} "
        f"in {summary['seconds']:.1f} s: {summary['frames_per_s']:.1f} frames/s with {workers} worker(s)"
    )


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
