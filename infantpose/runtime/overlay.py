"""Annotating frames: 2D skeleton, box, FPS and a small 3D view, drawn with OpenCV only."""

from __future__ import annotations

import cv2
import numpy as np

from infantpose.deidentify import face_region
from infantpose.draw import draw_box, draw_skeleton
from infantpose.geometry import clip_box
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


INSET_MODES = ("auto", "off", "corner")
# The angles --show-angles draws, at the 2D joint they belong to (kinematics.joint_angles names).
_ANGLE_JOINTS = (("knee_flexion", "knee"), ("elbow_flexion", "elbow"), ("hip_flexion", "hip"))
SHOWN_ANGLES = {f"{s}_{name}_deg": f"{s}_{joint}" for s in ("l", "r") for name, joint in _ANGLE_JOINTS}
LABEL_SCALE = 0.6


def body_box(
    kp2d: np.ndarray, conf: np.ndarray | None, size: tuple[int, int], joint_set: str = "mpii"
) -> np.ndarray | None:
    """(4,) x1 y1 x2 y2 px around the whole body: every confident (J, 2) px joint, grown by 12 % of the
    body's larger side (hands and feet reach past their joints) and, for MPII joints, holding the head's
    region (:func:`infantpose.deidentify.face_region`), clipped to the (W, H) frame."""
    pts = np.asarray(kp2d, np.float64)
    ok = np.isfinite(pts).all(axis=1) & (np.asarray(conf) >= 0.1 if conf is not None else True)
    if ok.sum() < 2:
        return None
    lo, hi = pts[ok].min(0), pts[ok].max(0)
    pad = 0.12 * float(max(hi - lo))
    lo, hi = lo - pad, hi + pad
    head = face_region(pts, size) if joint_set == "mpii" else None
    if head is not None:  # the head reaches past its joints: the box holds the whole face region
        lo, hi = np.minimum(lo, head[:2]), np.maximum(hi, head[2:])
    return clip_box(np.concatenate([lo, hi]), size)


def _overlap(a: tuple[int, int, int, int], b: np.ndarray | tuple | None) -> float:
    if b is None:
        return 0.0
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return float(max(w, 0) * max(h, 0))


def place_inset(
    frame_size: tuple[int, int], inset_size: tuple[int, int], body: np.ndarray | None, label: tuple[int, int, int, int],
    mode: str = "auto", margin: int = 10,
) -> tuple[int, int] | None:  # fmt: skip
    """Top-left (x, y) px of the (W, H) inset in a (W, H) frame: ``auto`` the corner that covers least of
    the body box (ties: the one farthest from the body's centre) and never the label; ``corner`` top
    right; None when it does not fit beside the label."""
    (fw, fh), (iw, ih) = frame_size, inset_size
    corners = [(fw - margin - iw, margin), (margin, margin), (fw - margin - iw, fh - margin - ih),
               (margin, fh - margin - ih)]  # fmt: skip
    fits = [(x, y) for x, y in corners if x >= 0 and y >= 0 and not _overlap((x, y, x + iw, y + ih), label)]
    if not fits:
        return None
    if mode == "corner":
        return fits[0]
    centre = np.array([fw / 2, fh / 2]) if body is None else (np.asarray(body[:2]) + body[2:]) / 2

    def cost(c: tuple[int, int]) -> tuple[float, float]:
        far = float(np.linalg.norm(np.array([c[0] + iw / 2, c[1] + ih / 2]) - centre))
        return _overlap((c[0], c[1], c[0] + iw, c[1] + ih), body), -far

    return min(fits, key=cost)


def annotate(
    frame: np.ndarray,
    result: FrameResult,
    joint_set: str,
    fps: float | None = None,
    inset: str = "auto",
    inset_size: int | None = None,
    angles: bool = False,
) -> np.ndarray:
    """A copy of the BGR frame with the result drawn on it: the box around the whole body, the 2D skeleton,
    a frame label (top left) and the 3D inset (front and side views, each ``inset_size`` px; default a
    quarter of the frame's shorter side, 80-200 px) where ``inset`` says; ``angles``: knee, elbow and hip
    angles (degrees, from the 3D) beside their joints."""
    if inset not in INSET_MODES:
        raise ValueError(f"inset must be one of {', '.join(INSET_MODES)}, not {inset!r}")
    img = frame.copy()
    h, w = img.shape[:2]
    js = get_joint_set(joint_set)
    label = f"frame {result.frame}  {result.ms.get('total', 0):.1f} ms"
    if fps is not None:
        label += f"  {fps:.1f} FPS"
    label += ("  tracked" if result.tracked else "  detected") if result.found else "  no infant"
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, LABEL_SCALE, 1)
    label_box = (6, 6, 14 + tw, 14 + th)
    if result.found:
        body = body_box(result.kp2d, result.conf, (w, h), joint_set)
        if body is not None:
            draw_box(img, body, (0, 220, 255) if result.tracked else (0, 140, 255))
        draw_skeleton(img, result.kp2d, js, result.conf, min_confidence=0.1)
        if angles and result.kp3d is not None and joint_set == "mpii":
            _draw_angles(img, result)
        side = inset_size or int(np.clip(min(h, w) / 4, 80, 200))
        where = place_inset((w, h), (2 * side, side), body, label_box, inset) if inset != "off" else None
        if where is not None:
            x, y = where
            img[y : y + side, x : x + 2 * side] = np.hstack([
                view_3d(result.kp3d, joint_set, size=side, title="3D front"),
                view_3d(result.kp3d, joint_set, size=side, yaw_deg=90.0, title="3D side"),
            ])  # fmt: skip
    # A dark band behind the text: an outline drawn with thicker strokes is wider than the text.
    cv2.rectangle(img, label_box[:2], label_box[2:], (0, 0, 0), -1)
    cv2.putText(img, label, (10, 10 + th), cv2.FONT_HERSHEY_SIMPLEX, LABEL_SCALE, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def _draw_angles(img: np.ndarray, result: FrameResult) -> None:
    """Knee, elbow and hip angles (degrees, from the 3D) written beside their 2D joints."""
    from infantpose.clinical.kinematics import joint_angles
    from infantpose.skeleton import MPII

    values = joint_angles(np.asarray(result.kp3d, np.float64)[None])
    for name, joint in SHOWN_ANGLES.items():
        j = MPII.index(joint)
        v, (x, y) = float(values[name][0]), result.kp2d[j]
        if not (np.isfinite(v) and np.isfinite(x) and np.isfinite(y)) or (
            result.conf is not None and result.conf[j] < 0.1
        ):
            continue
        text, org = f"{v:.0f}", (int(x) + 6, int(y) - 6)
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
