"""Real model inputs for INT8 calibration and parity checks, made with the runtime's own pre-processing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from infantpose.datasets import MiniRGBD
from infantpose.errors import DatasetError
from infantpose.fileio import read_image
from infantpose.runtime.stages import causal_windows, detector_preprocess, lifter_preprocess, pose_preprocess
from infantpose.skeleton import MPII, map_joints


def calibration_inputs(
    stage: str, params: dict[str, Any], data: Path, count: int = 256, split: str = "train"
) -> np.ndarray:
    """``count`` inputs (N, ...) float32 for ``stage`` from frames spread over a MINI-RGBD-layout split.

    detector: letterboxed frames; pose2d: crops around the ground-truth box;
    lifter: normalised ground-truth 2D (windows for a temporal lifter).
    """
    ds = MiniRGBD(data, split=split)
    if len(ds) == 0:
        raise DatasetError(f"{data}: split {split!r} is empty")
    picks = np.linspace(0, len(ds) - 1, min(count, len(ds))).round().astype(int)
    if stage == "lifter":
        window = int(params.get("window", 1))
        chunks = []
        for seq in ds.sequences:
            _, kp, _ = ds.sequence_arrays(seq.name)
            kp = map_joints(kp, "minirgbd", MPII.name)
            chunks.append(lifter_preprocess(causal_windows(kp, window) if window > 1 else kp, params))
        allx = np.concatenate(chunks)
        return allx[np.linspace(0, len(allx) - 1, min(count, len(allx))).round().astype(int)]
    out = []
    for i in picks:
        s = ds[int(i)]
        img = read_image(s.image)
        if stage == "detector":
            out.append(detector_preprocess([img], params)[0][0])
        elif stage == "pose2d":
            out.append(pose_preprocess([img], np.asarray(s.box)[None], params)[0][0])
        else:
            raise ValueError(f"unknown stage {stage!r}")
    return np.stack(out).astype(np.float32)
