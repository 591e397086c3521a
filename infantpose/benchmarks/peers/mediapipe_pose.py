"""MediaPipe Pose (BlazePose, 2D + 3D world landmarks) on a clip, in bench's row schema.

Runs in its own virtual environment (mediapipe 0.10.21 pins numpy 1.x), so it
imports nothing from infantpose: ``make peer-mediapipe`` sets it up and runs

    .venv-mediapipe/bin/python infantpose/benchmarks/peers/mediapipe_pose.py CLIP --json OUT.json

The model ships inside the wheel (model_complexity=1 works offline). Frames are
decoded once; each frame is timed through ``pose.process`` in video mode.
The clip is run ``--rounds`` times (a fresh tracker each time) and the round
with the median FPS is reported, as ``infantpose bench`` does for its rows.

With ``--coco GT.json --images DIR --results OUT.json`` it runs on labelled
photos instead (static image mode: each photo on its own) and writes COCO
keypoint results in the ground truth's keypoint order (MediaPipe's landmark
names, e.g. ``left_shoulder``, are COCO's; keypoints it has no landmark for
get v = 0), for ``infantpose eval --coco GT.json --results OUT.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from typing import Any

import cv2
import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", nargs="?", default=None, help="video file to time (not with --coco)")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--complexity", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", default=None)
    ap.add_argument("--coco", default=None, help="COCO keypoint file: run on its photos instead of a clip")
    ap.add_argument("--images", default=None, help="--coco: folder holding the photos")
    ap.add_argument("--results", default=None, help="--coco: COCO keypoint results file to write")
    args = ap.parse_args()

    import mediapipe as mp

    if args.coco is not None:
        if args.images is None or args.results is None:
            raise SystemExit("error: --coco needs --images and --results")
        coco_results(mp, args.coco, args.images, args.results, args.complexity)
        return
    if args.clip is None:
        raise SystemExit("error: give a clip to time, or --coco with --images and --results")

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


def coco_results(mp: Any, coco: str, images: str, out: str, complexity: int) -> None:
    """MediaPipe Pose on every photo of a COCO keypoint file, written as COCO keypoint results."""
    from pathlib import Path

    try:
        doc = json.loads(Path(coco).read_text())
        names = next(c["keypoints"] for c in doc["categories"] if "keypoints" in c)
        photos = [(im["id"], im["file_name"]) for im in doc["images"]]
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        raise SystemExit(f"error: {coco}: not a COCO keypoint file") from None
    landmark = {lm.name.lower(): lm.value for lm in mp.solutions.pose.PoseLandmark}
    results, found = [], 0
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=complexity) as pose:
        for image_id, name in photos:
            img = cv2.imread(str(Path(images) / name))
            if img is None:
                raise SystemExit(f"error: {Path(images) / name}: not an image")
            h, w = img.shape[:2]
            res = pose.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            if res.pose_landmarks is None:
                continue  # no person found: no entry (a miss when scored)
            found += 1
            lms = res.pose_landmarks.landmark
            kp = []
            for n in names:
                lm = lms[landmark[n]] if n in landmark else None
                kp += [lm.x * w, lm.y * h, 2] if lm is not None else [0.0, 0.0, 0]
            results.append({"image_id": image_id, "category_id": 1, "keypoints": kp, "score": 1.0})
    Path(out).write_text(json.dumps(results))
    print(f"mediapipe pose (complexity {complexity}) found a person on {found} of {len(photos)} photos: {out}")


if __name__ == "__main__":
    main()
