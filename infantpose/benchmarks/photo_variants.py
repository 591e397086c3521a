"""PCK of a bundle on labelled real photos under the changes real photos show (torch-free).

A handful of labelled photos says little about photos taken another way. This runs the
chain (detector on each image, no tracking, as ``infantpose eval --coco``) on every photo
as it is and changed: turned by quarter turns and by 30 / -45 degrees, shrunk into a larger
scene, greyscale (night-vision cameras), JPEG quality 25, darker, brighter and half the
resolution. Predictions are mapped back to the original photo and scored with PCK@0.2 torso
against its labels. Shrinking pastes the photo, border and all, into a plain grey frame.

    python -m infantpose.benchmarks.photo_variants --coco ann.json --images DIR [--bundle B] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from infantpose.evaluate.coco import evaluate_coco, predict_still, read_coco
from infantpose.fileio import read_image
from infantpose.runtime.pipeline import Pipeline

# A change: BGR image -> (changed image, map from changed-image px (J, 2) back to original px).
Change = Callable[[np.ndarray], tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]]


def _affine(image: np.ndarray, m: np.ndarray, size: tuple[int, int], border: int) -> tuple[np.ndarray, Any]:
    out = cv2.warpAffine(image, m, size, flags=cv2.INTER_AREA, borderMode=border, borderValue=(128, 128, 128))
    back = cv2.invertAffineTransform(m)
    return out, lambda p: np.asarray(p, np.float64) @ back[:, :2].T + back[:, 2]


def turned(degrees: float) -> Change:
    """The photo turned ``degrees`` counter-clockwise, the canvas grown to hold all of it."""

    def change(image: np.ndarray) -> tuple[np.ndarray, Any]:
        h, w = image.shape[:2]
        m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees, 1.0)
        c, s = abs(m[0, 0]), abs(m[0, 1])
        nw, nh = round(h * s + w * c), round(h * c + w * s)
        m[:, 2] += [(nw - w) / 2, (nh - h) / 2]
        return _affine(image, m, (nw, nh), cv2.BORDER_REPLICATE)

    return change


def shrunk(scale: float) -> Change:
    """The photo at ``scale`` of its size inside a grey frame of the original size x 2."""

    def change(image: np.ndarray) -> tuple[np.ndarray, Any]:
        h, w = image.shape[:2]
        m = np.array([[scale, 0.0, 0.3 * (2 * w - scale * w)], [0.0, scale, 0.4 * (2 * h - scale * h)]])
        return _affine(image, m, (2 * w, 2 * h), cv2.BORDER_CONSTANT)

    return change


def resized(scale: float) -> Change:
    def change(image: np.ndarray) -> tuple[np.ndarray, Any]:
        h, w = image.shape[:2]
        m = np.array([[scale, 0.0, 0.5 * scale - 0.5], [0.0, scale, 0.5 * scale - 0.5]])  # pixel centres kept
        return _affine(image, m, (round(w * scale), round(h * scale)), cv2.BORDER_REPLICATE)

    return change


def _same_geometry(f: Callable[[np.ndarray], np.ndarray]) -> Change:
    return lambda image: (f(image), lambda p: np.asarray(p, np.float64))


def _jpeg(image: np.ndarray, quality: int = 25) -> np.ndarray:
    _, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def _gamma(g: float) -> Callable[[np.ndarray], np.ndarray]:
    lut = np.round(255 * (np.arange(256) / 255.0) ** g).astype(np.uint8)
    return lambda image: lut[image]


VARIANTS: dict[str, Change] = {
    "as_is": _same_geometry(lambda im: im),
    "turn_90": turned(90), "turn_180": turned(180), "turn_270": turned(270),
    "turn_30": turned(30), "turn_-45": turned(-45),
    "shrunk_0.5": shrunk(0.5),
    "greyscale": _same_geometry(lambda im: cv2.cvtColor(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)),
    "jpeg_25": _same_geometry(_jpeg),
    "darker": _same_geometry(_gamma(2.2)), "brighter": _same_geometry(_gamma(0.45)),
    "half_size": resized(0.5),
}  # fmt: skip


def photo_variants(coco: Path, images: Path, bundle: Path | None = None, precision: str = "fp32") -> dict[str, Any]:
    """PCK@0.2 torso (%) per variant and their mean, with the per-image figures."""
    gt = read_coco(coco)
    pipe = Pipeline.from_bundle(bundle, precision)
    out: dict[str, Any] = {"images": len(gt.images), "variants": {}}
    for name, change in VARIANTS.items():
        back: dict[str, Any] = {}

        def read(path: Path, change: Change = change, back: dict = back) -> np.ndarray:
            image, back["map"] = change(read_image(path))
            return image

        def predict(frame: np.ndarray, back: dict = back) -> tuple[np.ndarray, float]:
            kp, score = predict_still(pipe, frame)  # NaN (every joint missed) where no infant is found
            return back["map"](kp), score

        rep = evaluate_coco(gt, images, predict, read)
        out["variants"][name] = {"pck@0.2_torso": rep["pck@0.2_torso"], "pck_per_image": rep["pck_per_image"]}
    out["mean_pck@0.2_torso"] = float(np.mean([v["pck@0.2_torso"] for v in out["variants"].values()]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--coco", type=Path, required=True, help="COCO keypoint file of the photos")
    ap.add_argument("--images", type=Path, required=True)
    ap.add_argument("--bundle", type=Path, default=None, help="default: the shipped bundle")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    report = photo_variants(a.coco, a.images, a.bundle, a.precision)
    for name, v in report["variants"].items():
        print(f"{name:12s} {v['pck@0.2_torso']:5.1f} %")
    print(f"{'mean':12s} {report['mean_pck@0.2_torso']:5.1f} %")
    if a.json:
        a.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
