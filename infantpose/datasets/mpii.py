"""Reader for MPII Human Pose in the widely used JSON annotation form.

Layout::

    ROOT/annot/{train,valid}.json   list of {"image", "center", "scale", "joints", "joints_vis"}
    ROOT/images/<image>

Coordinates in those files are 1-based (converted from MATLAB); this reader
returns 0-based pixels. ``scale`` is the person height / 200 px.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from infantpose.datasets.common import Sample, SampleList
from infantpose.errors import DatasetError
from infantpose.geometry import PIXEL_STD
from infantpose.skeleton import MPII

SPLIT_FILES = {"train": "train.json", "val": "valid.json", "valid": "valid.json"}


class MPIIDataset(SampleList):
    """MPII samples (16 joints, MPII order) with a box from center/scale.

    PCKh thresholds here are the upper-neck to head-top length in px (the
    dataset's head boxes are not in the JSON form).
    """

    def __init__(self, root: str | Path, split: str = "train") -> None:
        self.root = Path(root)
        if split not in SPLIT_FILES:
            raise DatasetError(f"unknown MPII split {split!r} (known: train, val)")
        path = self.root / "annot" / SPLIT_FILES[split]
        try:
            entries = json.loads(path.read_text())
        except FileNotFoundError:
            raise DatasetError(f"{path}: file not found") from None
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(entries, list):
            raise DatasetError(f"{path}: expected a list of annotations")
        self.samples = [self._parse(e, i, path) for i, e in enumerate(entries)]

    def _parse(self, e: dict, i: int, path: Path) -> Sample:
        try:
            joints = np.asarray(e["joints"], dtype=np.float64)
            vis = np.asarray(e["joints_vis"], dtype=np.float64) > 0
            center = np.asarray(e["center"], dtype=np.float64) - 1.0
            scale = float(e["scale"])
            image = self.root / "images" / str(e["image"])
        except (KeyError, TypeError, ValueError) as err:
            raise DatasetError(f"{path}: entry {i} is malformed ({err!r})") from None
        if joints.shape != (MPII.num_joints, 2) or vis.shape != (MPII.num_joints,):
            raise DatasetError(
                f"{path}: entry {i} needs 16 joints and 16 joints_vis, got {joints.shape} and {vis.shape}"
            )
        joints = joints - 1.0
        half = scale * PIXEL_STD / 2.0
        a, b = MPII.head_segment
        head = float(np.linalg.norm(joints[a] - joints[b])) if vis[a] and vis[b] else None
        return Sample(
            image=image,
            joints2d=joints,
            visible=vis,
            joint_set=MPII.name,
            sequence="mpii",
            frame=i,
            box=np.array([center[0] - half, center[1] - half, center[0] + half, center[1] + half]),
            pckh_2d=head,
        )
