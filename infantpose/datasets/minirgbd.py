"""Reader for the MINI-RGBD layout (Hesse et al. 2018), real or synthetic.

Per sequence folder (``01`` .. ``12``)::

    rgb/syn_00000.png
    fg_mask/mask_00000.png                  (optional: box from joints otherwise)
    depth/syn_00000_depth.png               (uint16 mm; not read)
    joints_2Ddep/syn_joints_2Ddep_00000.txt 25 rows "x y depth [id]", pixels
    joints_3D/syn_joints_3D_00000.txt       25 rows "X Y Z [id]", metres, camera frame

A dataset card ``dataset.json`` at the root (written by ``infantpose synth``)
may give splits and per-sequence PCKh thresholds.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from infantpose.datasets.common import Sample, inside_image, read_joint_rows
from infantpose.errors import DatasetError
from infantpose.fileio import atomic_write_bytes
from infantpose.geometry import MINI_RGBD_INTRINSICS, Intrinsics, box_from_points
from infantpose.skeleton import MINI_RGBD

IMAGE_SIZE = (640, 480)  # (width, height)
CARD = "dataset.json"

DEFAULT_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("01", "02", "03", "04", "05", "06", "07", "08"),
    "val": ("09", "10"),
    "test": ("11", "12"),
}

# Head-segment lengths (2D px, 3D mm) the original used per real sequence.
SEED_PCKH_THRESHOLDS: dict[str, tuple[float, float]] = {
    "01": (11.21, 24.9), "02": (11.39, 26.3), "03": (11.96, 25.3), "04": (11.13, 27.8),
    "05": (7.75, 20.6), "06": (9.10, 23.4), "07": (12.77, 28.2), "08": (13.34, 26.2),
    "09": (12.75, 29.0), "10": (11.23, 26.1), "11": (12.17, 28.6), "12": (13.93, 30.1),
}  # fmt: skip

ThresholdSource = Literal["auto", "card", "seed", "data"]
_FRAME_RE = re.compile(r"syn_joints_2Ddep_(\d+)\.txt$")


def rgb_path(seq_dir: Path, frame: int) -> Path:
    return seq_dir / "rgb" / f"syn_{frame:05d}.png"


def mask_path(seq_dir: Path, frame: int) -> Path:
    return seq_dir / "fg_mask" / f"mask_{frame:05d}.png"


def joints2d_path(seq_dir: Path, frame: int) -> Path:
    return seq_dir / "joints_2Ddep" / f"syn_joints_2Ddep_{frame:05d}.txt"


def joints3d_path(seq_dir: Path, frame: int) -> Path:
    return seq_dir / "joints_3D" / f"syn_joints_3D_{frame:05d}.txt"


def read_card(root: Path) -> dict:
    """The dataset card at ``root/dataset.json``, or {} when there is none."""
    path = root / CARD
    if not path.is_file():
        return {}
    try:
        card = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(card, dict):
        raise DatasetError(f"{path}: the dataset card must be a JSON object")
    return card


@dataclass
class _Sequence:
    name: str
    path: Path
    frames: np.ndarray  # (F,) int frame numbers
    joints2d: np.ndarray  # (F, 25, 2) px
    depth2d: np.ndarray  # (F, 25) depth column of joints_2Ddep
    joints3d: np.ndarray  # (F, 25, 3) mm
    pckh_2d: float = 0.0
    pckh_3d: float = 0.0


def _load_sequence(path: Path) -> _Sequence:
    folder = path / "joints_2Ddep"
    if not folder.is_dir():
        raise DatasetError(f"{folder}: folder not found (is {path} a MINI-RGBD sequence?)")
    frames = sorted(int(m.group(1)) for f in folder.iterdir() if (m := _FRAME_RE.search(f.name)))
    if not frames:
        raise DatasetError(f"{folder}: no syn_joints_2Ddep_*.txt files")
    n = MINI_RGBD.num_joints
    j2 = np.empty((len(frames), n, 2))
    dep = np.empty((len(frames), n))
    j3 = np.empty((len(frames), n, 3))
    for i, f in enumerate(frames):
        rows2 = read_joint_rows(joints2d_path(path, f), n, min_columns=2)
        j2[i] = rows2[:, :2]
        dep[i] = rows2[:, 2] if rows2.shape[1] >= 3 else np.nan
        j3[i] = read_joint_rows(joints3d_path(path, f), n, min_columns=3)[:, :3] * 1000.0
    return _Sequence(path.name, path, np.asarray(frames), j2, dep, j3)


def derived_splits(found: list[str]) -> dict[str, list[str]]:
    """Splits for a dataset that lacks the default sequences: the last sequence tests, the one
    before validates, the rest train; with two, the second validates and tests; with one, it does all."""
    if len(found) >= 3:
        return {"train": found[:-2], "val": [found[-2]], "test": [found[-1]]}
    if len(found) == 2:
        return {"train": [found[0]], "val": [found[1]], "test": [found[1]]}
    return {"train": list(found), "val": list(found), "test": list(found)}


class MiniRGBD(Sequence[Sample]):
    """A split of a MINI-RGBD-layout dataset as a sequence of :class:`Sample`.

    Joints come in MINI-RGBD order (25); call ``sample.to_joint_set("mpii")``
    for the common 16. Joint files are read at construction (errors surface
    early and name the file); images and masks are read per sample.

    Args:
        root: dataset folder holding the sequence folders.
        split: "train", "val", "test" or "all".
        sequences: explicit sequence names; overrides ``split``.
        splits: split table; default the card's, else 01-08 / 09-10 / 11-12.
        thresholds: PCKh thresholds from the dataset card, the original's
            table (real sequences 01-12), the data (mean neck-head length),
            or "auto" (card, then seed table when there is no card, then data).
        box_margin: fraction of the mask (or joints) box added on each side.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "test",
        sequences: Sequence[str] | None = None,
        splits: dict[str, Sequence[str]] | None = None,
        thresholds: ThresholdSource = "auto",
        box_margin: float = 0.1,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset folder does not exist")
        self.card = read_card(self.root)
        self.intrinsics = Intrinsics(**self.card["camera"]) if "camera" in self.card else MINI_RGBD_INTRINSICS
        self.box_margin = box_margin
        names = list(sequences) if sequences is not None else self._split(split, splits)
        self.sequences = [_load_sequence(self.root / name) for name in names]
        for seq in self.sequences:
            seq.pckh_2d, seq.pckh_3d = self._thresholds(seq, thresholds)
        self._index = [(s, i) for s, seq in enumerate(self.sequences) for i in range(len(seq.frames))]

    def _split(self, split: str, splits: dict[str, Sequence[str]] | None) -> list[str]:
        found = sorted(p.name for p in self.root.iterdir() if (p / "joints_2Ddep").is_dir())
        if split == "all":
            if not found:
                raise DatasetError(f"{self.root}: no sequence folders with joints_2Ddep/")
            return found
        table = splits or self.card.get("splits") or DEFAULT_SPLITS
        if split not in table:
            raise DatasetError(f"{self.root}: unknown split {split!r} (known: {', '.join(table)}, all)")
        names = list(table[split])
        missing = [n for n in names if n not in found]
        if missing and table is DEFAULT_SPLITS and found and split in ("train", "val", "test"):
            derived = derived_splits(found)
            warnings.warn(
                f"{self.root}: not the default 12-sequence layout; {split} = {', '.join(derived[split])} "
                f"(train {', '.join(derived['train'])} / val {', '.join(derived['val'])} / "
                f"test {', '.join(derived['test'])}; a dataset.json 'splits' table sets them)",
                stacklevel=2,
            )
            return derived[split]
        if missing:
            raise DatasetError(f"{self.root}: split {split!r} needs sequence folders {', '.join(missing)}")
        return names

    def _thresholds(self, seq: _Sequence, source: ThresholdSource) -> tuple[float, float]:
        card_seq = self.card.get("sequences", {}).get(seq.name, {})
        if source in ("auto", "card") and "pckh_2d" in card_seq:
            return float(card_seq["pckh_2d"]), float(card_seq["pckh_3d"])
        if source == "card":
            raise DatasetError(f"{self.root / CARD}: no PCKh thresholds for sequence {seq.name}")
        if source == "seed" or (source == "auto" and not self.card and seq.name in SEED_PCKH_THRESHOLDS):
            if seq.name not in SEED_PCKH_THRESHOLDS:
                raise DatasetError(f"sequence {seq.name}: not one of the original 01-12 sequences")
            return SEED_PCKH_THRESHOLDS[seq.name]
        return head_segment_thresholds(seq.joints2d, seq.joints3d)

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, i: int) -> Sample:  # type: ignore[override]
        s, k = self._index[i]
        seq = self.sequences[s]
        frame = int(seq.frames[k])
        j2 = seq.joints2d[k].copy()
        return Sample(
            image=rgb_path(seq.path, frame),
            joints2d=j2,
            visible=inside_image(j2, IMAGE_SIZE),
            joint_set=MINI_RGBD.name,
            sequence=seq.name,
            frame=frame,
            joints3d=seq.joints3d[k].copy(),
            box=self.box(seq.path, frame, j2),
            pckh_2d=seq.pckh_2d,
            pckh_3d=seq.pckh_3d,
        )

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def box(self, seq_dir: Path, frame: int, joints2d: np.ndarray) -> np.ndarray:
        """(4,) x1 y1 x2 y2 px from the foreground mask, else from the 2D joints."""
        mpath = mask_path(seq_dir, frame)
        if mpath.is_file():
            mask = cv2.imread(str(mpath), cv2.IMREAD_GRAYSCALE)
            if mask is None:
                raise DatasetError(f"{mpath}: not a readable image")
            ys, xs = np.nonzero(mask)
            if len(xs):
                pts = np.stack([[xs.min(), ys.min()], [xs.max(), ys.max()]]).astype(np.float64)
                return box_from_points(pts, self.box_margin, IMAGE_SIZE)
        return box_from_points(joints2d, self.box_margin, IMAGE_SIZE)

    def sequence_arrays(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(frames (F,), joints2d (F,25,2) px, joints3d (F,25,3) mm) of one sequence, in order."""
        for seq in self.sequences:
            if seq.name == name:
                return seq.frames, seq.joints2d, seq.joints3d
        raise KeyError(f"sequence {name!r} is not in this split")


def head_segment_thresholds(joints2d: np.ndarray, joints3d: np.ndarray) -> tuple[float, float]:
    """Mean neck-head length over frames: (px, mm) from (F,25,2) px and (F,25,3) mm."""
    a, b = MINI_RGBD.head_segment
    px = float(np.linalg.norm(joints2d[:, a] - joints2d[:, b], axis=-1).mean())
    mm = float(np.linalg.norm(joints3d[:, a] - joints3d[:, b], axis=-1).mean())
    return px, mm


def _png(image: np.ndarray, path: Path) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise DatasetError(f"{path}: could not encode image")
    return buf.tobytes()


def write_frame(
    seq_dir: Path,
    frame: int,
    rgb_bgr: np.ndarray,
    mask: np.ndarray,
    joints3d_m: np.ndarray,
    intrinsics: Intrinsics = MINI_RGBD_INTRINSICS,
    depth_mm: np.ndarray | None = None,
) -> None:
    """Write one frame in the MINI-RGBD layout; each file appears whole or not at all.

    Args:
        seq_dir: sequence folder (sub-folders are created).
        rgb_bgr: (H, W, 3) uint8 BGR image; mask: (H, W) uint8, >0 on the infant.
        joints3d_m: (25, 3) metres in the camera frame (MINI-RGBD order).
        depth_mm: optional (H, W) uint16 depth image in millimetres.
    The 2D joints are the exact projection of the 3D joints; their depth
    column is Z in millimetres. The RGB image is written last, so a frame
    whose RGB exists is complete (``--resume`` relies on this).
    """
    from infantpose.geometry import project

    for sub in ("rgb", "fg_mask", "joints_2Ddep", "joints_3D", "depth"):
        (seq_dir / sub).mkdir(parents=True, exist_ok=True)
    j3 = np.asarray(joints3d_m, dtype=np.float64)
    uv = project(j3, intrinsics)
    depth_col = j3[:, 2] * 1000.0
    rows2 = "".join(f"{u:.6f} {v:.6f} {d:.4f} {i}\n" for i, ((u, v), d) in enumerate(zip(uv, depth_col, strict=True)))
    rows3 = "".join(f"{x:.8f} {y:.8f} {z:.8f} {i}\n" for i, (x, y, z) in enumerate(j3))
    atomic_write_bytes(joints2d_path(seq_dir, frame), rows2.encode())
    atomic_write_bytes(joints3d_path(seq_dir, frame), rows3.encode())
    mpath = mask_path(seq_dir, frame)
    atomic_write_bytes(mpath, _png(mask, mpath))
    if depth_mm is not None:
        dpath = seq_dir / "depth" / f"syn_{frame:05d}_depth.png"  # MINI-RGBD names them so
        atomic_write_bytes(dpath, _png(depth_mm.astype(np.uint16), dpath))
    rpath = rgb_path(seq_dir, frame)
    atomic_write_bytes(rpath, _png(rgb_bgr, rpath))
