"""Region-of-interest tracking: run the detector only when needed.

The detector runs on the first frame, when tracking is lost (low mean
keypoint confidence, a degenerate box, a frame-size change) and every
``detector_period`` frames. Otherwise the next box comes from the current
frame's keypoints, as MediaPipe does (the 2D stage builds it:
``PoseStage.pose_boxes``, measured along the body for networks that take
turned crops). A periodic detection that agrees with the track (:meth:`Tracker.confirms`:
the track's centre inside the detection, its size in proportion) keeps it: only a
detection that disagrees restarts the crop from the detector's box.

Why the box cannot collapse: it is built from *all* predicted joints, not only
the confident ones (unsure hands and feet used to drop out, the box shrank,
the crop lost the limbs, they became less sure: a spiral down to a few
pixels), and its width and height may change by at most ``max_scale_step``
per frame. The periodic detection re-anchors it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infantpose.geometry import clip_box


@dataclass(frozen=True)
class TrackerConfig:
    """Thresholds: confidences are heatmap peaks (0-1); areas are fractions of the frame."""

    min_confidence: float = 0.3  # mean keypoint confidence below which tracking is lost
    min_area: float = 0.002
    max_area: float = 0.95
    max_scale_step: float = 0.1  # largest relative change of box width / height per frame
    detector_period: int = 30  # also re-detect every N frames (0: only when lost)
    # A periodic detection confirms the track when the tracked box's side is this range x the
    # detection's longer side (the stage's box is 0.56-0.68x the detector's on the demo clip, and the
    # detector's boxes are tighter on real photos); None: every detection restarts the crop.
    confirm_size: tuple[float, float] | None = (0.3, 1.5)


# The comparison the benchmarks make: the detector on every frame and every crop restarted from its
# box (no track kept on agreement), the chain without tracking.
EVERY_FRAME = TrackerConfig(detector_period=1, confirm_size=None)


class Tracker:
    """Holds the box for the next frame; ``None`` means: run the detector."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.box: np.ndarray | None = None
        self.frame_size: tuple[int, int] | None = None
        self.since_detection = 0

    def reset(self) -> None:
        self.box = None

    def needs_detection(self, frame_size: tuple[int, int] | None = None) -> bool:
        """Whether the next frame (of ``frame_size`` (W, H), when given) must go through the detector."""
        period = self.config.detector_period
        resized = frame_size is not None and self.frame_size is not None and frame_size != self.frame_size
        return self.box is None or resized or (period > 0 and self.since_detection >= period)

    def detected(self) -> None:
        self.since_detection = 0

    def confirms(self, detection: np.ndarray, frame_size: tuple[int, int]) -> bool:
        """Whether a detection's (4,) px box in a frame of ``frame_size`` (W, H) agrees with the track:
        same frame size, the tracked box's centre inside the detection and its side within
        ``confirm_size`` x the detection's longer side. A shrunken or stray track does not."""
        if self.box is None or frame_size != self.frame_size or self.config.confirm_size is None:
            return False
        d = np.asarray(detection, np.float64)
        centre = (self.box[:2] + self.box[2:]) / 2
        inside = bool(np.all(centre >= d[:2]) and np.all(centre <= d[2:]))
        side = float(np.max(self.box[2:] - self.box[:2]))
        lo, hi = self.config.confirm_size
        return inside and lo <= side / max(float(np.max(d[2:] - d[:2])), 1.0) <= hi

    def update(
        self,
        next_box: np.ndarray,
        confidences: np.ndarray,
        frame_size: tuple[int, int],
        used_box: np.ndarray,
        turned: bool = False,
    ) -> bool:
        """Take the (4,) px box built from this frame's pose (found with (J,) ``confidences`` in
        ``used_box``) for the next frame; False (and reset) when lost. ``turned``: the boxes are
        measured along a turned crop's axes, so they are not clipped to the frame's."""
        c = self.config
        self.since_detection += 1
        self.frame_size = frame_size
        next_box = np.asarray(next_box, np.float64)
        if float(np.mean(confidences)) < c.min_confidence or not np.isfinite(next_box).all():
            self.box = None
            return False
        box = _limit_scale(next_box, np.asarray(used_box, float), c.max_scale_step)
        if not turned:
            box = clip_box(box, frame_size)
        w, h = frame_size
        area = (box[2] - box[0]) * (box[3] - box[1]) / float(w * h)
        centre = (box[:2] + box[2:]) / 2
        inside = 0 <= centre[0] <= w and 0 <= centre[1] <= h
        if not (c.min_area <= area <= c.max_area) or not inside:
            self.box = None
            return False
        self.box = box
        return True


def _limit_scale(box: np.ndarray, previous: np.ndarray, step: float) -> np.ndarray:
    """``box`` (4,) with its width and height kept within (1 +- step) x those of ``previous``, same centre."""
    size = box[2:] - box[:2]
    prev = np.maximum(previous[2:] - previous[:2], 1.0)
    size = np.clip(size, prev * (1 - step), prev * (1 + step))
    centre = (box[:2] + box[2:]) / 2
    return np.concatenate([centre - size / 2, centre + size / 2])
