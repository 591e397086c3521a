"""Camera intrinsics, projection, boxes and the crop affine.

Conventions: image points are (x, y) pixels with x right and y down; camera
points are (X, Y, Z) with X right, Y down, Z away from the camera, in any
length unit (the caller's unit comes back). A crop is described by a centre
(x, y) px and a scale (w, h) in units of 200 px, as in Simple Baselines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

PIXEL_STD = 200.0  # the "scale in units of 200 px" convention


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels."""

    fx: float
    fy: float
    cx: float
    cy: float

    def matrix(self) -> np.ndarray:
        """(3,3) camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


MINI_RGBD_INTRINSICS = Intrinsics(
    fx=588.67905803875317, fy=590.25690113005601, cx=322.22048191353628, cy=237.46785983766890
)


def project(points: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """Project camera-frame points (..., 3) to pixels (..., 2). Z must be > 0."""
    p = np.asarray(points, dtype=np.float64)
    z = p[..., 2]
    x = intrinsics.fx * p[..., 0] / z + intrinsics.cx
    y = intrinsics.fy * p[..., 1] / z + intrinsics.cy
    return np.stack([x, y], axis=-1)


def back_project(uv: np.ndarray, depth: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """Pixels (..., 2) and depth Z (...) to camera-frame points (..., 3), in depth's unit."""
    uv = np.asarray(uv, dtype=np.float64)
    z = np.asarray(depth, dtype=np.float64)
    x = (uv[..., 0] - intrinsics.cx) * z / intrinsics.fx
    y = (uv[..., 1] - intrinsics.cy) * z / intrinsics.fy
    return np.stack([x, y, z], axis=-1)


# --- boxes -------------------------------------------------------------------


def box_to_center_scale(
    box: np.ndarray, aspect_ratio: float = 1.0, padding: float = 1.25
) -> tuple[np.ndarray, np.ndarray]:
    """Box (x1, y1, x2, y2) px to (centre (2,) px, scale (2,) in 200 px units).

    The box is grown to ``aspect_ratio`` (width / height of the network input)
    around its centre, then multiplied by ``padding``.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    center = np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0])
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    else:
        w = h * aspect_ratio
    scale = np.array([w, h]) * padding / PIXEL_STD
    return center, scale


def center_scale_to_box(center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Inverse of :func:`box_to_center_scale` without padding: (4,) x1 y1 x2 y2 px."""
    w, h = np.asarray(scale, dtype=np.float64) * PIXEL_STD
    cx, cy = center
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def box_from_points(points: np.ndarray, margin: float = 0.1, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Tight box around points (N, 2) px grown by ``margin`` x its size per side.

    Clipped to ``image_size`` (width, height) when given. Returns (4,) x1 y1 x2 y2.
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(p) == 0:
        raise ValueError("box_from_points needs at least one point")
    lo, hi = p.min(axis=0), p.max(axis=0)
    pad = (hi - lo) * margin
    box = np.concatenate([lo - pad, hi + pad])
    if image_size is not None:
        box = clip_box(box, image_size)
    return box


def clip_box(box: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Clip (4,) x1 y1 x2 y2 to an image of (width, height) pixels."""
    w, h = image_size
    return np.clip(np.asarray(box, dtype=np.float64), [0, 0, 0, 0], [w - 1, h - 1, w - 1, h - 1])


def _turn(rotation: float) -> np.ndarray:
    """(2, 2) matrix taking image offsets into a crop turned ``rotation`` degrees (as :func:`crop_affine`)."""
    t = np.deg2rad(rotation)
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, s], [-s, c]])


def turned_box_from_points(points: np.ndarray, rotation: float, grow: float) -> np.ndarray:
    """Box (4,) x1 y1 x2 y2 around points (N, 2) px, measured along axes turned ``rotation`` degrees.

    The sides are ``grow`` x the points' extent along the turned axes, the centre is that
    extent's centre (image px); read with the same ``rotation`` (a turned crop), the box fits
    the points however they lie in the image. ``rotation`` 0 and ``grow`` 1 + 2m is
    :func:`box_from_points` with margin m.
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(p) == 0:
        raise ValueError("turned_box_from_points needs at least one point")
    turn = _turn(rotation)
    q = p @ turn.T
    lo, hi = q.min(axis=0), q.max(axis=0)
    centre = turn.T @ ((lo + hi) / 2.0)
    half = (hi - lo) * grow / 2.0
    return np.concatenate([centre - half, centre + half])


def turned_box_hull(box: np.ndarray, rotation: float) -> np.ndarray:
    """Axis-aligned box (4,) px around ``box`` (4,) read along axes turned ``rotation`` degrees."""
    b = np.asarray(box, dtype=np.float64)
    centre, half = (b[:2] + b[2:]) / 2.0, (b[2:] - b[:2]) / 2.0
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half
    image = corners @ _turn(rotation) + centre  # rows: turn.T @ corner
    return np.concatenate([image.min(axis=0), image.max(axis=0)])


# --- crop affine -------------------------------------------------------------


def crop_affine(
    center: np.ndarray,
    scale: np.ndarray,
    rotation: float,
    output_size: tuple[int, int],
    inverse: bool = False,
) -> np.ndarray:
    """(2, 3) affine from image px to crop px (or back with ``inverse``).

    The region of size ``scale * 200`` px around ``center``, rotated by
    ``rotation`` degrees (counter-clockwise on screen), fills an output of
    ``output_size`` (width, height). The same function maps image points to
    heatmap points when ``output_size`` is the heatmap size.
    """
    out_w, out_h = output_size
    src_w, src_h = np.asarray(scale, dtype=np.float64) * PIXEL_STD
    # y points down, so a counter-clockwise turn on screen of the content is
    # the matrix [[c, s], [-s, c]] applied to offsets from the centre.
    rot = np.eye(3)
    rot[:2, :2] = _turn(rotation)
    to_origin = np.array([[1.0, 0.0, -center[0]], [0.0, 1.0, -center[1]], [0.0, 0.0, 1.0]])
    zoom = np.diag([out_w / src_w, out_h / src_h, 1.0])
    to_out = np.array([[1.0, 0.0, out_w / 2.0], [0.0, 1.0, out_h / 2.0], [0.0, 0.0, 1.0]])
    m = to_out @ zoom @ rot @ to_origin
    if inverse:
        m = np.linalg.inv(m)
    return m[:2]


def apply_affine(points: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine to points (..., 2)."""
    p = np.asarray(points, dtype=np.float64)
    return p @ affine[:, :2].T + affine[:, 2]


# A warp that shrinks the image more than this (output px per image px) first averages the region
# it reads down to this scale (INTER_AREA), then samples it bilinearly. The networks were trained on
# 640x480 renders (the detector's letterbox samples them at 0.25, pose crops at 0.3-0.6): frames of
# any larger resolution then give them the same input, and a 4K photo is not point-sampled
# (aliased) into it.
MIN_WARP_SCALE = 0.25


def warp_image(image: np.ndarray, affine: np.ndarray, output_size: tuple[int, int]) -> np.ndarray:
    """(H_out, W_out, C) = ``image`` (H, W, C) through the (2, 3) image-px -> output-px ``affine``.

    Bilinear; pixels outside the image are 0; colour order kept. Shrinking below
    :data:`MIN_WARP_SCALE` goes through an area-averaged copy of the region the output reads.
    """
    size = (int(output_size[0]), int(output_size[1]))
    a = np.asarray(affine, np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(a[:, :2]))))
    if scale >= MIN_WARP_SCALE:
        return cv2.warpAffine(image, a, size, flags=cv2.INTER_LINEAR)
    h, w = image.shape[:2]
    m = np.vstack([a, [0.0, 0.0, 1.0]])
    corners = apply_affine(np.array([[0, 0], [size[0], 0], [0, size[1]], [size[0], size[1]]], float),
                           np.linalg.inv(m)[:2])  # fmt: skip
    x0, y0 = np.clip(np.floor(corners.min(0)).astype(int) - 2, 0, [w, h])
    x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int) + 2, 0, [w, h])
    if x1 - x0 < 2 or y1 - y0 < 2:  # the output sees (almost) nothing of the image
        return cv2.warpAffine(image, a, size, flags=cv2.INTER_LINEAR)
    f = scale / MIN_WARP_SCALE
    nw, nh = max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f))
    small = cv2.resize(image[y0:y1, x0:x1], (nw, nh), interpolation=cv2.INTER_AREA)
    qx, qy = nw / (x1 - x0), nh / (y1 - y0)
    # A pixel (u, v) of the small copy has its centre at image ((u + 0.5) / qx - 0.5 + x0, ...).
    to_image = np.array([[1 / qx, 0.0, 0.5 / qx - 0.5 + x0], [0.0, 1 / qy, 0.5 / qy - 0.5 + y0], [0, 0, 1]])
    return cv2.warpAffine(small, (m @ to_image)[:2], size, flags=cv2.INTER_LINEAR)
