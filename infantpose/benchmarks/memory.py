"""Long-run memory check: the pipeline over many frames must not grow its resident memory.

    python -m infantpose.benchmarks.memory --bundle B --source CLIP --frames 50000 --json out.json

The clip's frames are decoded once and looped (the decoder is not what is
measured); every frame goes through the pipeline, the overlay and a JSONL sink
to the null device. RSS is sampled every ``--every`` frames; the report gives
the growth after warm-up and a least-squares slope (KiB per 1000 frames).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import numpy as np


def rss_kib() -> int:
    """Current resident set size in KiB (Linux /proc, else the peak from getrusage)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, default=None)
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--frames", type=int, default=50_000)
    ap.add_argument("--every", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    from infantpose.benchmarks.harness import load_frames
    from infantpose.runtime.overlay import annotate
    from infantpose.runtime.pipeline import Pipeline
    from infantpose.runtime.sinks import JsonlSink

    frames = load_frames(args.source, 300)
    pipe = Pipeline.from_bundle(args.bundle, threads=args.threads, device="cpu")
    sink = JsonlSink(Path(os.devnull))
    samples = []
    start = time.perf_counter()
    for i in range(args.frames):
        img = frames[i % len(frames)]
        if i % len(frames) == 0:
            pipe.reset()  # a new pass over the clip is a new video
        r = pipe(img, t=i / 30.0, index=i)
        sink.write(img, r, annotate(img, r, pipe.joint_set))
        if i % args.every == 0 or i == args.frames - 1:
            samples.append((i, rss_kib()))
            print(f"frame {i:>6}  rss {samples[-1][1] / 1024:8.1f} MiB", flush=True)
    sink.close()
    seconds = time.perf_counter() - start
    x = np.array([s[0] for s in samples], float)
    y = np.array([s[1] for s in samples], float)
    warm = x >= min(5000, x[-1] / 5)
    # None (JSON null) when too few warm samples: NaN is not valid JSON.
    slope = float(np.polyfit(x[warm], y[warm], 1)[0] * 1000) if warm.sum() >= 2 else None
    report = {
        "frames": args.frames,
        "seconds": seconds,
        "fps": args.frames / seconds,
        "rss_start_kib": int(y[0]),
        "rss_after_warmup_kib": int(y[warm][0]),
        "rss_end_kib": int(y[-1]),
        "growth_after_warmup_kib": int(y[-1] - y[warm][0]),
        "slope_kib_per_1000_frames": slope,
        "samples": samples,
    }
    print(json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    return report


if __name__ == "__main__":
    main()
