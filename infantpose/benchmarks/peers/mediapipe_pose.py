"""MediaPipe Pose (BlazePose, 2D + 3D world landmarks) on a clip, in bench's row schema.

Runs in its own virtual environment (mediapipe 0.10.21 pins numpy 1.x), so it
imports nothing from infantpose: ``make peer-mediapipe`` sets it up and runs

    .venv-mediapipe/bin/python infantpose/benchmarks/peers/mediapipe_pose.py CLIP --json OUT.json

The model ships inside the wheel (model_complexity=1 works offline). Frames are
decoded once; each frame is timed through ``pose.process`` in video mode.
The clip is run ``--rounds`` times (a fresh tracker each time) and the round
with the median FPS is reported, as ``infantpose bench`` does for its rows.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import cv2
import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--complexity", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import mediapipe as mp

    cap = cv2.VideoCapture(args.clip)
    frames = []
    while len(frames) < args.frames:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    if not frames:
        raise SystemExit(f"error: {args.clip}: no frames")
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=args.complexity) as pose:
        for img in frames[:10]:
            pose.process(img)  # warm-up
    runs = []
    for _ in range(max(1, args.rounds)):
        times, found = [], 0
        with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=args.complexity) as pose:
            start = time.perf_counter()
            for img in frames:
                t = time.perf_counter()
                res = pose.process(img)
                times.append((time.perf_counter() - t) * 1000)
                found += int(res.pose_landmarks is not None)
            seconds = time.perf_counter() - start
        v = np.asarray(times)
        ms = {"median": float(np.median(v)), "p90": float(np.percentile(v, 90)), "p99": float(np.percentile(v, 99)),
              "mean": float(v.mean()), "n": int(v.size)}  # fmt: skip
        runs.append(({"frames": len(frames), "fps": len(frames) / seconds, "detector_runs": None,
                      "ms": {"total": ms}}, found))  # fmt: skip
    fps = [r["fps"] for r, _ in runs]
    run, found = sorted(runs, key=lambda r: r[0]["fps"])[len(runs) // 2]
    run["fps_rounds"] = fps
    row = {
        "name": f"mediapipe pose (complexity {args.complexity})",
        "backend": f"mediapipe {mp.__version__}",
        "precision": "fp32",
        "tracking": run,
        "detector_every_frame": run,
        "frames_with_pose": found,
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
    }
    print(json.dumps({k: row[k] for k in ("name", "frames_with_pose")}), f"fps {run['fps']:.1f}",
          f"median {run['ms']['total']['median']:.1f} ms", f"rounds {', '.join(f'{f:.1f}' for f in fps)}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(row, f, indent=2)


if __name__ == "__main__":
    main()
