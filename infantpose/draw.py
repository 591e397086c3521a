"""Drawing 2D skeletons and boxes on BGR images with OpenCV (shared by synth previews and the runtime)."""

from __future__ import annotations

import cv2
import numpy as np

from infantpose.skeleton import JointSet


def draw_skeleton(
    image: np.ndarray,
    keypoints: np.ndarray,
    joint_set: JointSet,
    confidences: np.ndarray | None = None,
    min_confidence: float = 0.0,
    thickness: int = 2,
) -> np.ndarray:
    """Draw bones and joints of (J, 2) pixel keypoints on a BGR image, in place; returns it.

    Joints whose confidence is below ``min_confidence`` (and their bones) are skipped.
    """
    pts = np.asarray(keypoints, dtype=np.float64)
    ok = np.isfinite(pts).all(axis=1)
    if confidences is not None:
        ok &= np.asarray(confidences) >= min_confidence
    ipts = np.round(np.where(ok[:, None], pts, 0)).astype(int)
    for (a, b), colour in zip(joint_set.bones, joint_set.bone_colours(), strict=True):
        if ok[a] and ok[b]:
            cv2.line(image, tuple(ipts[a]), tuple(ipts[b]), colour, thickness, cv2.LINE_AA)
    for j, colour in enumerate(joint_set.joint_colours()):
        if ok[j]:
            cv2.circle(image, tuple(ipts[j]), thickness + 1, colour, -1, cv2.LINE_AA)
    return image


def draw_box(image: np.ndarray, box: np.ndarray, colour: tuple[int, int, int] = (0, 220, 255)) -> np.ndarray:
    """Draw a (4,) x1 y1 x2 y2 pixel box on a BGR image, in place; returns it."""
    x1, y1, x2, y2 = np.round(np.asarray(box, dtype=np.float64)).astype(int)
    cv2.rectangle(image, (x1, y1), (x2, y2), colour, 1, cv2.LINE_AA)
    return image


def tile(images: list[np.ndarray], columns: int) -> np.ndarray:
    """Arrange equally sized images (H, W, 3) in a grid with ``columns`` columns."""
    if not images:
        raise ValueError("tile needs at least one image")
    blank = np.zeros_like(images[0])
    rows = []
    for i in range(0, len(images), columns):
        row = images[i : i + columns]
        row += [blank] * (columns - len(row))
        rows.append(np.hstack(row))
    return np.vstack(rows)
