"""Tiny datasets built on the fly in the real on-disk layouts."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from infantpose.datasets.minirgbd import write_frame
from infantpose.geometry import MINI_RGBD_INTRINSICS, project
from infantpose.skeleton import MPII


def infant_pose_m(rng: np.random.Generator) -> np.ndarray:
    """(25, 3) metres: joints scattered around a point 0.9 m in front of the camera."""
    centre = np.array([0.0, 0.0, 0.9])
    return centre + rng.uniform(-0.15, 0.15, size=(25, 3)) * np.array([1.0, 1.0, 0.2])


def make_minirgbd(
    root: Path, sequences: tuple[str, ...] = ("11", "12"), frames: int = 2, seed: int = 0
) -> dict[str, list[np.ndarray]]:
    """Write a small MINI-RGBD-layout dataset; returns the 3D joints (m) per sequence."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[np.ndarray]] = {}
    for seq in sequences:
        out[seq] = []
        for f in range(frames):
            j3 = infant_pose_m(rng)
            uv = project(j3, MINI_RGBD_INTRINSICS)
            mask = np.zeros((480, 640), np.uint8)
            x1, y1 = np.floor(uv.min(0)).astype(int)
            x2, y2 = np.ceil(uv.max(0)).astype(int)
            mask[y1 : y2 + 1, x1 : x2 + 1] = 255
            rgb = np.full((480, 640, 3), 90, np.uint8)
            cv2.rectangle(rgb, (int(x1), int(y1)), (int(x2), int(y2)), (200, 170, 150), -1)
            write_frame(root / seq, f, rgb, mask, j3)
            out[seq].append(j3)
    return out


def make_mpii(root: Path, n: int = 3, seed: int = 0) -> list[dict]:
    """Write annot/train.json and annot/valid.json (1-based coordinates)."""
    rng = np.random.default_rng(seed)
    entries = []
    for i in range(n):
        joints = rng.uniform(50, 400, size=(16, 2))
        vis = np.ones(16)
        vis[3] = 0
        entries.append(
            {
                "image": f"{i:09d}.jpg",
                "center": [200.0 + i, 220.0],
                "scale": 1.5,
                "joints": joints.tolist(),
                "joints_vis": vis.tolist(),
            }
        )
    (root / "annot").mkdir(parents=True, exist_ok=True)
    (root / "annot" / "train.json").write_text(json.dumps(entries))
    (root / "annot" / "valid.json").write_text(json.dumps(entries[:1]))
    return entries


def make_mpi_inf_3dhp(root: Path, frames: int = 5, cameras: int = 14, seed: int = 0) -> np.ndarray:
    """Write S1/Seq1/annot.mat with annot2/annot3 cells; returns annot3 of camera 0 (F, 84)."""
    import pytest

    savemat = pytest.importorskip("scipy.io", reason="writing .mat files needs scipy (the train extra)").savemat

    rng = np.random.default_rng(seed)
    a2 = np.empty((cameras, 1), dtype=object)
    a3 = np.empty((cameras, 1), dtype=object)
    for c in range(cameras):
        a2[c, 0] = rng.uniform(100, 1900, size=(frames, 56))
        a3[c, 0] = rng.uniform(-800, 800, size=(frames, 84)) + np.tile([0, 0, 4000], 28)
    seq = root / "S1" / "Seq1"
    seq.mkdir(parents=True, exist_ok=True)
    savemat(str(seq / "annot.mat"), {"annot2": a2, "annot3": a3})
    return a3[0, 0]


def random_checkpoint(stage: str, key: tuple[str, str], root: Path, path: Path) -> Path:
    """A random-initialised checkpoint (recipe ``key``) with distinct, non-flat outputs."""
    import torch

    from infantpose.train import data as D
    from infantpose.train.checkpoint import atomic_save, make_checkpoint
    from infantpose.train.models import build_model
    from infantpose.train.recipes import get_recipe

    torch.manual_seed(0)
    r = get_recipe(*key)
    model = build_model(r["arch"], **r["model"]).eval()
    params = dict(r["params"])
    if stage == "lifter":
        norm = params.get("input_norm", "pixels")
        params.update(D.normalisation_stats(D.lifter_sequences(D.load_samples(root, "all")), norm))
        params["root"] = MPII.root
        params["window"] = int(model.receptive_field)
    if stage == "pose2d":
        torch.nn.init.normal_(model.head.weight, std=0.5)  # peaky heatmaps: no argmax ties
    if stage == "detector":
        params["score_threshold"] = 0.0  # an untrained detector's score means nothing: never "no infant"
    atomic_save(make_checkpoint(stage, r["arch"], r["model"], params, model, recipe="edge"), path)
    return path


def make_bundle(root: Path, out: Path, precisions: tuple[str, ...] = ("fp32",)) -> Path:
    """Export random-initialised edge checkpoints (trained on nothing) into a bundle at ``out``."""
    from infantpose.export.package import export_bundle

    ckpts = {
        "detector": random_checkpoint("detector", ("detector", "edge"), root, out.parent / "det.pt"),
        "pose2d": random_checkpoint("pose2d", ("pose2d", "edge-effnet"), root, out.parent / "pose.pt"),
        "lifter": random_checkpoint("lifter", ("temporal", "edge"), root, out.parent / "lift.pt"),
    }
    export_bundle(ckpts, out, precisions, calib_data=root, calib_count=200, log=lambda *_: None)
    return out
