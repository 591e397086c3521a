"""Reader for the MPI-INF-3DHP training set (Mehta et al. 2017).

Layout::

    ROOT/S{1..8}/Seq{1,2}/annot.mat                       annot2 / annot3 cells, one per camera
    ROOT/S{1..8}/Seq{1,2}/imageFrames/video_{c}/frame_{f:06d}.jpg   (frames extracted, 1-based)
    ROOT/S{1..8}/Seq{1,2}/imageSequence/video_{c}.avi               (or the original videos)

``annot2{c}`` is (F, 56) pixels and ``annot3{c}`` is (F, 84) millimetres in
camera c's frame, for the 28 joints in skeleton.MPI_INF_3DHP order.
Reading ``.mat`` files needs scipy (the ``train`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from infantpose.datasets.common import Sample, SampleList, inside_image
from infantpose.errors import DatasetError
from infantpose.geometry import box_from_points
from infantpose.skeleton import MPI_INF_3DHP

IMAGE_SIZE = (2048, 2048)
# The chest-height cameras commonly used for training (VNect).
DEFAULT_CAMERAS: tuple[int, ...] = (0, 1, 2, 4, 5, 6, 7, 8)
DEFAULT_SUBJECTS: tuple[str, ...] = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8")


def _loadmat(path: Path) -> dict:
    try:
        from scipy.io import loadmat
    except ImportError:
        raise DatasetError("reading MPI-INF-3DHP annot.mat needs scipy: pip install 'infantpose[train]'") from None
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    try:
        return loadmat(str(path))
    except Exception as e:  # scipy raises several types for a bad file
        raise DatasetError(f"{path}: not a readable MATLAB file ({e})") from None


def _cell(mat: dict, key: str, path: Path) -> list[np.ndarray]:
    if key not in mat:
        raise DatasetError(f"{path}: has no {key!r} variable")
    cell = mat[key]
    return [np.asarray(c, dtype=np.float64) for c in cell.reshape(-1)]


class MPIInf3DHP(SampleList):
    """MPI-INF-3DHP samples (28 joints) every ``stride`` frames of the chosen cameras.

    Thresholds are per-sample neck to head-top lengths (px and mm).
    """

    def __init__(
        self,
        root: str | Path,
        subjects: Sequence[str] = DEFAULT_SUBJECTS,
        cameras: Sequence[int] = DEFAULT_CAMERAS,
        stride: int = 10,
        box_margin: float = 0.1,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset folder does not exist")
        self.samples: list[Sample] = []
        j = MPI_INF_3DHP.num_joints
        a, b = MPI_INF_3DHP.head_segment
        for subject in subjects:
            seqs = sorted((self.root / subject).glob("Seq*"))
            if not seqs:
                raise DatasetError(f"{self.root / subject}: no Seq* folders")
            for seq in seqs:
                path = seq / "annot.mat"
                mat = _loadmat(path)
                a2, a3 = _cell(mat, "annot2", path), _cell(mat, "annot3", path)
                for cam in cameras:
                    if cam >= len(a2) or cam >= len(a3):
                        raise DatasetError(f"{path}: has no camera {cam} ({len(a2)} cameras)")
                    p2, p3 = a2[cam], a3[cam]
                    if p2.shape[1:] != (2 * j,) or p3.shape[1:] != (3 * j,) or len(p2) != len(p3):
                        raise DatasetError(
                            f"{path}: camera {cam} annot2/annot3 shapes {p2.shape}/{p3.shape} "
                            f"are not (F, {2 * j})/(F, {3 * j})"
                        )
                    for f in range(0, len(p2), stride):
                        j2 = p2[f].reshape(j, 2)
                        j3 = p3[f].reshape(j, 3)
                        self.samples.append(
                            Sample(
                                image=seq / "imageFrames" / f"video_{cam}" / f"frame_{f + 1:06d}.jpg",
                                joints2d=j2,
                                visible=inside_image(j2, IMAGE_SIZE),
                                joint_set=MPI_INF_3DHP.name,
                                sequence=f"{subject}/{seq.name}/cam{cam}",
                                frame=f,
                                joints3d=j3,
                                box=box_from_points(j2, box_margin, IMAGE_SIZE),
                                pckh_2d=float(np.linalg.norm(j2[a] - j2[b])),
                                pckh_3d=float(np.linalg.norm(j3[a] - j3[b])),
                                video=seq / "imageSequence" / f"video_{cam}.avi",
                                frame_in_video=f,
                            )
                        )
