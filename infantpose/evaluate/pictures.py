"""``infantpose eval --pictures DIR``: the published work's evaluation figure, per chosen frame.

Four panels side by side: the input with the ground-truth 2D, the input with the predicted 2D,
the ground-truth 3D and the predicted 3D (root-relative, seen as the camera sees it, at one fixed
scale for both, :func:`infantpose.runtime.overlay.view_3d`). Drawn with OpenCV; PNG files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from infantpose.datasets.common import spread_indices
from infantpose.draw import draw_skeleton
from infantpose.fileio import read_image
from infantpose.runtime.overlay import view_3d
from infantpose.skeleton import MPII

PANEL = 260  # px: height of every panel


def _label(img: np.ndarray, text: str) -> np.ndarray:
    cv2.rectangle(img, (0, 0), (img.shape[1], 20), (0, 0, 0), -1)
    cv2.putText(img, text, (6, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def _image_panel(image: np.ndarray, kp2d: np.ndarray, title: str) -> np.ndarray:
    img = image.copy()
    draw_skeleton(img, kp2d, MPII, thickness=2)
    scale = PANEL / img.shape[0]
    return _label(cv2.resize(img, (round(img.shape[1] * scale), PANEL)), title)


def figure(image: np.ndarray, gt2d: np.ndarray, pred2d: np.ndarray, gt3d: np.ndarray, pred3d: np.ndarray) -> np.ndarray:
    """(H, W, 3) BGR figure for one frame: (J, 2) px and (J, 3) mm in, root-relative 3D drawn."""
    root = MPII.root
    panels = [
        _image_panel(image, gt2d, "input + ground-truth 2D"),
        _image_panel(image, pred2d, "input + predicted 2D"),
        _label(view_3d(gt3d - gt3d[root], MPII.name, size=PANEL, title="", extent_mm=400.0), "ground-truth 3D"),
        _label(view_3d(pred3d - pred3d[root], MPII.name, size=PANEL, title="", extent_mm=400.0), "predicted 3D"),
    ]
    return np.hstack(panels)


def write_pictures(
    split: Any, pred2d: np.ndarray, pred3d: np.ndarray, out: Path, count: int = 6, deidentify: str = "off"
) -> list[Path]:
    """``count`` evenly spaced frames of the split as figures ``out/NNNN_<sequence>.png``; ``deidentify``
    ("blur", "mosaic"): the face, located from the ground-truth 2D, covered first."""
    from infantpose.deidentify import FaceMasker

    masker = FaceMasker(deidentify) if deidentify != "off" else None
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i in spread_indices(len(split.images), count):
        image = read_image(split.images[i])
        if masker is not None:
            masker.reset()
            image = masker(image, split.kp2d[i])
        fig = figure(image, split.kp2d[i], pred2d[i], split.kp3d[i], pred3d[i])
        path = out / f"{i:04d}_{split.seq[i]}.png"
        if not cv2.imwrite(str(path), fig):
            from infantpose.errors import InfantposeError

            raise InfantposeError(f"{path}: cannot write")
        written.append(path)
    return written
