"""Synthetic-data throughput: frames/s of ``infantpose synth`` including writing the files.

    python -m infantpose.benchmarks.synth --frames 150 --sequences 2 --workers 1 2

Each run renders into a fresh temporary folder; start-up (model build,
motion planning) is included, as a user would see it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=int, default=2)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    from infantpose.synth.generate import generate

    rows = []
    for w in args.workers:
        with tempfile.TemporaryDirectory() as tmp:
            s = generate(Path(tmp), args.sequences, args.frames, seed=123, workers=w, progress=False)
        rows.append(s)
        print(f"workers {w}: {s['rendered']} frames (640x480, PNG + depth + joints) in {s['seconds']:.1f} s "
              f"= {s['frames_per_s']:.1f} frames/s")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
