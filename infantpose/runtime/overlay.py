"""Annotating frames: 2D skeleton, box, FPS and a small 3D view, drawn with OpenCV only."""

from __future__ import annotations

import cv2
import numpy as np

from infantpose.draw import draw_box, draw_skeleton
from infantpose.runtime.result import FrameResult
from infantpose.skeleton import get_joint_set


def view_3d(kp3d: np.ndarray, joint_set: str, size: int = 180, yaw_deg: float = 30.0) -> np.ndarray:
    """(size, size, 3) BGR inset: root-relative 3D mm seen from the camera turned by ``yaw_deg`` about y."""
    js = get_joint_set(joint_set)
    img = np.full((size, size, 3), 32, np.uint8)
    a = np.deg2rad(yaw_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    p = np.asarray(kp3d, float) @ rot.T
    extent = max(float(np.abs(p[:, :2]).max()), 1.0)
    pts = p[:, :2] / extent * (size * 0.42) + size / 2
    draw_skeleton(img, pts, js, thickness=1)
    cv2.putText(img, "3D", (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (200, 200, 200), 1, cv2.LINE_AA)
    return img


def annotate(frame: np.ndarray, result: FrameResult, joint_set: str, fps: float | None = None) -> np.ndarray:
    """A copy of the BGR frame with the result drawn on it."""
    img = frame.copy()
    js = get_joint_set(joint_set)
    if result.found:
        draw_box(img, result.box, (0, 220, 255) if result.tracked else (0, 140, 255))
        draw_skeleton(img, result.kp2d, js, result.conf, min_confidence=0.1)
        inset = view_3d(result.kp3d, joint_set)
        h, w = img.shape[:2]
        s = inset.shape[0]
        if h > s + 10 and w > s + 10:
            img[10 : 10 + s, w - 10 - s : w - 10] = inset
    label = f"frame {result.frame}  {result.ms.get('total', 0):.1f} ms"
    if fps is not None:
        label += f"  {fps:.1f} FPS"
    label += ("  tracked" if result.tracked else "  detected") if result.found else "  no infant"
    # A dark band behind the text: an outline drawn with thicker strokes is wider than the text.
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
    cv2.rectangle(img, (6, 6), (14 + tw, 14 + th), (0, 0, 0), -1)
    cv2.putText(img, label, (10, 10 + th), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return img
