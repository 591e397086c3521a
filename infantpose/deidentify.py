"""De-identification of visual outputs: the infant's face blurred or pixelated before anything is drawn.

The face region comes from the 2D head keypoints (MPII ``head_top`` and ``upper_neck``, in the
pixels of the frame). Real-human 2D networks put ``head_top`` anywhere from the nose to the crown,
so the region is a square centred past ``head_top`` by 0.3 x their distance (away from the neck),
its side 3.2 x that distance (the whole head with a margin), at least 6 % of the frame's shorter side.
Along a recording the region is stable: each frame's region also covers the previous frame's (the
2D wobbles), a frame where the infant is lost (or its head joints are not confident) covers the
last known region grown by 30 % for up to ``HOLD_FRAMES`` frames, and a frame with nothing known is
covered whole.

Strength (documented, fixed): ``blur`` is a Gaussian blur whose sigma is a quarter of the region's
side (no facial feature survives); ``mosaic`` replaces the region by 8 x 8 blocks, each the mean
colour of its pixels. Frames are BGR uint8 (H, W, 3); regions are x1 y1 x2 y2 px.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from infantpose.skeleton import MPII

MODES = ("off", "blur", "mosaic")
HEAD = (MPII.index("head_top"), MPII.index("upper_neck"))
SIDE_PER_HEAD = 3.2  # region side / head_top-upper_neck distance
BEYOND_TOP = 0.3  # the region's centre lies this far past head_top, in head_top-upper_neck distances
MIN_SIDE = 0.06  # region side at least this share of the frame's shorter side
HOLD_FRAMES = 15  # a lost infant's last region is covered this long, then the whole frame
HOLD_GROWTH = 1.3
MIN_CONFIDENCE = 0.1
MOSAIC_BLOCKS = 8


def face_region(kp2d: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray | None:
    """(4,) x1 y1 x2 y2 px of the face from (J, 2) px MPII keypoints in a (W, H) frame; None when the head
    joints are not finite."""
    top, neck = np.asarray(kp2d, np.float64)[list(HEAD)]
    if not (np.isfinite(top).all() and np.isfinite(neck).all()):
        return None
    centre = top + BEYOND_TOP * (top - neck)
    side = max(SIDE_PER_HEAD * float(np.linalg.norm(top - neck)), MIN_SIDE * min(frame_size))
    return np.concatenate([centre - side / 2, centre + side / 2])


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.concatenate([np.minimum(a[:2], b[:2]), np.maximum(a[2:], b[2:])])


def _grow(r: np.ndarray, factor: float) -> np.ndarray:
    c, half = (r[:2] + r[2:]) / 2, (r[2:] - r[:2]) * factor / 2
    return np.concatenate([c - half, c + half])


def cover(frame: np.ndarray, region: np.ndarray | None, mode: str) -> np.ndarray:
    """A copy of the BGR frame with ``region`` (None: the whole frame) blurred or pixelated."""
    out = frame.copy()
    h, w = frame.shape[:2]
    if region is None:
        x1, y1, x2, y2 = 0, 0, w, h
    else:
        x1, y1 = np.floor(np.clip(region[:2], 0, [w, h])).astype(int)
        x2, y2 = np.ceil(np.clip(region[2:], 0, [w, h])).astype(int)
    if x2 - x1 < 1 or y2 - y1 < 1:
        return out
    patch = frame[y1:y2, x1:x2]
    side = max(x2 - x1, y2 - y1)
    if mode == "blur":
        # Blurred from a padded copy: pixels at the region's edge mix with the face, not with the border.
        sigma = max(side / 4.0, 2.0)
        pad = int(3 * sigma)
        big = cv2.copyMakeBorder(patch, pad, pad, pad, pad, cv2.BORDER_REFLECT)
        out[y1:y2, x1:x2] = cv2.GaussianBlur(big, (0, 0), sigma)[pad:-pad, pad:-pad]
    elif mode == "mosaic":
        bh, bw = (
            max(1, (y2 - y1 + MOSAIC_BLOCKS - 1) // MOSAIC_BLOCKS),
            max(1, (x2 - x1 + MOSAIC_BLOCKS - 1) // MOSAIC_BLOCKS),
        )
        for by in range(y1, y2, bh):
            for bx in range(x1, x2, bw):
                block = out[by : min(by + bh, y2), bx : min(bx + bw, x2)]
                block[:] = block.reshape(-1, 3).mean(0).round().astype(np.uint8)
    else:
        raise ValueError(f"unknown de-identification mode {mode!r} (choose {', '.join(MODES[1:])})")
    return out


@dataclass
class FaceMasker:
    """Covers the face on each frame of a recording (or each photo, with ``reset()`` between them)."""

    mode: str = "blur"
    last: np.ndarray | None = None  # the last known face region
    lost: int = 0  # frames since it was last known

    def __post_init__(self) -> None:
        if self.mode not in MODES[1:]:
            raise ValueError(f"unknown de-identification mode {self.mode!r} (choose {', '.join(MODES[1:])})")

    def reset(self) -> None:
        self.last, self.lost = None, 0

    def region(self, kp2d: np.ndarray | None, conf: np.ndarray | None, size: tuple[int, int]) -> np.ndarray | None:
        """The region to cover on a (W, H) frame with these keypoints (None: cover the whole frame)."""
        confident = kp2d is not None and (conf is None or min(np.asarray(conf)[list(HEAD)]) >= MIN_CONFIDENCE)
        now = face_region(kp2d, size) if confident else None
        if now is not None:
            region = now if self.last is None or self.lost > 0 else _union(now, self.last)
            self.last, self.lost = now, 0
            return region
        self.lost += 1
        if self.last is None or self.lost > HOLD_FRAMES:
            return None
        return _grow(self.last, HOLD_GROWTH)

    def __call__(self, frame: np.ndarray, kp2d: np.ndarray | None, conf: np.ndarray | None = None) -> np.ndarray:
        """A copy of the BGR frame with the face covered (the whole frame when no face is known)."""
        return cover(frame, self.region(kp2d, conf, (frame.shape[1], frame.shape[0])), self.mode)
