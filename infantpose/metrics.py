"""Accuracy metrics: AJPE/MPJPE, PA-MPJPE, PCKh@k, 2D pixel error, box IoU, jitter.

Two evaluation protocols are offered, and every printed number names one:

* ``standard``: 3D MPJPE over the non-root joints after root alignment (the
  root's error is 0 by construction and is left out); PCKh counts an error
  ``e <= k * threshold`` as correct; invisible 2D joints are left out.
* ``original``: the published chain's report code, quirks included: AJPE averages all
  joints *including* the root (always 0), PCKh counts an error of exactly 0
  as a miss (so the root never counts and 3D PCKh is capped at (J-1)/J), and
  invisible 2D joints are zeroed in prediction and ground truth (error 0: it
  lowers the mean and counts as a PCKh miss).

Shapes: N samples, J joints, T frames. 3D in millimetres, 2D in pixels.
"""

from __future__ import annotations

import warnings
from enum import Enum

import numpy as np


class Protocol(str, Enum):
    """Evaluation protocol (see the module docstring)."""

    STANDARD = "standard"
    ORIGINAL = "original"


def _protocol(p: Protocol | str) -> Protocol:
    try:
        return Protocol(p)
    except ValueError:
        raise ValueError(f"unknown protocol {p!r}; choose 'standard' or 'original'") from None


def _nanmean(x: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """nanmean that returns NaN for all-NaN slices without a RuntimeWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return np.nanmean(x, axis=axis)


def root_relative(joints: np.ndarray, root: int) -> np.ndarray:
    """Subtract the root joint: (..., J, D) -> (..., J, D)."""
    j = np.asarray(joints, dtype=np.float64)
    return j - j[..., root : root + 1, :]


def errors_3d(pred: np.ndarray, gt: np.ndarray, root: int) -> np.ndarray:
    """(N, J) Euclidean errors after aligning both (N, J, 3) poses at the root."""
    return np.linalg.norm(root_relative(pred, root) - root_relative(gt, root), axis=-1)


def errors_2d(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray | None, protocol: Protocol | str) -> np.ndarray:
    """(N, J) pixel errors of (N, J, 2) predictions.

    Invisible joints (``visible`` False) are NaN under the standard protocol
    and 0 under the seed protocol (both sides zeroed, as the original did).
    """
    err = np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(gt, np.float64), axis=-1)
    if visible is None:
        return err
    vis = np.asarray(visible, dtype=bool)
    fill = 0.0 if _protocol(protocol) is Protocol.ORIGINAL else np.nan
    return np.where(vis, err, fill)


def _columns(errors: np.ndarray, exclude: tuple[int, ...]) -> np.ndarray:
    keep = [j for j in range(errors.shape[1]) if j not in set(exclude)]
    return errors[:, keep]


def mean_error(errors: np.ndarray, protocol: Protocol | str, root: int | None = None) -> float:
    """Mean joint error (AJPE / MPJPE) of (N, J) errors, NaNs ignored.

    Under the standard protocol the ``root`` column (if given) is left out.
    """
    e = np.asarray(errors, dtype=np.float64)
    if _protocol(protocol) is Protocol.STANDARD and root is not None:
        e = _columns(e, (root,))
    return float(_nanmean(e))


def per_joint_error(errors: np.ndarray) -> np.ndarray:
    """(J,) mean error per joint, NaNs ignored."""
    return np.asarray(_nanmean(np.asarray(errors, dtype=np.float64), axis=0))


def pckh_correct(errors: np.ndarray, thresholds: np.ndarray | float, k: float, protocol: Protocol | str) -> np.ndarray:
    """(N, J) float: 1 correct, 0 miss, NaN not counted.

    ``thresholds`` is the head-segment length per sample (N,) or one scalar, in
    the errors' unit.
    """
    e = np.asarray(errors, dtype=np.float64)
    t = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (e.shape[0],))[:, None]
    hit = e <= k * t
    if _protocol(protocol) is Protocol.ORIGINAL:
        hit &= e > 0
    out = hit.astype(np.float64)
    out[np.isnan(e)] = np.nan
    return out


def pckh(
    errors: np.ndarray,
    thresholds: np.ndarray | float,
    k: float,
    protocol: Protocol | str,
    root: int | None = None,
) -> float:
    """PCKh@k in percent over (N, J) errors.

    Under the standard protocol the ``root`` column (if given, for root-aligned
    3D) is left out; under the seed protocol it stays in and always misses.
    """
    c = pckh_correct(errors, thresholds, k, protocol)
    if _protocol(protocol) is Protocol.STANDARD and root is not None:
        c = _columns(c, (root,))
    return float(100.0 * _nanmean(c))


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Align each (N, J, 3) prediction to ground truth by similarity transform.

    Rotation, uniform scale and translation minimising squared error
    (Umeyama); returns the aligned predictions (N, J, 3).
    """
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    mp, mg = p.mean(axis=1, keepdims=True), g.mean(axis=1, keepdims=True)
    p0, g0 = p - mp, g - mg
    cov = np.einsum("nji,njk->nik", p0, g0)
    u, s, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", u, vt)))
    fix = np.ones_like(s)
    fix[:, -1] = d
    r = np.einsum("nij,nj,njk->nik", u, fix, vt)  # maps p0 rows to g0 rows: p0 @ r
    var = (p0**2).sum(axis=(1, 2))
    scale = (s * fix).sum(axis=1) / np.maximum(var, 1e-12)
    return scale[:, None, None] * np.einsum("nji,nik->njk", p0, r) + mg


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean error over all joints after Procrustes alignment (N, J, 3) -> float."""
    aligned = procrustes_align(pred, gt)
    return float(np.linalg.norm(aligned - np.asarray(gt, np.float64), axis=-1).mean())


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of paired boxes (N, 4) x1 y1 x2 y2 -> (N,)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def mean_acceleration(sequence: np.ndarray) -> float:
    """Jitter of a (T, J, D) sequence: mean |x[t+1] - 2 x[t] + x[t-1]| per joint and frame.

    In the sequence's unit per frame squared; NaN when T < 3.
    """
    x = np.asarray(sequence, dtype=np.float64)
    if x.shape[0] < 3:
        return float("nan")
    acc = x[2:] - 2 * x[1:-1] + x[:-2]
    return float(np.linalg.norm(acc, axis=-1).mean())


def acceleration_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean |acc(pred) - acc(gt)| of (T, J, D) sequences (unit per frame squared)."""
    p, g = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if p.shape[0] < 3:
        return float("nan")
    ap = p[2:] - 2 * p[1:-1] + p[:-2]
    ag = g[2:] - 2 * g[1:-1] + g[:-2]
    return float(np.linalg.norm(ap - ag, axis=-1).mean())


def evaluate_3d(
    pred: np.ndarray,
    gt: np.ndarray,
    thresholds: np.ndarray | float,
    root: int,
    protocol: Protocol | str = Protocol.STANDARD,
    ks: tuple[float, ...] = (1.0, 2.0),
) -> dict[str, float | list[float] | str]:
    """3D summary of (N, J, 3) mm poses: AJPE/MPJPE, PA-MPJPE, PCKh@k, per joint.

    ``thresholds`` are 3D head-segment lengths in mm, (N,) or scalar.
    """
    err = errors_3d(pred, gt, root)
    out: dict[str, float | list[float] | str] = {
        "protocol": _protocol(protocol).value,
        "mpjpe_mm": mean_error(err, protocol, root),
        "pa_mpjpe_mm": pa_mpjpe(pred, gt),
        "per_joint_mm": per_joint_error(err).tolist(),
    }
    for k in ks:
        out[f"pckh@{k:g}"] = pckh(err, thresholds, k, protocol, root)
    return out


def evaluate_2d(
    pred: np.ndarray,
    gt: np.ndarray,
    visible: np.ndarray | None,
    thresholds: np.ndarray | float,
    protocol: Protocol | str = Protocol.STANDARD,
    ks: tuple[float, ...] = (1.0, 2.0),
) -> dict[str, float | list[float] | str]:
    """2D summary of (N, J, 2) px keypoints: mean px error, PCKh@k, per joint.

    ``thresholds`` are 2D head-segment lengths in px, (N,) or scalar.
    """
    err = errors_2d(pred, gt, visible, protocol)
    out: dict[str, float | list[float] | str] = {
        "protocol": _protocol(protocol).value,
        "error_px": mean_error(err, protocol),
        "per_joint_px": per_joint_error(err).tolist(),
    }
    for k in ks:
        out[f"pckh@{k:g}"] = pckh(err, thresholds, k, protocol)
    return out
