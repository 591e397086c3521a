"""Evaluation of the chain on a MINI-RGBD-layout split (torch-free: any backend).

Rows, as in the original report: the detector's box IoU; the 2D network on
the detected boxes; the lifter on ground-truth 2D and on the 2D network's
output (the full chain). The detector runs on every frame here (no tracking),
so the numbers measure the models, not the tracker. Every number names its
protocol (metrics.Protocol).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infantpose.datasets import MiniRGBD
from infantpose.errors import DatasetError
from infantpose.fileio import read_image
from infantpose.metrics import (
    Protocol,
    acceleration_error,
    box_iou,
    evaluate_2d,
    evaluate_3d,
    mean_acceleration,
)
from infantpose.posture import vote_recording
from infantpose.skeleton import MPII
from infantpose.stages.detector import DetectorStage
from infantpose.stages.lifter import LifterStage, sequence_input
from infantpose.stages.pose2d import PoseStage


@dataclass
class SplitData:
    """Ground truth of a split in MPII joints, grouped by sequence in frame order."""

    images: list[Any]
    seq: np.ndarray  # (N,) sequence name per sample
    boxes: np.ndarray  # (N, 4) px
    kp2d: np.ndarray  # (N, 16, 2) px
    visible: np.ndarray  # (N, 16)
    kp3d: np.ndarray  # (N, 16, 3) mm, camera frame
    thr2d: np.ndarray  # (N,) px
    thr3d: np.ndarray  # (N,) mm
    names: list[str] = field(default_factory=list)


def load_split(ds: MiniRGBD, limit: int | None = None) -> SplitData:
    """Ground truth of a dataset split (first ``limit`` frames of each sequence if given)."""
    samples = []
    for seq in ds.sequences:
        n = len(seq.frames) if limit is None else min(limit, len(seq.frames))
        start = sum(len(s.frames) for s in ds.sequences[: ds.sequences.index(seq)])
        samples += [ds[start + i].to_joint_set(MPII.name) for i in range(n)]
    if not samples:
        raise DatasetError(f"{ds.root}: the split has no frames")
    return SplitData(
        images=[s.image for s in samples],
        seq=np.array([s.sequence for s in samples]),
        boxes=np.stack([s.box for s in samples]),
        kp2d=np.stack([s.joints2d for s in samples]),
        visible=np.stack([s.visible for s in samples]),
        kp3d=np.stack([s.joints3d for s in samples]),
        thr2d=np.array([s.pckh_2d for s in samples], dtype=np.float64),
        thr3d=np.array([s.pckh_3d for s in samples], dtype=np.float64),
        names=list(dict.fromkeys(s.sequence for s in samples)),
    )


def lift_sequences(lifter: LifterStage, kp2d: np.ndarray, seq: np.ndarray, names: list[str]) -> np.ndarray:
    """(N, 16, 3) mm: the lifter over each sequence (causal windows for a temporal lifter)."""
    out = np.zeros((*kp2d.shape[:2], 3))
    for name in names:
        idx = np.flatnonzero(seq == name)
        x = kp2d[idx]
        out[idx] = lifter(sequence_input(x, lifter.params))
    return out


def predict_2d(
    split: SplitData,
    pose: PoseStage,
    detector: DetectorStage | None,
    batch: int = 16,
    progress: bool = False,
    load: Any = read_image,
) -> dict[str, np.ndarray]:
    """Run the detector (or take ground-truth boxes) and the 2D network on every frame."""
    from rich.progress import track

    n = len(split.images)
    boxes = split.boxes.copy()
    scores = np.ones(n, np.float32)
    kp = np.zeros((n, MPII.num_joints, 2))
    conf = np.zeros((n, MPII.num_joints), np.float32)
    starts = range(0, n, batch)
    for i in track(starts, description="evaluating", disable=not progress):
        frames = [load(p) for p in split.images[i : i + batch]]
        if detector is not None:
            boxes[i : i + batch], scores[i : i + batch] = detector(frames)
        kp[i : i + batch], conf[i : i + batch] = pose(frames, boxes[i : i + batch])
    if pose.params.view == "auto":  # each sequence voted frame by frame, as the live pipeline does
        for name in dict.fromkeys(split.seq):
            idx = np.flatnonzero(split.seq == name)
            kp[idx], conf[idx] = vote_recording(kp[idx], conf[idx])
    return {"boxes": boxes, "scores": scores, "kp2d": kp, "conf": conf}


def jitter(kp3d: np.ndarray, gt3d: np.ndarray, seq: np.ndarray, names: list[str]) -> dict[str, float]:
    """Mean acceleration (mm/frame^2) of predicted root-relative 3D, and its error against ground truth."""
    root = MPII.root
    pred = kp3d - kp3d[:, root : root + 1]
    gt = gt3d - gt3d[:, root : root + 1]
    acc = [mean_acceleration(pred[seq == s]) for s in names]
    err = [acceleration_error(pred[seq == s], gt[seq == s]) for s in names]
    return {"accel_mm": float(np.nanmean(acc)), "accel_error_mm": float(np.nanmean(err))}


def evaluate(
    split: SplitData,
    protocol: Protocol | str,
    detector: DetectorStage | None = None,
    pose: PoseStage | None = None,
    lifter: LifterStage | None = None,
    progress: bool = False,
    load: Any = read_image,
    keep: bool = False,
) -> dict[str, Any]:
    """The report's table for whatever stages are given (``load`` reads a frame from its path).

    ``keep``: also return the chain's per-frame predictions under "predictions" (numpy arrays:
    "kp2d" (N, 16, 2) px, "kp3d" (N, 16, 3) mm) for figures; not JSON.
    """
    protocol = Protocol(protocol)
    out: dict[str, Any] = {"protocol": protocol.value, "frames": len(split.images), "sequences": split.names}
    pred2d = None
    if pose is not None:
        pred = predict_2d(split, pose, detector, progress=progress, load=load)
        pred2d = pred["kp2d"]
        if detector is not None:
            out["detector"] = {"iou": float(box_iou(pred["boxes"], split.boxes).mean())}
        out["pose2d"] = evaluate_2d(pred2d, split.kp2d, split.visible, split.thr2d, protocol)
        out["pose2d"]["boxes"] = "detector" if detector is not None else "ground truth"
    if lifter is not None:
        rows = {"gt2d": split.kp2d}
        if pred2d is not None:
            rows["chain"] = pred2d
        for row, kp in rows.items():
            k3 = lift_sequences(lifter, kp, split.seq, split.names)
            res = evaluate_3d(k3, split.kp3d, split.thr3d, MPII.root, protocol)
            res.update(jitter(k3, split.kp3d, split.seq, split.names))
            out[f"lifter_{row}"] = res
            if keep and row == "chain":
                out["predictions"] = {"kp2d": pred2d, "kp3d": k3}
        out["lifter_window"] = lifter.window
    return out


def format_report(report: dict[str, Any]) -> str:
    """Plain-text table of an :func:`evaluate` result."""
    lines = [f"protocol: {report['protocol']}  frames: {report['frames']}  sequences: {', '.join(report['sequences'])}"]
    if "detector" in report:
        lines.append(f"detector           box IoU {100 * report['detector']['iou']:.1f} %")
    if "pose2d" in report:
        p = report["pose2d"]
        lines.append(
            f"2D ({p['boxes']} boxes)  error {p['error_px']:.2f} px  PCKh@1.0 {p['pckh@1']:.2f} %  "
            f"PCKh@2.0 {p['pckh@2']:.2f} %"
        )
    for row, label in (("lifter_gt2d", "3D from GT 2D"), ("lifter_chain", "3D full chain")):
        if row in report:
            r = report[row]
            lines.append(
                f"{label:<18} MPJPE {r['mpjpe_mm']:.2f} mm  PA-MPJPE {r['pa_mpjpe_mm']:.2f} mm  "
                f"PCKh@1.0 {r['pckh@1']:.2f} %  PCKh@2.0 {r['pckh@2']:.2f} %  "
                f"accel {r['accel_mm']:.2f} (err {r['accel_error_mm']:.2f}) mm/frame^2"
            )
    if any(k.startswith("lifter_") for k in report):
        lines.append("per joint (mm, " + ("full chain" if "lifter_chain" in report else "GT 2D") + "):")
        r = report.get("lifter_chain", report.get("lifter_gt2d"))
        lines.append("  " + "  ".join(f"{n} {e:.1f}" for n, e in zip(MPII.joints, r["per_joint_mm"], strict=True)))
    return "\n".join(lines)
