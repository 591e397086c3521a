"""Contact sheet of a MINI-RGBD-layout dataset: sample frames with the 2D skeleton drawn."""

from __future__ import annotations

from pathlib import Path

import cv2

from infantpose.datasets.common import spread_indices
from infantpose.datasets.minirgbd import MiniRGBD
from infantpose.draw import draw_box, draw_skeleton, tile
from infantpose.errors import DatasetError
from infantpose.fileio import read_image
from infantpose.skeleton import MINI_RGBD


def contact_sheet(root: Path, out: Path, count: int = 12, columns: int = 4, width: int = 320) -> Path:
    """Write a PNG grid of ``count`` frames spread over all sequences, each ``width`` px wide."""
    ds = MiniRGBD(root, split="all")
    picks = spread_indices(len(ds), count)
    tiles = []
    for i in picks:
        s = ds[int(i)]
        img = read_image(s.image)
        draw_box(img, s.box)
        draw_skeleton(img, s.joints2d, MINI_RGBD)
        cv2.putText(img, f"seq {s.sequence} frame {s.frame}", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (255, 255, 255), 2, cv2.LINE_AA)  # fmt: skip
        h = round(img.shape[0] * width / img.shape[1])
        tiles.append(cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA))
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), tile(tiles, columns))
    return out


def frames_to_video(seq_dir: Path, out: Path, fps: float = 30.0) -> Path:
    """Encode a sequence's ``rgb/syn_*.png`` frames, in order, into an mp4v video."""
    files = sorted((seq_dir / "rgb").glob("syn_*.png"))
    if not files:
        raise DatasetError(f"{seq_dir / 'rgb'}: no syn_*.png frames")
    first = read_image(files[0])
    h, w = first.shape[:2]
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    try:
        for f in files:
            writer.write(read_image(f))
    finally:
        writer.release()
    return out
