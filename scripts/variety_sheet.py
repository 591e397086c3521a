"""Contact sheet: the old training appearance next to the new one (README "Training data").

Top rows: raw frames of the v1 set (what the previous model saw). Bottom rows:
v2 renders (postures, oblique cameras) with the training-time realism applied
to the whole frame (photo backgrounds, garments, occluders, face masks, IR,
JPEG...), i.e. the variety the current model is trained on.

    .venv/bin/python scripts/variety_sheet.py --old data/synth-default --new data/synth-v2 --out docs/variety_sheet.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from infantpose.datasets import MiniRGBD
from infantpose.train.data import mask_for_image
from infantpose.train.realism import Realism, sensor

TILE = (320, 240)


def _tiles(root: Path, count: int, realism: Realism | None, seed: int) -> list[np.ndarray]:
    ds = MiniRGBD(root, split="all")
    picks = np.linspace(0, len(ds) - 1, count).round().astype(int)
    out = []
    for n, i in enumerate(picks):
        s = ds[int(i)].to_joint_set("mpii")
        img = cv2.imread(str(s.image))
        if realism is not None:
            rng = np.random.default_rng([seed, n])
            mask = cv2.imread(str(mask_for_image(s.image)), cv2.IMREAD_GRAYSCALE)
            img = sensor(realism.scene(img, mask, s.joints2d, rng), rng)
        out.append(cv2.resize(img, TILE, interpolation=cv2.INTER_AREA))
    return out


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    tile = tile.copy()
    cv2.rectangle(tile, (0, 0), (8 + 9 * len(text), 22), (0, 0, 0), -1)
    cv2.putText(tile, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", type=Path, required=True)
    ap.add_argument("--new", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cols", type=int, default=5)
    a = ap.parse_args()
    old = [_label(t, "before: v1 render") for t in _tiles(a.old, a.cols, None, 0)]
    real = Realism(strength=1.5)  # every step more often, to show them
    new = [_label(t, "now: v2 + realism") for t in _tiles(a.new, 3 * a.cols, real, 1)]
    rows = [np.hstack(old)] + [np.hstack(new[i : i + a.cols]) for i in range(0, len(new), a.cols)]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(a.out), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(a.out)


if __name__ == "__main__":
    main()
