"""Pose-only synthetic infants for the lifter: 2D and 3D joints, no pixels.

The lifter needs only joints, and the renderer is what limits how many infants a CPU
can make: posing the body model and projecting its joints takes about 1 s per 150
frames, rendering them about 100x that. A bank of hundreds of infants (phenotype,
motion, posture and camera sampled exactly as :func:`infantpose.synth.generate.plan_sequence`
samples them for rendered sequences, half with top-down cameras, half with the v2
variety's oblique ones) teaches the lifter more bodies and views than the rendered
sets hold. With ``wide_every`` = k, every k-th infant moves more widely than the motion
model's usual clips (``spread`` 1.3-2.0, :func:`infantpose.synth.motion.sample_motion`): a
lifter trained only on one motion model loses 30-50 % on another one's poses (measured:
17.0 -> 22.5 / 25.8 mm on ground-truth 2D at spread 1.6 / 2.0). Deterministic per seed;
cached as one ``.npz``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from infantpose.geometry import MINI_RGBD_INTRINSICS, project
from infantpose.skeleton import MINI_RGBD, MPII, map_joints

# The range of ``spread`` for the bank's wide-moving infants.
WIDE_SPREAD = (1.3, 2.0)


def pose_bank(
    infants: int,
    frames: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
    wide_every: int = 0,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``infants`` sequences of ``frames`` frames: name -> ((F, 16, 2) MPII px of a 640x480
    MINI-RGBD camera, (F, 16, 3) MPII camera-frame mm). Odd indices: top-down cameras (v1),
    even: the v2 variety (oblique cameras, side-lying and prone postures). ``wide_every`` k > 0:
    indices divisible by k move more widely (:data:`WIDE_SPREAD`); the others are the same
    infants as with k = 0."""
    from infantpose.synth.body import InfantBody
    from infantpose.synth.generate import plan_sequence

    body = InfantBody()
    out = {}
    for i in range(1, infants + 1):
        spread = 1.0
        if wide_every > 0 and i % wide_every == 0:  # its own generator: the infant's other draws stay
            spread = float(np.random.default_rng([seed, i, 3]).uniform(*WIDE_SPREAD))
        plan = plan_sequence(body, seed, i, frames, MINI_RGBD_INTRINSICS, "v1" if i % 2 else "v2", spread)
        j3 = map_joints(plan.joints * 1000.0, MINI_RGBD.name, MPII.name)
        j2 = map_joints(project(plan.joints, MINI_RGBD_INTRINSICS), MINI_RGBD.name, MPII.name)
        out[f"bank/{i:04d}"] = (j2.astype(np.float32), j3.astype(np.float32))
        if progress is not None:
            progress(i, infants)
    return out


def cached_pose_bank(
    folder: Path,
    infants: int,
    frames: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
    wide_every: int = 0,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`pose_bank`, read from (or written to) ``folder/pose_bank_<seed>_<infants>x<frames>[_wide<k>].npz``."""
    wide = f"_wide{wide_every}" if wide_every > 0 else ""
    path = Path(folder) / f"pose_bank_{seed}_{infants}x{frames}{wide}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return {k[:-3]: (z[k], z[k[:-3] + ".3d"]) for k in z.files if k.endswith(".2d")}
    bank = pose_bank(infants, frames, seed, progress, wide_every)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **{f"{k}.2d": v[0] for k, v in bank.items()}, **{f"{k}.3d": v[1] for k, v in bank.items()})
    tmp.replace(path)
    return bank
