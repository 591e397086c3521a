"""Gaussian heatmap targets and heatmap decoding to sub-pixel coordinates.

Shapes: N batch, J joints, H x W heatmap. Coordinates are (x, y) in heatmap
pixels (pixel centres at integer positions); map them to image pixels with
:func:`heatmaps_to_image`, which inverts the same crop affine that made the
crop (geometry.crop_affine with the heatmap size).
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from infantpose.geometry import apply_affine, crop_affine

Decoder = Literal["argmax", "quarter", "dark"]
DECODERS: tuple[str, ...] = ("argmax", "quarter", "dark")


def gaussian_heatmaps(joints: np.ndarray, visible: np.ndarray, size: tuple[int, int], sigma: float = 2.0) -> np.ndarray:
    """Unnormalised Gaussian targets (J, H, W) float32, peak 1 at each joint.

    Args:
        joints: (J, 2) joint positions in heatmap px.
        visible: (J,) bool; invisible joints get an all-zero map.
        size: (W, H) heatmap size.
        sigma: Gaussian standard deviation in heatmap px.
    """
    w, h = size
    xs = np.arange(w, dtype=np.float32)[None, None, :]
    ys = np.arange(h, dtype=np.float32)[None, :, None]
    j = np.asarray(joints, dtype=np.float32)
    gx = np.exp(-((xs - j[:, 0, None, None]) ** 2) / (2 * sigma**2))
    gy = np.exp(-((ys - j[:, 1, None, None]) ** 2) / (2 * sigma**2))
    maps = gx * gy
    keep = np.asarray(visible, dtype=bool)
    # A joint far outside the map would give a useless near-zero target.
    inside = (j[:, 0] >= -3 * sigma) & (j[:, 0] < w + 3 * sigma)
    inside &= (j[:, 1] >= -3 * sigma) & (j[:, 1] < h + 3 * sigma)
    maps[~(keep & inside)] = 0.0
    return maps.astype(np.float32)


# Peaks within this fraction of a heatmap's maximum count as tied (the first in raster order
# wins), so that a flat or two-topped peak decodes to the same pixel on every backend: PyTorch,
# onnxruntime and TensorRT differ by ~1e-6, which must not move a joint by a heatmap pixel.
PEAK_TIE = 1e-3


def _argmax(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, j, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, j, h * w)
    top = np.abs(flat).max(axis=2, keepdims=True)
    idx = np.round(flat / np.maximum(top * PEAK_TIE, 1e-12)).argmax(axis=2)
    conf = np.take_along_axis(flat, idx[..., None], axis=2)[..., 0]
    coords = np.stack([idx % w, idx // w], axis=-1).astype(np.float64)
    return coords, conf.astype(np.float32)


def _quarter_offset(heatmaps: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Shift each peak a quarter pixel towards its higher neighbour."""
    n, j, h, w = heatmaps.shape
    out = coords.copy()
    x = coords[..., 0].astype(int)
    y = coords[..., 1].astype(int)
    ni, ji = np.meshgrid(np.arange(n), np.arange(j), indexing="ij")
    xm, xp = np.clip(x - 1, 0, w - 1), np.clip(x + 1, 0, w - 1)
    ym, yp = np.clip(y - 1, 0, h - 1), np.clip(y + 1, 0, h - 1)
    dx = heatmaps[ni, ji, y, xp] - heatmaps[ni, ji, y, xm]
    dy = heatmaps[ni, ji, yp, x] - heatmaps[ni, ji, ym, x]
    out[..., 0] += 0.25 * np.sign(dx) * ((x > 0) & (x < w - 1))
    out[..., 1] += 0.25 * np.sign(dy) * ((y > 0) & (y < h - 1))
    return out


def _blur_stack(maps: np.ndarray, k: int, sigma: float) -> np.ndarray:
    """Gaussian blur of each (H, W) map of an (M, H, W) float32 stack, as one multi-channel call per 128 maps."""
    out = np.empty_like(maps)
    for i in range(0, len(maps), 128):  # OpenCV 5 takes at most 128 channels
        chunk = np.ascontiguousarray(maps[i : i + 128].transpose(1, 2, 0))
        blurred = cv2.GaussianBlur(chunk, (k, k), sigma)
        out[i : i + 128] = (blurred if blurred.ndim == 3 else blurred[..., None]).transpose(2, 0, 1)
    return out


def _dark(heatmaps: np.ndarray, coords: np.ndarray, sigma: float) -> np.ndarray:
    """DARK refinement: one Newton step on the log of the smoothed heatmap."""
    n, j, h, w = heatmaps.shape
    k = int(2 * round(3 * sigma) + 1)
    smooth = _blur_stack(heatmaps.reshape(n * j, h, w), k, sigma).reshape(n, j, h, w)
    # Blurring lowers the peak; rescale so the log keeps its curvature.
    peak = heatmaps.max(axis=(2, 3)).astype(np.float64)
    smax = smooth.max(axis=(2, 3))
    gain = np.where(smax > 0, peak / np.where(smax > 0, smax, 1.0), 1.0)
    out = coords.copy()
    x = coords[..., 0].astype(int)
    y = coords[..., 1].astype(int)
    ok = (x >= 2) & (x < w - 2) & (y >= 2) & (y < h - 2)
    xc, yc = np.clip(x, 2, w - 3), np.clip(y, 2, h - 3)
    # The 5x5 patch around each peak is all the Newton step reads: take the log there only.
    d = np.arange(-2, 3)
    rows = (yc[..., None] + d)[..., :, None]
    cols = (xc[..., None] + d)[..., None, :]
    flat = smooth.reshape(n * j, h * w)[np.arange(n * j).reshape(n, j, 1, 1), rows * w + cols]
    lg = np.log(np.maximum(flat.astype(np.float64) * gain[..., None, None], 1e-10))  # (N, J, 5, 5) [dy, dx]

    def at(dx: int, dy: int) -> np.ndarray:
        return lg[..., 2 + dy, 2 + dx]

    c = at(0, 0)
    gx = 0.5 * (at(1, 0) - at(-1, 0))
    gy = 0.5 * (at(0, 1) - at(0, -1))
    hxx = 0.25 * (at(2, 0) - 2 * c + at(-2, 0))
    hyy = 0.25 * (at(0, 2) - 2 * c + at(0, -2))
    hxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
    det = hxx * hyy - hxy**2
    ok &= (np.abs(det) > 1e-12) & (hxx < 0) & (hyy < 0)
    safe = np.where(ok, det, 1.0)
    ox = -(hyy * gx - hxy * gy) / safe
    oy = -(-hxy * gx + hxx * gy) / safe
    # A step beyond one pixel means the Taylor model is not valid there.
    ok &= (np.abs(ox) <= 1.0) & (np.abs(oy) <= 1.0)
    out[..., 0] = np.where(ok, coords[..., 0] + ox, coords[..., 0])
    out[..., 1] = np.where(ok, coords[..., 1] + oy, coords[..., 1])
    return out


def decode_heatmaps(
    heatmaps: np.ndarray, method: Decoder = "dark", sigma: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Peak location and confidence of each heatmap.

    Args:
        heatmaps: (N, J, H, W) or (J, H, W) float array.
        method: "argmax" (integer peak, as the original), "quarter"
            (quarter-pixel shift towards the higher neighbour) or "dark"
            (Taylor refinement of the log-heatmap, Zhang et al. 2020).
        sigma: the Gaussian sigma the network was trained with (heatmap px).

    Returns:
        coords (N, J, 2) float64 heatmap px and confidences (N, J) float32,
        the heatmap maximum (without a leading N if none was given).
    """
    hm = np.asarray(heatmaps, dtype=np.float32)
    single = hm.ndim == 3
    if single:
        hm = hm[None]
    if hm.ndim != 4:
        raise ValueError(f"heatmaps must be (N, J, H, W) or (J, H, W), got shape {hm.shape}")
    coords, conf = _argmax(hm)
    if method == "quarter":
        coords = _quarter_offset(hm, coords)
    elif method == "dark":
        coords = _dark(hm, coords, sigma)
    elif method != "argmax":
        raise ValueError(f"unknown heatmap decoder {method!r}; choose from {', '.join(DECODERS)}")
    if single:
        return coords[0], conf[0]
    return coords, conf


def heatmaps_to_image(
    coords: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    heatmap_size: tuple[int, int],
    rotation: float = 0.0,
) -> np.ndarray:
    """Heatmap px (J, 2) back to image px (J, 2) for a crop of (center, scale, rotation)."""
    inv = crop_affine(center, scale, rotation, heatmap_size, inverse=True)
    return apply_affine(coords, inv)


def image_to_heatmaps(
    points: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    heatmap_size: tuple[int, int],
    rotation: float = 0.0,
) -> np.ndarray:
    """Image px (J, 2) to heatmap px (J, 2) for a crop of (center, scale, rotation)."""
    return apply_affine(points, crop_affine(center, scale, rotation, heatmap_size))


def apply_joint_regressor(
    coords: np.ndarray, conf: np.ndarray, regressor: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Heatmap joints -> output joints by a linear regressor whose rows sum to 1.

    Args:
        coords: (N, C, 2) px of the C heatmap joints.
        conf: (N, C) their confidences.
        regressor: (J, C) weights (each row sums to 1, so the map commutes with
            translation and scaling of the image), or None for the identity.

    Returns:
        (N, J, 2) px and (N, J) confidences (the |weight|-weighted mean of the sources).
    """
    if regressor is None:
        return coords, conf
    r = np.asarray(regressor, np.float64)
    if r.ndim != 2 or r.shape[1] != coords.shape[-2]:
        raise ValueError(f"joint regressor of shape {r.shape} does not take {coords.shape[-2]} heatmap joints")
    kp = np.einsum("jc,ncd->njd", r, coords)
    a = np.abs(r)
    c = np.einsum("jc,nc->nj", a / a.sum(1, keepdims=True), conf.astype(np.float64)).astype(np.float32)
    return kp, c


# Soft peak selection of decode_centernet: cells whose score is within a few times this fraction of
# the map's best share the vote (weight exp((s - best) / (SOFT_PEAK * best))), so the location is a
# continuous function of the network's outputs: a near tie between two cells that FP16 or INT8
# rounding could flip moves the joint a little, never by the distance between the two.
SOFT_PEAK = 0.05
CENTRE_PULL = 1.0  # MoveNet's centre prior: the score over (distance to the crop centre + this), heatmap px
KEYPOINT_PULL = 1.8  # and each keypoint's: its score over (distance to the regressed point + this)


def _soft_peak(score: np.ndarray) -> np.ndarray:
    """(M, H*W) scores -> (M, H*W) weights summing to 1, concentrated on the near-best cells."""
    best = score.max(axis=1, keepdims=True)
    w = np.exp((score - best) / np.maximum(SOFT_PEAK * best, 1e-12))
    return w / w.sum(axis=1, keepdims=True)


def _sample(maps: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples (N, C) of (N, C, H, W) maps at (N,) heatmap px x, y (clamped to the map)."""
    n, _, h, w = maps.shape
    x, y = np.clip(x, 0, w - 1), np.clip(y, 0, h - 1)
    x0, y0 = np.minimum(np.floor(x).astype(int), w - 2), np.minimum(np.floor(y).astype(int), h - 2)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    i = np.arange(n)
    top = maps[i, :, y0, x0] * (1 - fx) + maps[i, :, y0, x0 + 1] * fx
    bottom = maps[i, :, y0 + 1, x0] * (1 - fx) + maps[i, :, y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def decode_centernet(
    heatmaps: np.ndarray, offsets: np.ndarray, centre: np.ndarray, regress: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints of the one person of a crop from CenterNet-style heads (MoveNet SinglePose's decoding,
    with soft peaks instead of argmax: see :data:`SOFT_PEAK`).

    Args:
        heatmaps: (N, K, H, W) keypoint scores in [0, 1].
        offsets: (N, 2K, H, W) heatmap px (y, x per keypoint) from a cell to its keypoint.
        centre: (N, 1, H, W) person-centre scores in [0, 1].
        regress: (N, 2K, H, W) heatmap px (y, x per keypoint) from the centre to each keypoint.

    Returns:
        coords (N, K, 2) float64 heatmap px (x, y) and confidences (N, K) float32 (the keypoint
        score at the decoded cells).
    """
    hm = np.asarray(heatmaps, np.float64)
    n, k, h, w = hm.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    # The person nearest the crop's centre: the centre score over the distance to the middle of the map.
    pull = np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2) + CENTRE_PULL
    wc = _soft_peak((np.asarray(centre, np.float64)[:, 0] / pull).reshape(n, h * w))
    cy, cx = wc @ yy.ravel(), wc @ xx.ravel()
    reg = _sample(np.asarray(regress, np.float64), cx, cy).reshape(n, k, 2)
    ry, rx = cy[:, None] + reg[..., 0], cx[:, None] + reg[..., 1]  # (N, K) regressed keypoints
    dist = np.hypot(yy[None, None] - ry[..., None, None], xx[None, None] - rx[..., None, None])
    wk = _soft_peak((hm / (dist + KEYPOINT_PULL)).reshape(n * k, h * w)).reshape(n, k, h * w)
    off = np.asarray(offsets, np.float64).reshape(n, k, 2, h * w)
    y = np.einsum("nkc,nkc->nk", wk, yy.ravel()[None, None] + off[:, :, 0])
    x = np.einsum("nkc,nkc->nk", wk, xx.ravel()[None, None] + off[:, :, 1])
    conf = np.einsum("nkc,nkc->nk", wk, hm.reshape(n, k, h * w))
    return np.stack([x, y], axis=-1), conf.astype(np.float32)
