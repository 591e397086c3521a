"""Which intra-op thread count runs the chain fastest here: every (precision, threads) pair,
interleaved round by round so that the machine's load drifts over all of them alike.

    python -m infantpose.benchmarks.threads --threads 1,2 --precisions fp32,int8 --rounds 6 --json out.json

Reports the median end-to-end FPS (tracking on) over the rounds, and each round's FPS.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.apps.system import system_info
from infantpose.benchmarks.harness import interleaved_runs, load_frames, load_pipeline
from infantpose.runtime.pipeline import DEFAULT_BUNDLE


def sweep(
    bundle: Path | None, source: Path, threads: list[int], precisions: list[str], rounds: int, frames: int
) -> dict[str, Any]:
    """{"rows": [{precision, threads, fps_median, fps_rounds}], ...} for every pair."""
    clip = load_frames(source, frames)
    pipes = {(p, t): load_pipeline(bundle, p, "onnx", "cpu", t) for p in precisions for t in threads}
    fps = {key: [r["fps"] for r in runs] for key, runs in interleaved_runs(pipes, clip, rounds).items()}
    rows = [{"precision": p, "threads": t, "fps_median": float(np.median(v)), "fps_rounds": v}
            for (p, t), v in fps.items()]  # fmt: skip
    return {"bundle": str(bundle or DEFAULT_BUNDLE), "source": str(source), "frames": len(clip), "rounds": rounds,
            "machine": system_info(), "rows": rows}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, default=None)
    ap.add_argument("--source", type=Path, default=DEFAULT_BUNDLE.parent / "demo.mp4")
    ap.add_argument("--threads", default="1,2", help="comma-separated intra-op thread counts")
    ap.add_argument("--precisions", default="fp32,int8")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    report = sweep(a.bundle, a.source, [int(t) for t in a.threads.split(",")], a.precisions.split(","), a.rounds,
                   a.frames)  # fmt: skip
    print("| precision | threads | median FPS | rounds |\n|---|---|---|---|")
    for r in report["rows"]:
        print(f"| {r['precision']} | {r['threads']} | {r['fps_median']:.1f} | "
              f"{', '.join(f'{v:.0f}' for v in r['fps_rounds'])} |")  # fmt: skip
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
