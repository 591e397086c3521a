"""Accuracy of the live chain where real use differs from the test protocol (torch-free).

- tracking: MPJPE (standard protocol, mm) and 2D error (px) of the whole
  pipeline run as a video on each sequence of a split, with the default
  tracking and with the detector on every frame, every crop from its box;
  the bar is tracking costing at most 10 % of MPJPE.
- invariance: the same frames resized x2 and x3, padded by a border and
  turned a quarter and a half turn (the camera rolled: the 3D is turned back
  before comparing): how far the 3D moves (mean over joints and frames, mm)
  and the 2D (px, in the original frame's pixels).

    python -m infantpose.benchmarks.robustness --data data/synth-default --split test --json out.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from infantpose.datasets import MiniRGBD
from infantpose.evaluate.chain import load_split
from infantpose.fileio import read_image
from infantpose.metrics import Protocol, evaluate_3d
from infantpose.preprocess import turn_about_camera_axis
from infantpose.runtime.pipeline import Pipeline, SmoothingConfig
from infantpose.runtime.tracking import EVERY_FRAME, TrackerConfig
from infantpose.skeleton import MPII


def _run(pipe: Pipeline, frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
    """(F, J, 2) px, (F, J, 3) mm (NaN where no infant) and the number of detector runs."""
    pipe.reset()
    k2, k3, detections = [], [], 0
    for i, f in enumerate(frames):
        r = pipe(f, t=i / 30.0, index=i)
        detections += int(r.detected)
        k2.append(r.kp2d if r.found else np.full((MPII.num_joints, 2), np.nan))
        k3.append(r.kp3d if r.found else np.full((MPII.num_joints, 3), np.nan))
    return np.stack(k2), np.stack(k3), detections


def tracking_cost(bundle: Path | None, data: Path, split: str, precision: str = "fp32",
                  limit: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Per mode (tracking default, detector every frame): MPJPE mm, 2D px, detector runs."""
    gt = load_split(MiniRGBD(data, split=split), limit)
    modes = {"tracking": TrackerConfig(), "detector_every_frame": EVERY_FRAME}
    out: dict[str, Any] = {"split": split, "frames": len(gt.images), "sequences": gt.names}
    for mode, cfg in modes.items():
        pipe = Pipeline.from_bundle(bundle, precision, tracker=cfg, smoothing=SmoothingConfig(enabled=False))
        k2s, k3s, det = [], [], 0
        for name in gt.names:
            idx = np.flatnonzero(gt.seq == name)
            k2, k3, d = _run(pipe, [read_image(gt.images[i]) for i in idx])
            k2s.append(k2)
            k3s.append(k3)
            det += d
        k2, k3 = np.concatenate(k2s), np.concatenate(k3s)
        ok = np.isfinite(k3).all(axis=(1, 2))
        res = evaluate_3d(k3[ok], gt.kp3d[ok], np.nanmean(gt.thr3d), MPII.root, Protocol.STANDARD)
        out[mode] = {
            "mpjpe_mm": res["mpjpe_mm"],
            "pckh@2": res["pckh@2"],
            "error_2d_px": float(np.nanmean(np.linalg.norm(k2[ok] - gt.kp2d[ok], axis=-1))),
            "frames_without_infant": int((~ok).sum()),
            "detector_runs": det,
        }
    t, e = out["tracking"]["mpjpe_mm"], out["detector_every_frame"]["mpjpe_mm"]
    out["tracking_cost_pct"] = (t / e - 1.0) * 100.0
    return out


def invariance(bundle: Path | None, data: Path, split: str, frames: int = 60, precision: str = "fp32") -> dict:
    """3D (mm) and 2D (px) change when the same frames are resized x2, x3, padded by 80 px or turned
    a quarter / half turn (a roll of the camera: the 3D is compared after turning it back)."""
    gt = load_split(MiniRGBD(data, split=split), frames)
    name = gt.names[0]
    imgs = [read_image(gt.images[i]) for i in np.flatnonzero(gt.seq == name)][:frames]
    h, w = imgs[0].shape[:2]
    pipe = Pipeline.from_bundle(bundle, precision, smoothing=SmoothingConfig(enabled=False))
    ref2, ref3, _ = _run(pipe, imgs)
    # name: (frame change, its 2D px mapped back to the original frame, the camera's roll in radians)
    variants: dict[str, tuple[Callable, Callable, float]] = {
        "resize_x2": (lambda f: cv2.resize(f, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR), lambda k: k / 2, 0.0),
        "resize_x3": (lambda f: cv2.resize(f, None, fx=3, fy=3, interpolation=cv2.INTER_LINEAR), lambda k: k / 3, 0.0),
        "pad_80": (lambda f: cv2.copyMakeBorder(f, 80, 80, 80, 80, cv2.BORDER_CONSTANT, value=(0, 0, 0)),
                   lambda k: k - 80, 0.0),
        "roll_90": (lambda f: cv2.rotate(f, cv2.ROTATE_90_CLOCKWISE),
                    lambda k: np.stack([k[..., 1], h - 1 - k[..., 0]], axis=-1), np.pi / 2),
        "roll_180": (lambda f: cv2.rotate(f, cv2.ROTATE_180),
                     lambda k: np.stack([w - 1 - k[..., 0], h - 1 - k[..., 1]], axis=-1), np.pi),
    }  # fmt: skip
    out: dict[str, Any] = {"sequence": name, "frames": len(imgs)}
    for key, (fn, back, roll) in variants.items():
        k2, k3, _ = _run(pipe, [fn(f) for f in imgs])
        out[key] = {
            "delta_3d_mm": float(np.nanmean(np.linalg.norm(turn_about_camera_axis(k3, -roll) - ref3, axis=-1))),
            "delta_2d_px": float(np.nanmean(np.linalg.norm(back(k2) - ref2, axis=-1))),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="MINI-RGBD-layout dataset")
    ap.add_argument("--split", default="test")
    ap.add_argument("--bundle", type=Path, default=None, help="default: the shipped bundle")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--limit", type=int, default=None, help="frames per sequence (tracking)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    report = {
        "tracking": tracking_cost(a.bundle, a.data, a.split, a.precision, a.limit),
        "invariance": invariance(a.bundle, a.data, a.split, precision=a.precision),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if a.json:
        a.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
