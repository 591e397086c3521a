"""Single-infant centre-heatmap detector: box targets and decoding (shared by training and runtime).

The network sees the whole frame letterboxed to its input size and predicts,
at stride ``stride``: a centre heatmap (1 channel, logits), the box size in
input pixels (2 channels, log of w and h) and the sub-cell centre offset
(2 channels, in cells). Exactly one infant is assumed, so decoding is the
heatmap's maximum: no NMS, no custom operators.
"""

from __future__ import annotations

import numpy as np

from infantpose.geometry import apply_affine
from infantpose.heatmaps import gaussian_heatmaps


def encode_box(
    box_input: np.ndarray, output_size: tuple[int, int], stride: int, sigma: float = 1.5
) -> dict[str, np.ndarray]:
    """Training targets for one box (x1 y1 x2 y2, input px).

    Returns ``centre`` (1, H, W) Gaussian, ``size`` (2,) log(w, h) input px,
    ``offset`` (2,) in cells, and ``cell`` (2,) int x, y of the centre cell.
    """
    x1, y1, x2, y2 = (float(v) for v in box_input)
    c = np.array([(x1 + x2) / 2, (y1 + y2) / 2]) / stride
    w_out, h_out = output_size
    cell = np.clip(np.floor(c), 0, [w_out - 1, h_out - 1]).astype(np.int64)
    heat = gaussian_heatmaps(cell[None].astype(np.float64), np.array([True]), output_size, sigma)
    size = np.log(np.maximum([x2 - x1, y2 - y1], 1.0))
    return {
        "centre": heat,
        "size": size.astype(np.float32),
        "offset": (c - cell).astype(np.float32),
        "cell": cell,
    }


def decode_boxes(
    centre: np.ndarray, size: np.ndarray, offset: np.ndarray, stride: int
) -> tuple[np.ndarray, np.ndarray]:
    """Best box per image in input px.

    Args:
        centre: (N, 1, H, W) logits; size: (N, 2, H, W) log w, h; offset: (N, 2, H, W) cells.
    Returns:
        boxes (N, 4) x1 y1 x2 y2 input px and scores (N,) in 0-1 (sigmoid of the peak).
    """
    n, _, _, w = centre.shape
    flat = centre.reshape(n, -1)
    idx = flat.argmax(axis=1)
    ys, xs = idx // w, idx % w
    ar = np.arange(n)
    off = offset[ar, :, ys, xs]
    wh = np.exp(np.clip(size[ar, :, ys, xs], -10, 10))
    cx = (xs + off[:, 0]) * stride
    cy = (ys + off[:, 1]) * stride
    boxes = np.stack([cx - wh[:, 0] / 2, cy - wh[:, 1] / 2, cx + wh[:, 0] / 2, cy + wh[:, 1] / 2], axis=1)
    scores = 1.0 / (1.0 + np.exp(-flat[ar, idx]))
    return boxes.astype(np.float64), scores.astype(np.float32)


def boxes_to_frame(boxes: np.ndarray, input_to_frame: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """Map (N, 4) input-px boxes through an input->frame affine (scale + shift) and clip to (W, H)."""
    pts = apply_affine(boxes.reshape(-1, 2, 2), input_to_frame).reshape(-1, 4)
    w, h = frame_size
    return np.clip(pts, 0, [w - 1, h - 1, w - 1, h - 1])
