"""Annotating frames: 2D skeleton, box, FPS and a small 3D view, drawn with OpenCV only."""

from __future__ import annotations

import cv2
import numpy as np

from infantpose.draw import draw_box, draw_skeleton
from infantpose.runtime.result import FrameResult
from infantpose.skeleton import get_joint_set

# The 3D inset's fixed half-width in mm: an infant's joints lie within about 300 mm of the pelvis, so
# the skeleton keeps its size from frame to frame instead of being rescaled to fill the box.
INSET_EXTENT_MM = 300.0


def view_3d(
    kp3d: np.ndarray,
    joint_set: str,
    size: int = 160,
    yaw_deg: float = 0.0,
    title: str = "3D",
    extent_mm: float = INSET_EXTENT_MM,
) -> np.ndarray:
    """(size, size, 3) BGR inset: root-relative 3D mm seen from the camera turned by ``yaw_deg`` about
    its y axis (0: as the camera sees it, 90: from the side), at a fixed scale with axes and a 100 mm bar."""
    js = get_joint_set(joint_set)
    img = np.full((size, size, 3), 32, np.uint8)
    a = np.deg2rad(yaw_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    px = size * 0.45 / extent_mm  # pixels per mm
    c = size / 2
    cv2.line(img, (0, int(c)), (size - 1, int(c)), (70, 70, 70), 1)  # axes through the pelvis
    cv2.line(img, (int(c), 0), (int(c), size - 1), (70, 70, 70), 1)
    bar = round(100 * px)
    cv2.line(img, (6, size - 8), (6 + bar, size - 8), (200, 200, 200), 2)
    cv2.putText(img, "100 mm", (10 + bar, size - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (200, 200, 200), 1, cv2.LINE_AA)
    p = np.asarray(kp3d, float) @ rot.T
    draw_skeleton(img, p[:, :2] * px + c, js, thickness=1)
    cv2.putText(img, title, (6, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 200, 200), 1, cv2.LINE_AA)
    return img


def annotate(frame: np.ndarray, result: FrameResult, joint_set: str, fps: float | None = None) -> np.ndarray:
    """A copy of the BGR frame with the result drawn on it."""
    img = frame.copy()
    js = get_joint_set(joint_set)
    if result.found:
        draw_box(img, result.box, (0, 220, 255) if result.tracked else (0, 140, 255))
        draw_skeleton(img, result.kp2d, js, result.conf, min_confidence=0.1)
        inset = np.hstack([view_3d(result.kp3d, joint_set, title="3D front"),
                           view_3d(result.kp3d, joint_set, yaw_deg=90.0, title="3D side")])  # fmt: skip
        h, w = img.shape[:2]
        ih, iw = inset.shape[:2]
        if h > ih + 10 and w > iw + 10:
            img[10 : 10 + ih, w - 10 - iw : w - 10] = inset
    label = f"frame {result.frame}  {result.ms.get('total', 0):.1f} ms"
    if fps is not None:
        label += f"  {fps:.1f} FPS"
    label += ("  tracked" if result.tracked else "  detected") if result.found else "  no infant"
    # A dark band behind the text: an outline drawn with thicker strokes is wider than the text.
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
    cv2.rectangle(img, (6, 6), (14 + tw, 14 + th), (0, 0, 0), -1)
    cv2.putText(img, label, (10, 10 + th), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return img
