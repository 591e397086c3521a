"""Model input preparation shared by training, evaluation and the runtime (numpy + OpenCV).

Images come in as BGR uint8 (OpenCV); network inputs are float32 (N, 3, H, W)
in the colour order and normalisation the stage's parameters name.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from infantpose.geometry import box_to_center_scale, crop_affine, warp_image
from infantpose.posture import upright_angle
from infantpose.skeleton import MPII, JointSet

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # RGB, 0-1
IMAGENET_STD = (0.229, 0.224, 0.225)
PRETRAINED_MEAN = (0.5, 0.5, 0.5)  # RGB 0-1: inputs in [-1, 1], as EfficientNet-Lite's ImageNet weights expect
PRETRAINED_STD = (0.5, 0.5, 0.5)


@functools.lru_cache(maxsize=16)
def _normalise_lut(mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """(3, 256) float32: channel c's normalised value of each byte, with the same float32 ops as the formula."""
    v = np.arange(256, dtype=np.float32)[None, :] * np.float32(1.0 / 255.0)
    return (v - np.asarray(mean, np.float32)[:, None]) / np.asarray(std, np.float32)[:, None]


def normalize_image(
    image_bgr: np.ndarray,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    colour: str = "RGB",
) -> np.ndarray:
    """(H, W, 3) BGR uint8 -> (3, H, W) float32, scaled to 0-1, minus mean, over std.

    ``mean`` and ``std`` are given in the ``colour`` order ("RGB" or "BGR").
    """
    img = np.asarray(image_bgr)
    if img.dtype != np.uint8:  # the lookup table only covers bytes
        x = (img[..., ::-1] if colour == "RGB" else img).astype(np.float32) * (1.0 / 255.0)
        x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1))
    # A per-channel table lookup straight into planar layout: 10x faster than float
    # arithmetic on the interleaved image, and bit-identical to it.
    lut = _normalise_lut(tuple(float(m) for m in mean), tuple(float(s) for s in std))
    out = np.empty((3, *img.shape[:2]), np.float32)
    for c in range(3):
        np.take(lut[c], img[:, :, 2 - c if colour == "RGB" else c], out=out[c])
    return out


def letterbox_affine(frame_size: tuple[int, int], input_size: tuple[int, int]) -> np.ndarray:
    """(2, 3) affine fitting a whole (W, H) frame into (w, h), aspect kept, centred."""
    fw, fh = frame_size
    iw, ih = input_size
    s = min(iw / fw, ih / fh)
    return np.array([[s, 0.0, (iw - s * fw) / 2.0], [0.0, s, (ih - s * fh) / 2.0]])


def invert_affine(affine: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine."""
    m = np.vstack([affine, [0.0, 0.0, 1.0]])
    return np.linalg.inv(m)[:2]


def detector_input(
    frame_bgr: np.ndarray,
    input_size: tuple[int, int],
    mean: Sequence[float],
    std: Sequence[float],
    colour: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Letterboxed, normalised detector input (3, h, w) and the frame->input affine (2, 3)."""
    h, w = frame_bgr.shape[:2]
    a = letterbox_affine((w, h), input_size)
    resized = warp_image(frame_bgr, a, input_size)
    return normalize_image(resized, mean, std, colour), a


def pose_input(
    frame_bgr: np.ndarray,
    box: np.ndarray,
    input_size: tuple[int, int],
    padding: float,
    mean: Sequence[float],
    std: Sequence[float],
    colour: str,
    rotation: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pose-network input (3, h, w) cropped around ``box`` (x1 y1 x2 y2 px), with its centre and scale."""
    center, scale = box_to_center_scale(box, input_size[0] / input_size[1], padding)
    m = crop_affine(center, scale, rotation, input_size)
    crop = warp_image(frame_bgr, m, input_size)
    return normalize_image(crop, mean, std, colour), center, scale


# How 2D keypoints are made into lifter input before the z-score:
#   "pixels"       raw frame pixels (Martinez et al.; depends on resolution and framing),
#   "root_scale"   each frame centred on the root joint and divided by the joints' RMS distance
#                  from it: the same pose gives the same input at any resolution, crop or padding;
#   "root_upright" root_scale, then turned about the root so that the newest frame's
#                  hips-to-shoulders axis points up, and the lifter's 3D turned back about the
#                  camera axis: the same pose gives the same input at any roll of the camera too.
#                  Exact: turning the image about the principal point is a roll of the camera
#                  (the 3D turns about the optical axis), and after the root is subtracted a turn
#                  about the principal point is a turn about the root.
LIFTER_INPUT_NORMS = ("pixels", "root_scale", "root_upright")


def root_rms(kp2d: np.ndarray, root: int) -> np.ndarray:
    """(..., J, 2) px -> (..., 1, 1) px: the pose's size, its joints' RMS distance from the root joint
    (at least 1e-6), what "root_scale" divides by."""
    k = np.asarray(kp2d, dtype=np.float64)
    centred = k - k[..., root : root + 1, :]
    return np.maximum(np.sqrt(np.mean(np.sum(centred**2, axis=-1), axis=-1))[..., None, None], 1e-6)


def root_scale_2d(kp2d: np.ndarray, root: int) -> np.ndarray:
    """(..., J, 2) px -> (..., J, 2) unitless: minus the root joint, over the RMS joint distance from it."""
    k = np.asarray(kp2d, dtype=np.float64)
    return (k - k[..., root : root + 1, :]) / root_rms(k, root)


def turn_about_camera_axis(points: np.ndarray, radians: np.ndarray | float) -> np.ndarray:
    """(..., J, D) points (D = 2: image x, y; 3: camera x, y, z, z unchanged) turned by (...,) radians,
    clockwise on screen (x right, y down), the way the lifter's "root_upright" input and output turn."""
    p = np.array(points, dtype=np.float64, copy=True)
    a = np.asarray(radians, dtype=np.float64)[..., None]
    c, s = np.cos(a), np.sin(a)
    x, y = p[..., 0].copy(), p[..., 1]
    p[..., 0] = c * x - s * y
    p[..., 1] = s * x + c * y
    return p


def upright_turn(kp2d: np.ndarray, joints: JointSet = MPII) -> np.ndarray:
    """(..., J, 2) px -> (...,) radians that turn each pose's hips-to-shoulders axis to point up
    (:func:`turn_about_camera_axis`): posture.upright_angle in this module's sign and unit."""
    return -np.radians(upright_angle(kp2d, joints))


def lifter_turn(kp2d: np.ndarray, norm: str, temporal: bool, joints: JointSet = MPII) -> np.ndarray | None:
    """The turn (radians) "root_upright" gives a lifter input, None for other norms: (N,) for (N, J, 2)
    single frames; for (..., T, J, 2) windows (``temporal``) one per window, its newest frame's."""
    if norm != "root_upright":
        return None
    k = np.asarray(kp2d)
    return upright_turn(k[..., -1, :, :] if temporal else k, joints)


def lifter_norm_2d(
    kp2d: np.ndarray, norm: str = "pixels", root: int | None = None, turn: np.ndarray | float | None = None
) -> np.ndarray:
    """(..., J, 2) px -> (..., J, 2) float64 after the ``norm`` step of LIFTER_INPUT_NORMS (before the
    z-score). "root_scale" and "root_upright" need the ``root`` joint index, "root_upright" the turn
    of :func:`lifter_turn` (radians, broadcast over the leading axes)."""
    if norm == "pixels":
        return np.asarray(kp2d, dtype=np.float64)
    if norm not in LIFTER_INPUT_NORMS:
        raise ValueError(f"unknown lifter input normalisation {norm!r} (known: {', '.join(LIFTER_INPUT_NORMS)})")
    if root is None:
        raise ValueError(f"{norm} normalisation needs the root joint index")
    k = root_scale_2d(kp2d, root)
    if norm == "root_upright":
        if turn is None:
            raise ValueError("root_upright normalisation needs the turn (preprocess.lifter_turn)")
        t = np.asarray(turn, dtype=np.float64)
        k = turn_about_camera_axis(k, t.reshape(t.shape + (1,) * (k.ndim - 2 - t.ndim)))
    return k


def normalize_2d(
    kp2d: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    norm: str = "pixels",
    root: int | None = None,
    turn: np.ndarray | None = None,
) -> np.ndarray:
    """Lifter input: (..., J, 2) pixels -> (..., 2J) float32 z-scores after the ``norm`` step
    (:func:`lifter_norm_2d`)."""
    k = lifter_norm_2d(kp2d, norm, root, turn)
    flat = k.reshape(*k.shape[:-2], -1)
    return ((flat - mean) / std).astype(np.float32)


def denormalize_3d(out: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Lifter output: (..., 3J) z-scores -> (..., J, 3) millimetres, root-relative."""
    x = np.asarray(out, dtype=np.float64) * std + mean
    return x.reshape(*x.shape[:-1], -1, 3)
