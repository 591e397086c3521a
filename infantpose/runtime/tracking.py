"""Region-of-interest tracking: run the detector only when needed.

The detector runs on the first frame, when tracking is lost (low mean
keypoint confidence, or a degenerate box) and, optionally, every
``detector_period`` frames. Otherwise the next box comes from the current
frame's confident keypoints, as MediaPipe does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infantpose.geometry import box_from_points


@dataclass
class TrackerConfig:
    """Thresholds: confidences are heatmap peaks (0-1); areas are fractions of the frame."""

    min_confidence: float = 0.3  # mean keypoint confidence below which tracking is lost
    keypoint_confidence: float = 0.2  # keypoints used to build the next box
    margin: float = 0.15  # box grown by this fraction of its size per side
    min_area: float = 0.002
    max_area: float = 0.95
    detector_period: int = 0  # 0: only when lost


class Tracker:
    """Holds the box for the next frame; ``None`` means: run the detector."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.box: np.ndarray | None = None
        self.since_detection = 0

    def reset(self) -> None:
        self.box = None

    def needs_detection(self) -> bool:
        period = self.config.detector_period
        return self.box is None or (period > 0 and self.since_detection >= period)

    def detected(self) -> None:
        self.since_detection = 0

    def update(self, keypoints: np.ndarray, confidences: np.ndarray, frame_size: tuple[int, int]) -> bool:
        """Take this frame's (J, 2) px keypoints; returns False (and resets) when tracking is lost."""
        c = self.config
        self.since_detection += 1
        good = confidences >= c.keypoint_confidence
        if float(np.mean(confidences)) < c.min_confidence or good.sum() < 4:
            self.box = None
            return False
        box = box_from_points(keypoints[good], c.margin, frame_size)
        w, h = frame_size
        area = (box[2] - box[0]) * (box[3] - box[1]) / float(w * h)
        if not (c.min_area <= area <= c.max_area):
            self.box = None
            return False
        self.box = box
        return True
