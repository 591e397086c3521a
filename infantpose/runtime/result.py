"""The per-frame result the pipeline hands to sinks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class FrameResult:
    """One processed frame.

    Attributes:
        frame: index of the frame in the source (0-based).
        source: file name of the frame, or None for cameras and streams.
        t: capture time in seconds (wall clock for live sources, frame index / fps for files).
        box: (4,) x1 y1 x2 y2 px used for the 2D network; score: detector score (None when the
        detector did not run on this frame).
        tracked: True when the box came from the previous keypoints, not the detector (also on a
        periodic detection that confirmed the track).
        kp2d: (J, 2) px of the input frame; conf: (J,) 0-1.
        kp3d: (J, 3) mm, camera axes (x right, y down, z away), root (pelvis) at the origin.
        box, kp2d, conf and kp3d are None when no infant was found (detector score below the threshold).
        ms: per-stage milliseconds (detector, pose2d, lifter, total) and capture_to_result.
    """

    frame: int
    source: str | None
    t: float
    box: np.ndarray | None
    score: float | None
    tracked: bool
    kp2d: np.ndarray | None
    conf: np.ndarray | None
    kp3d: np.ndarray | None
    ms: dict[str, float] = field(default_factory=dict)

    @property
    def detected(self) -> bool:
        """True when the detector ran on this frame (its score is recorded)."""
        return self.score is not None

    @property
    def found(self) -> bool:
        """False for a frame where no infant was found."""
        return self.kp2d is not None

    def to_json(self) -> dict[str, Any]:
        """The JSONL record (numbers rounded: 0.01 px, 0.1 mm, 0.001 confidence)."""
        return {
            "frame": self.frame,
            "source": self.source,
            "t": round(self.t, 6),
            "box": None if self.box is None else [round(float(v), 2) for v in self.box],
            "score": None if self.score is None else round(float(self.score), 4),
            "tracked": self.tracked,
            # float64 first: a rounded float32 prints as 0.968999981880188.
            "kp2d": None if self.kp2d is None else np.round(np.asarray(self.kp2d, np.float64), 2).tolist(),
            "conf": None if self.conf is None else np.round(np.asarray(self.conf, np.float64), 3).tolist(),
            "kp3d": None if self.kp3d is None else np.round(np.asarray(self.kp3d, np.float64), 1).tolist(),
            "ms": {k: round(v, 3) for k, v in self.ms.items()},
        }
