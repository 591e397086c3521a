"""Real model inputs for INT8 calibration and parity checks, made by each stage's own ``preprocess``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infantpose.datasets import MiniRGBD
from infantpose.errors import DatasetError
from infantpose.stages import StageParams, stage_def


def calibration_inputs(
    stage: str, params: StageParams, data: Path, count: int = 256, split: str = "train"
) -> np.ndarray:
    """``count`` inputs (N, ...) float32 for ``stage`` from frames spread over a MINI-RGBD-layout split.

    detector: letterboxed frames; pose2d: crops around the ground-truth box;
    lifter: normalised ground-truth 2D (windows for a temporal lifter). See each stage's
    ``calibration_inputs``.
    """
    sd = stage_def(stage)
    ds = MiniRGBD(data, split=split)
    if len(ds) == 0:
        raise DatasetError(f"{data}: split {split!r} is empty")
    return sd.calibration_inputs(ds, count, params)
