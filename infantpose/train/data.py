"""Torch datasets on top of the core readers: crops, augmentation, targets.

Every random choice for item ``i`` in epoch ``e`` comes from
``default_rng([seed, e, i])``, so an epoch is reproducible on its own (this is
what makes ``--resume`` exact). Crops, heatmap targets and normalisation use
the core functions the runtime uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from infantpose.datasets import MiniRGBD, MPIIDataset, MPIInf3DHP, Sample
from infantpose.detection import encode_box
from infantpose.errors import DatasetError
from infantpose.fileio import ImageCache
from infantpose.geometry import (
    MINI_RGBD_INTRINSICS,
    Intrinsics,
    apply_affine,
    box_to_center_scale,
    crop_affine,
    warp_image,
)
from infantpose.heatmaps import gaussian_heatmaps
from infantpose.preprocess import (
    letterbox_affine,
    lifter_norm_2d,
    lifter_turn,
    normalize_image,
    root_rms,
    turn_about_camera_axis,
    upright_turn,
)
from infantpose.skeleton import MPII
from infantpose.stages.detector import DetectorParams
from infantpose.stages.lifter import window_indices
from infantpose.stages.pose2d import PoseParams
from infantpose.train.realism import Realism, sensor

DATASET_KINDS = ("auto", "minirgbd", "mpii", "mpi_inf_3dhp")


def detect_kind(root: Path) -> str:
    """Guess the dataset layout of ``root``."""
    if (root / "annot").is_dir():
        return "mpii"
    if any(root.glob("S*/Seq*/annot.mat")):
        return "mpi_inf_3dhp"
    return "minirgbd"


def load_samples(root: Path, split: str, kind: str = "auto") -> list[Sample]:
    """Samples of a split mapped onto the MPII 16 joints."""
    kind = detect_kind(root) if kind == "auto" else kind
    if kind == "minirgbd":
        ds: Sequence[Sample] = MiniRGBD(root, split=split)
    elif kind == "mpii":
        ds = MPIIDataset(root, split=split)
    elif kind == "mpi_inf_3dhp":
        ds = MPIInf3DHP(root)
    else:
        raise DatasetError(f"unknown dataset kind {kind!r} (known: {', '.join(DATASET_KINDS)})")
    return [s.to_joint_set(MPII.name) for s in ds]


def photometric(img: np.ndarray, rng: np.random.Generator, occlude: bool = True) -> np.ndarray:
    """Colour jitter, blur, noise and an occluding patch on a BGR uint8 image."""
    x = img.astype(np.float32)
    x = x * rng.uniform(0.7, 1.3) + rng.uniform(-25, 25)  # contrast, brightness
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * rng.uniform(0.6, 1.4)  # saturation
    x = x * rng.uniform(0.9, 1.1, 3)  # white balance
    if rng.random() < 0.2:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < 0.3:
        x = x + rng.normal(0, rng.uniform(2, 8), x.shape).astype(np.float32)
    if occlude and rng.random() < 0.3:
        h, w = x.shape[:2]
        ph, pw = int(h * rng.uniform(0.1, 0.3)), int(w * rng.uniform(0.1, 0.3))
        y0, x0 = rng.integers(0, h - ph), rng.integers(0, w - pw)
        x[y0 : y0 + ph, x0 : x0 + pw] = rng.uniform(0, 255, 3)
    return np.clip(x, 0, 255).astype(np.uint8)


def mask_for_image(image: Path) -> Path | None:
    """The MINI-RGBD foreground mask of a frame (``rgb/syn_N.png`` -> ``fg_mask/mask_N.png``), if any."""
    image = Path(image)
    if image.parent.name != "rgb" or not image.name.startswith("syn_"):
        return None
    return image.parent.parent / "fg_mask" / image.name.replace("syn_", "mask_", 1)


# Share of detector training items replaced by a frame without an infant.
NEGATIVE_RATE = 0.08


def _quarter_turn(w: int, h: int, clockwise: bool) -> np.ndarray:
    """(3, 3) affine turning a (W, H) frame by 90 degrees into an (H, W) one."""
    if clockwise:  # (x, y) -> (h - 1 - y, x)
        return np.array([[0.0, -1.0, h - 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    return np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, w - 1.0], [0.0, 0.0, 1.0]])  # (x, y) -> (y, w - 1 - x)


def _flip(img: np.ndarray, joints: np.ndarray, vis: np.ndarray, box: np.ndarray) -> tuple:
    w = img.shape[1]
    perm = MPII.flip_permutation()
    j = joints[perm].copy()
    j[:, 0] = w - 1 - j[:, 0]
    x1, y1, x2, y2 = box
    return img[:, ::-1], j, vis[perm], np.array([w - 1 - x2, y1, w - 1 - x1, y2])


class EpochDataset(Dataset):
    """Base: holds ``seed`` and ``epoch`` for per-item random generators."""

    seed: int = 0
    epoch: int = 0

    def rng(self, i: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, i])


class ImageDataset(EpochDataset):
    """Base for datasets of frames: samples, stage params, augmentation switch, frame cache.

    ``realism`` (training only) adds :mod:`infantpose.train.realism`: real-photo backgrounds,
    garments, occluders, face masks and camera degradations on top of the geometric augmentation.
    """

    def __init__(
        self,
        samples: list[Sample],
        params: DetectorParams | PoseParams | None,
        augment: bool,
        seed: int = 0,
        realism: Realism | None = None,
    ) -> None:
        self.samples = samples
        self.p = params
        self.augment = augment
        self.seed = seed
        self.cache = ImageCache()
        self.realism = realism if augment else None
        self.size = params.input_size if params is not None else None

    def __len__(self) -> int:
        return len(self.samples)

    def mask(self, s: Sample) -> np.ndarray | None:
        """(H, W) uint8 foreground mask of the frame when realism needs it and the dataset has one."""
        if self.realism is None or s.image is None:
            return None
        mpath = mask_for_image(s.image)
        return cv2.imread(str(mpath), cv2.IMREAD_GRAYSCALE) if mpath is not None and mpath.is_file() else None

    def scene(
        self, img: np.ndarray, mask: np.ndarray | None, joints: np.ndarray, affine: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Realism on an already warped network input: mask and (J, 2) frame-px joints go through ``affine``.

        Working at input resolution (not on the whole frame) keeps it cheap; areas the warp
        filled from outside the frame have mask 0, so they get a background too.
        """
        if self.realism is None:
            return img
        size = (img.shape[1], img.shape[0])
        m = None if mask is None else warp_image(mask, affine, size)
        return self.realism.scene(img, m, apply_affine(joints, affine), rng)

    def camera(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Photometric jitter, plus camera degradations when realism is on."""
        img = photometric(img, rng, occlude=self.realism is None)
        return img if self.realism is None else sensor(img, rng, self.realism.strength)


class Pose2DDataset(ImageDataset):
    """Crops around the infant box with heatmap targets.

    Item: image (3, h, w) float32, heatmaps (J, h/s, w/s), weights (J,).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s = self.p.heatmap_stride
        self.hm_size = (self.size[0] // s, self.size[1] // s)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s = self.samples[i]
        img = self.cache(s.image)
        joints, vis, box = s.joints2d, s.visible.copy(), s.box
        rot = 0.0
        rng = self.rng(i)
        mask = self.mask(s)
        if self.augment and rng.random() < 0.5:
            img, joints, vis, box = _flip(img, joints, vis, box)
            mask = None if mask is None else mask[:, ::-1]
        center, scale = box_to_center_scale(box, self.size[0] / self.size[1], self.p.padding)
        if self.augment:
            center = center + rng.uniform(-0.08, 0.08, 2) * scale * 200
            scale = scale * rng.uniform(0.8, 1.25)
            u = rng.random()
            # Mostly near head-up; real cameras also see the infant at any angle.
            rot = float(rng.uniform(-45, 45)) if u < 0.5 else float(rng.uniform(-180, 180)) if u < 0.7 else 0.0
        affine = crop_affine(center, scale, rot, self.size)
        crop = warp_image(img, affine, self.size)
        if self.augment:
            crop = self.camera(self.scene(crop, mask, joints, affine, rng), rng)
        x = normalize_image(crop, self.p.mean, self.p.std, self.p.colour)
        jh = apply_affine(joints, crop_affine(center, scale, rot, self.hm_size))
        w, h = self.hm_size
        vis = vis & (jh[:, 0] >= 0) & (jh[:, 0] <= w - 1) & (jh[:, 1] >= 0) & (jh[:, 1] <= h - 1)
        target = gaussian_heatmaps(jh, vis, self.hm_size, self.p.sigma)
        return torch.from_numpy(x), torch.from_numpy(target), torch.from_numpy(vis.astype(np.float32))


class DetectorDataset(ImageDataset):
    """Whole frames letterboxed to the detector input with centre/size/offset targets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stride = self.p.stride
        self.out_size = (self.size[0] // self.stride, self.size[1] // self.stride)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        s = self.samples[i]
        img = self.cache(s.image)
        box = s.box
        rng = self.rng(i)
        mask = self.mask(s)
        joints = s.joints2d
        if self.augment and rng.random() < 0.5:
            img, joints, _, box = _flip(img, joints, s.visible, box)
            mask = None if mask is None else mask[:, ::-1]
        fw, fh = img.shape[1], img.shape[0]
        turn = np.eye(3)
        if self.augment and rng.random() < 0.2:  # portrait footage: a quarter turn of the frame
            turn = _quarter_turn(fw, fh, clockwise=rng.random() < 0.5)
            fw, fh = fh, fw
        a = letterbox_affine((fw, fh), self.size) @ turn
        if self.augment:  # zoom about the input centre and shift
            z = rng.uniform(0.75, 1.3)
            cx, cy = self.size[0] / 2, self.size[1] / 2
            shift = rng.uniform(-0.15, 0.15, 2) * self.size
            a = np.array([[z, 0, (1 - z) * cx + shift[0]], [0, z, (1 - z) * cy + shift[1]]]) @ np.vstack([a, [0, 0, 1]])
        present = not (self.realism is not None and rng.random() < NEGATIVE_RATE)
        if present:
            inp = warp_image(img, a, self.size)
            inp = self.scene(inp, mask, joints, a, rng) if self.augment else inp
        else:  # no infant in this frame
            inp = self.realism.negative(self.size, rng)
        if self.augment:
            inp = photometric(inp, rng, occlude=rng.random() < 0.5)
            if self.realism is not None:
                inp = sensor(inp, rng, self.realism.strength)
        x1, y1, x2, y2 = box
        pts = apply_affine(np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], float), a)
        corners = np.concatenate([pts.min(axis=0), pts.max(axis=0)])
        corners = np.clip(corners, 0, [self.size[0] - 1, self.size[1] - 1] * 2)
        t = encode_box(corners, self.out_size, self.stride)
        if not present:  # no infant: an empty centre map and no box loss
            t["centre"] = np.zeros_like(t["centre"])
        return {
            "present": torch.tensor(float(present)),
            "image": torch.from_numpy(normalize_image(inp, self.p.mean, self.p.std, self.p.colour)),
            "centre": torch.from_numpy(t["centre"]),
            "size": torch.from_numpy(t["size"]),
            "offset": torch.from_numpy(t["offset"]),
            "cell": torch.from_numpy(t["cell"]),
        }


@dataclass
class Sequence2D3D:
    """One sequence for the lifter: 2D px (F, J, 2) and root-relative 3D mm (F, J, 3)."""

    name: str
    kp2d: np.ndarray
    kp3d: np.ndarray


def _upright_frame(ref: np.ndarray, root: int) -> tuple[np.ndarray, np.ndarray]:
    """A pose's own frame (the lifter's "root_upright" step) for differences of points: its size
    (:func:`preprocess.root_rms`, (..., 1, 1) px) and the turn (...,) radians that sets it upright."""
    return root_rms(ref, root), upright_turn(ref)


def convention_offset(truth: np.ndarray, predicted: np.ndarray, root: int = MPII.root) -> np.ndarray:
    """(J, 2) unitless: where a 2D network puts each joint against the ground truth, on average, in the
    true pose's upright frame (units of its RMS joint distance from the root); (F, J, 2) px each."""
    scale, turn = _upright_frame(np.asarray(truth, np.float64), root)
    d = (np.asarray(predicted, np.float64) - np.asarray(truth, np.float64)) / scale
    return turn_about_camera_axis(d, turn).mean(axis=0)


def to_convention(kp2d: np.ndarray, offset: np.ndarray, root: int = MPII.root) -> np.ndarray:
    """(F, J, 2) px of ground truth moved by :func:`convention_offset` ``offset`` (J, 2), in each frame's
    upright frame: pose-only 2D placed where that 2D network would put the joints (systematic part only)."""
    k = np.asarray(kp2d, np.float64)
    scale, turn = _upright_frame(k, root)
    return k + turn_about_camera_axis(np.broadcast_to(offset, k.shape), -turn) * scale


def lifter_sequences(samples: list[Sample], root: int = MPII.root) -> list[Sequence2D3D]:
    """Group samples (in frame order) by sequence; 3D made root-relative."""
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        if s.joints3d is None:
            raise DatasetError(f"sample {s.sequence}/{s.frame} has no 3D joints: the lifter needs 3D data")
        groups.setdefault(s.sequence, []).append(s)
    out = []
    for name, ss in groups.items():
        ss.sort(key=lambda s: s.frame)
        kp3 = np.stack([s.joints3d for s in ss])
        out.append(Sequence2D3D(name, np.stack([s.joints2d for s in ss]), kp3 - kp3[:, root : root + 1]))
    return out


def normalisation_stats(
    seqs: list[Sequence2D3D], norm: str = "pixels", root: int = MPII.root
) -> dict[str, list[float]]:
    """Per-coordinate mean/std of the lifter's 2D input (2J, after the ``norm`` step of
    preprocess.LIFTER_INPUT_NORMS) and of root-relative 3D mm (3J, turned with the input for
    "root_upright") over all frames."""
    k2, k3 = [], []
    for s in seqs:
        turn = lifter_turn(s.kp2d, norm, temporal=False)
        k2.append(lifter_norm_2d(s.kp2d, norm, root, turn).reshape(len(s.kp2d), -1))
        k3.append((s.kp3d if turn is None else turn_about_camera_axis(s.kp3d, turn)).reshape(len(s.kp3d), -1))
    k2, k3 = np.concatenate(k2), np.concatenate(k3)
    return {
        "mean_2d": k2.mean(0).tolist(),
        "std_2d": np.maximum(k2.std(0), 1e-3).tolist(),
        "mean_3d": k3.mean(0).tolist(),
        "std_3d": np.maximum(k3.std(0), 1e-3).tolist(),
    }


def track_start_window(end: int, window: int, rng: np.random.Generator) -> np.ndarray:
    """(window,) frame indices ending at ``end`` for a track that started at a random frame inside
    the causal window: frames before that start are the start repeated, as the live pipeline pads
    a new track (:func:`window_indices`)."""
    idx = window_indices(end, window)
    return np.maximum(idx, rng.integers(idx[0], end + 1))


class LifterDataset(EpochDataset):
    """Windows of ``window`` frames ending at each frame: 2D in, 3D of the window's outputs.

    Augmentation: in-plane rotation about the principal point (the 3D turns
    about the camera axis with it, exactly), horizontal flip, Gaussian 2D noise,
    a convention shift (``convention_jitter``: every joint of the window moved by one constant
    offset of that many times the pose's RMS size, per joint and axis, as a 2D network whose
    joints sit elsewhere than the skeleton's moves them), and track starts: with probability
    ``track_starts`` the window begins at a random frame inside it, padded as the live pipeline pads a new track
    (:func:`window_indices`: that first frame repeated). Without them only the
    first ``window`` frames of each recording are padded, yet every detection
    after a loss of tracking starts one. With ``norm`` "root_upright" the window and its 3D target
    are turned along the window's newest frame (:func:`preprocess.lifter_turn`), as the runtime turns them.
    Item: x (2J,) or (2J, T) normalised; y (3J,) or (3J, 1) normalised.
    """

    def __init__(
        self,
        seqs: list[Sequence2D3D],
        stats: dict[str, list[float]],
        window: int,
        augment: bool,
        noise_px: float = 0.0,
        intrinsics: Intrinsics = MINI_RGBD_INTRINSICS,
        seed: int = 0,
        inputs_2d: dict[str, np.ndarray] | None = None,
        norm: str = "pixels",
        root: int = MPII.root,
        track_starts: float = 0.0,
        convention_jitter: float = 0.0,
    ) -> None:
        self.seqs = seqs
        self.track_starts = track_starts
        self.convention_jitter = convention_jitter
        self.norm, self.root = norm, root
        self.window = window
        self.augment = augment
        self.noise_px = noise_px
        self.k = intrinsics
        self.seed = seed
        self.inputs = inputs_2d or {}
        self.m2, self.s2 = np.asarray(stats["mean_2d"]), np.asarray(stats["std_2d"])
        self.m3, self.s3 = np.asarray(stats["mean_3d"]), np.asarray(stats["std_3d"])
        self.index = [(si, f) for si, s in enumerate(seqs) for f in range(len(s.kp2d))]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        si, f = self.index[i]
        seq = self.seqs[si]
        src = self.inputs.get(seq.name, seq.kp2d)
        rng = self.rng(i) if self.augment else None
        idx = window_indices(f, self.window)
        if rng is not None and self.window > 1 and rng.random() < self.track_starts:
            idx = track_start_window(f, self.window, rng)
        k2 = src[idx].astype(np.float64)  # (T, J, 2)
        k3 = seq.kp3d[f].astype(np.float64)  # (J, 3)
        if rng is not None:
            c = np.array([self.k.cx, self.k.cy])
            ang = rng.uniform(-np.pi, np.pi) if rng.random() < 0.5 else 0.0
            ca, sa = np.cos(ang), np.sin(ang)
            r2 = np.array([[ca, -sa], [sa, ca]])
            k2 = (k2 - c) @ r2.T + c
            k3 = k3 @ np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]]).T
            if rng.random() < 0.5:
                perm = MPII.flip_permutation()
                k2 = k2[:, perm]
                k2[..., 0] = 2 * c[0] - k2[..., 0]
                k3 = k3[perm] * np.array([-1.0, 1.0, 1.0])
            if self.noise_px > 0 and seq.name not in self.inputs:
                k2 = k2 + rng.normal(0, self.noise_px, k2.shape)
            if self.convention_jitter > 0:  # one offset per joint for the whole window: a convention, not noise
                size = float(root_rms(k2[-1], self.root).squeeze())
                k2 = k2 + rng.normal(0, self.convention_jitter * size, k2.shape[1:])
        turn = lifter_turn(k2, self.norm, temporal=True)  # the newest frame's, for the whole window
        k2 = lifter_norm_2d(k2, self.norm, self.root, turn)
        if turn is not None:
            k3 = turn_about_camera_axis(k3, turn)
        x = ((k2.reshape(self.window, -1) - self.m2) / self.s2).astype(np.float32)
        y = ((k3.reshape(-1) - self.m3) / self.s3).astype(np.float32)
        if self.window == 1:
            return torch.from_numpy(x[0]), torch.from_numpy(y)
        return torch.from_numpy(x.T.copy()), torch.from_numpy(y[:, None])


class WholeFrameDetectionDataset(ImageDataset):
    """Whole frames (RGB 0-1, as torchvision's detection models take them) with one infant box."""

    def __init__(self, samples: list[Sample], augment: bool, seed: int = 0) -> None:
        super().__init__(samples, None, augment, seed)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        s = self.samples[i]
        img, box = self.cache(s.image), s.box
        rng = self.rng(i)
        if self.augment and rng.random() < 0.5:
            img, _, _, box = _flip(img, s.joints2d, s.visible, box)
        if self.augment:
            img = photometric(img, rng, occlude=False)
        x = normalize_image(img, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "RGB")
        target = {
            "boxes": torch.tensor(np.asarray(box)[None], dtype=torch.float32),
            "labels": torch.tensor([1]),
        }
        return torch.from_numpy(x), target


def collate_lists(batch: list) -> tuple:
    """Keep images and targets as lists (detection models take variable sizes)."""
    return tuple(zip(*batch, strict=True))
