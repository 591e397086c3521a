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
        """The JSONL record (numbers rounded: 0.01 px, 0.1 mm, 0.001 confidence); a value that is not
        finite is null (NaN is not JSON)."""
        return {
            "frame": self.frame,
            "source": self.source,
            "t": _rounded(self.t, 6),
            "box": _rounded(self.box, 2),
            "score": _rounded(self.score, 4),
            "tracked": self.tracked,
            "kp2d": _rounded(self.kp2d, 2),
            "conf": _rounded(self.conf, 3),
            "kp3d": _rounded(self.kp3d, 1),
            "ms": {k: _rounded(v, 3) for k, v in self.ms.items()},
        }


def _rounded(value: Any, digits: int) -> Any:
    """A number or array as JSON: rounded (float64 first: a rounded float32 prints as 0.968999981880188),
    nested lists for arrays, None for None and for every value that is not finite."""
    if value is None:
        return None
    a = np.round(np.asarray(value, np.float64), digits)
    if a.ndim == 0:
        return float(a) if np.isfinite(a) else None
    return np.where(np.isfinite(a), a, None).tolist()
