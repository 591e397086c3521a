"""The sample type every dataset reader returns, and small shared readers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from infantpose.errors import DatasetError
from infantpose.skeleton import get_joint_set, map_flags, map_joints


def spread_indices(n: int, count: int) -> np.ndarray:
    """(min(count, n),) int indices spread evenly over 0 .. n - 1, the first and the last included."""
    return np.linspace(0, n - 1, min(count, n)).round().astype(int)


@dataclass
class Sample:
    """One annotated frame.

    Attributes:
        image: path of the RGB frame (None if the frame lives inside a video).
        joints2d: (J, 2) float64 pixels of the frame.
        visible: (J,) bool, joint annotated and inside the frame.
        joint_set: name of the joint set (skeleton.JOINT_SETS).
        sequence: sequence or subject id; frame: index within it.
        joints3d: (J, 3) float64 millimetres in the camera frame, or None.
        box: (4,) x1 y1 x2 y2 pixels around the person, or None.
        pckh_2d: head-segment length in px for PCKh, or None.
        pckh_3d: head-segment length in mm for PCKh, or None.
        video: video file and frame_in_video when the frame is not an image file.
    """

    image: Path | None
    joints2d: np.ndarray
    visible: np.ndarray
    joint_set: str
    sequence: str = ""
    frame: int = 0
    joints3d: np.ndarray | None = None
    box: np.ndarray | None = None
    pckh_2d: float | None = None
    pckh_3d: float | None = None
    video: Path | None = None
    frame_in_video: int | None = None

    def to_joint_set(self, dst: str = "mpii") -> Sample:
        """The same sample with joints reordered into joint set ``dst``."""
        if self.joint_set == dst:
            return self
        j3 = None if self.joints3d is None else map_joints(self.joints3d, self.joint_set, dst)
        return replace(
            self,
            joints2d=map_joints(self.joints2d, self.joint_set, dst),
            visible=map_flags(self.visible, self.joint_set, dst),
            joints3d=j3,
            joint_set=dst,
        )

    @property
    def num_joints(self) -> int:
        return get_joint_set(self.joint_set).num_joints


def read_joint_rows(path: Path, num_joints: int, min_columns: int = 3) -> np.ndarray:
    """Rows of a whitespace-separated joints file: (num_joints, C) float64, C >= min_columns.

    DatasetError names the file for a missing file, text that is not numbers,
    a wrong row count or too few columns.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e.strerror})") from None
    rows = [line.split() for line in text.splitlines() if line.strip()]
    if len(rows) != num_joints:
        raise DatasetError(f"{path}: expected {num_joints} joint rows, found {len(rows)}")
    widths = {len(r) for r in rows}
    if len(widths) != 1 or min(widths) < min_columns:
        raise DatasetError(
            f"{path}: every row needs the same number (>= {min_columns}) of columns, found {sorted(widths)}"
        )
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError:
        raise DatasetError(f"{path}: contains text that is not a number") from None


def inside_image(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(J,) bool: points (J, 2) px within an image of (width, height)."""
    w, h = size
    p = np.asarray(points)
    return (p[:, 0] >= 0) & (p[:, 0] <= w - 1) & (p[:, 1] >= 0) & (p[:, 1] <= h - 1)


class SampleList(Sequence[Sample]):
    """A reader whose samples are all parsed up front into ``self.samples``."""

    samples: list[Sample]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Sample:  # type: ignore[override]
        return self.samples[i]

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)
