"""The anny body model as an infant: phenotypes, the 25 MINI-RGBD joints and vertex colours.

anny's frame: metres, Z up (towards the head), -Y the front (face), +X the
subject's left. Joints are bone heads (see ARCHITECTURE.md for the mapping).
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from infantpose.skeleton import MINI_RGBD

# MINI-RGBD joint -> anny bone(s) whose head(s) define it (mean when several).
_TOES = ("toe1-1", "toe2-1", "toe3-1", "toe4-1", "toe5-1")
JOINT_BONES: dict[str, tuple[str, ...]] = {
    "pelvis": ("root",),
    "leftThigh": ("upperleg01.L",), "rightThigh": ("upperleg01.R",),
    "spine": ("spine03",),
    "leftCalf": ("lowerleg01.L",), "rightCalf": ("lowerleg01.R",),
    "spine1": ("spine02",),
    "leftFoot": ("foot.L",), "rightFoot": ("foot.R",),
    "spine2": ("spine01",),
    "leftToes": tuple(f"{t}.L" for t in _TOES), "rightToes": tuple(f"{t}.R" for t in _TOES),
    "neck": ("neck01",),
    "leftShoulder": ("clavicle.L",), "rightShoulder": ("clavicle.R",),
    "head": ("head",),
    "leftUpperArm": ("upperarm01.L",), "rightUpperArm": ("upperarm01.R",),
    "leftForeArm": ("lowerarm01.L",), "rightForeArm": ("lowerarm01.R",),
    "leftHand": ("wrist.L",), "rightHand": ("wrist.R",),
    "leftFingers": ("finger3-1.L",), "rightFingers": ("finger3-1.R",),
}  # fmt: skip
NOSE_VERTEX = 297

# Newborn (-1/3, ~51 cm) to about 12 months (~0.02, ~72 cm) on anny's age axis.
AGE_RANGE = (-0.33, 0.02)

# Skin tones, RGB 0-1, light to dark.
SKIN_TONES = np.array(
    [
        [0.96, 0.80, 0.69], [0.92, 0.74, 0.62], [0.87, 0.67, 0.53], [0.78, 0.57, 0.42],
        [0.66, 0.46, 0.32], [0.53, 0.36, 0.25], [0.40, 0.27, 0.18], [0.30, 0.20, 0.14],
    ]
)  # fmt: skip


@dataclass
class Phenotype:
    """One synthetic infant: anny phenotype values and clothing."""

    age: float
    gender: float
    weight: float
    muscle: float
    height: float
    proportions: float
    skin: list[float]
    diaper: list[float]
    onesie: list[float] | None
    sleeves: str  # "none", "short", "long"
    socks: list[float] | None

    def to_dict(self) -> dict:
        return asdict(self)


def sample_phenotype(rng: np.random.Generator) -> Phenotype:
    """A random infant from newborn to about a year old."""
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.93, 1.05, 3)
    diaper = rng.choice([[0.95, 0.95, 0.95], [0.85, 0.92, 0.98], [0.98, 0.93, 0.80]]) * rng.uniform(0.9, 1.0)
    onesie = rng.uniform(0.15, 0.95, 3).tolist() if rng.random() < 0.55 else None
    socks = rng.uniform(0.2, 1.0, 3).tolist() if rng.random() < 0.35 else None
    return Phenotype(
        age=float(rng.uniform(*AGE_RANGE)),
        gender=float(rng.uniform(0, 1)),
        weight=float(rng.uniform(0.35, 0.85)),
        muscle=float(rng.uniform(0.3, 0.6)),
        height=float(rng.uniform(0.35, 0.65)),
        proportions=float(rng.uniform(0.3, 0.7)),
        skin=np.clip(skin, 0, 1).tolist(),
        diaper=np.clip(diaper, 0, 1).tolist(),
        onesie=onesie,
        sleeves=str(rng.choice(["none", "short", "long"])),
        socks=socks,
    )


def _set_cache_dirs(cache: Path | None) -> None:
    base = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "infantpose"
    os.environ.setdefault("ANNY_CACHE_DIR", str(base / "anny"))
    os.environ.setdefault("WARP_CACHE_PATH", str(base / "warp"))


def _init_warp_quietly() -> None:
    """Initialise Warp (anny's kernels) without its banner or the native "no CUDA driver" line,
    which its C library prints straight to file descriptor 2 on every machine without a GPU."""
    try:
        import warp
    except ImportError:  # anny without Warp: nothing to quiet
        return
    warp.config.log_level = logging.ERROR
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            warp.init()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class InfantBody:
    """anny wrapper that poses an infant and returns vertices and the 25 joints (anny frame)."""

    def __init__(self, cache: Path | None = None) -> None:
        _set_cache_dirs(cache)
        warp_cache = Path(os.environ["WARP_CACHE_PATH"])
        if not (warp_cache.is_dir() and any(warp_cache.iterdir())):
            print(f"preparing the anny body model and its Warp kernels (first run only, a few minutes; cached in "
                  f"{warp_cache.parent})", file=sys.stderr, flush=True)  # fmt: skip
        _init_warp_quietly()
        import anny
        import torch

        self._torch = torch
        self.model = anny.Anny()
        self.model.eval()
        self.faces = self.model.faces.cpu().numpy().astype(np.int32)
        labels = list(self.model.bone_labels)
        self.bone_index = {b: i for i, b in enumerate(labels)}
        self._joint_bones = [[self.bone_index[b] for b in JOINT_BONES[j]] for j in MINI_RGBD.joints[:-1]]
        if MINI_RGBD.joints[-1] != "noseVertex":
            raise RuntimeError("MINI-RGBD's last joint must be the nose vertex")
        w = self.model.vertex_bone_weights.cpu().numpy()
        idx = self.model.vertex_bone_indices.cpu().numpy()
        self.dominant_bone = idx[np.arange(len(idx)), w.argmax(axis=1)]

    def pose(
        self, phenotype: Phenotype, rotations: dict[str, np.ndarray], chunk: int = 64
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pose the body for F frames.

        Args:
            rotations: bone name -> (F, 3, 3) rotations in anny's local-ref
                parameterisation (axes of the world frame at rest, carried by the parent).
        Returns:
            vertices (F, V, 3) float32 and joints (F, 25, 3) float64, metres, anny frame.
        """
        torch = self._torch
        frames = len(next(iter(rotations.values())))
        ph = {k: getattr(phenotype, k) for k in ("age", "gender", "weight", "muscle", "height", "proportions")}
        verts, joints = [], []
        for start in range(0, frames, chunk):
            n = min(chunk, frames - start)
            pp = {"root": torch.eye(4, dtype=torch.float64)[None].repeat(n, 1, 1)}
            for bone, rot in rotations.items():
                t = torch.eye(4, dtype=torch.float64)[None].repeat(n, 1, 1)
                t[:, :3, :3] = torch.from_numpy(rot[start : start + n])
                pp[bone] = t
            pp = {k: v.to(self.model.template_vertices.dtype) for k, v in pp.items()}
            with torch.no_grad():
                out = self.model(pose_parameters=pp, phenotype_kwargs={k: float(v) for k, v in ph.items()})
            v = out["vertices"].cpu().numpy()
            heads = out["bone_poses"][:, :, :3, 3].cpu().numpy().astype(np.float64)
            j = np.stack([heads[:, b].mean(axis=1) for b in self._joint_bones], axis=1)
            nose = v[:, NOSE_VERTEX].astype(np.float64)[:, None]
            verts.append(v.astype(np.float32))
            joints.append(np.concatenate([j, nose], axis=1))
        return np.concatenate(verts), np.concatenate(joints)

    def vertex_colours(self, phenotype: Phenotype, rng: np.random.Generator) -> np.ndarray:
        """(V, 3) float32 RGB 0-1: skin, diaper, optional onesie and socks, dark eyes."""
        b = self.bone_index
        dom = self.dominant_bone
        n = len(dom)
        skin = np.asarray(phenotype.skin)
        colours = np.tile(skin, (n, 1)) * rng.uniform(0.97, 1.03, (n, 1))

        def region(*bones: str) -> np.ndarray:
            return np.isin(dom, [b[x] for x in bones if x in b])

        torso = region("root", "spine05", "spine04", "spine03", "spine02", "spine01", "pelvis.L", "pelvis.R")
        torso |= region("clavicle.L", "clavicle.R", "shoulder01.L", "shoulder01.R")
        hips = region("root", "pelvis.L", "pelvis.R", "spine05", "upperleg01.L", "upperleg01.R")
        if phenotype.onesie is not None:
            cloth = torso | region("upperleg01.L", "upperleg01.R")
            if phenotype.sleeves in ("short", "long"):
                cloth |= region("upperarm01.L", "upperarm01.R", "upperarm02.L", "upperarm02.R")
            if phenotype.sleeves == "long":
                cloth |= region("lowerarm01.L", "lowerarm01.R")
            colours[cloth] = np.asarray(phenotype.onesie) * rng.uniform(0.95, 1.0, (cloth.sum(), 1))
        colours[hips] = np.asarray(phenotype.diaper) * rng.uniform(0.96, 1.0, (hips.sum(), 1))
        if phenotype.socks is not None:
            feet = region("foot.L", "foot.R", *[f"{t}.{s}" for t in _TOES for s in "LR"])
            feet |= region(*[f"toe{i}-{k}.{s}" for i in range(1, 6) for k in (2, 3) for s in "LR"])
            colours[feet] = np.asarray(phenotype.socks)
        eyes = region("eye.L", "eye.R")
        colours[eyes] = np.array([0.12, 0.08, 0.06])
        return np.clip(colours, 0, 1).astype(np.float32)
