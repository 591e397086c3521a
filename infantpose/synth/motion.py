"""Smooth, anatomically limited infant movement while lying on the back.

A motion is a set of joint-angle trajectories at 30 fps: each degree of
freedom is a slowly varying mix of sinusoids and smoothed noise, clipped to
a range an infant reaches, with occasional episodes (kicking bursts, hands to
mouth, head turns, partial rolls). Angles become per-bone rotation matrices in
anny's local-ref parameterisation (world axes at rest: X the subject's left,
Y the back, Z the head). Signs below were measured on anny: a negative X
rotation moves a limb forwards (hip or shoulder flexion), a negative Y
rotation moves a left limb outwards (positive for a right limb).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FPS = 30.0


@dataclass(frozen=True)
class Dof:
    """One rotational degree of freedom: bone, axis, range and resting value (degrees)."""

    bone: str
    axis: str  # "x", "y" or "z"
    lo: float
    hi: float
    rest: float
    speed: float = 1.0  # scales the frequencies: limbs move faster than the trunk


def _sided(bone: str, axis: str, lo: float, hi: float, rest: float, speed: float = 1.0) -> list[Dof]:
    """The same DOF on both sides; Y and Z angles mirror for the right side."""
    out = [Dof(f"{bone}.L", axis, lo, hi, rest, speed)]
    if axis == "x":
        out.append(Dof(f"{bone}.R", axis, lo, hi, rest, speed))
    else:
        out.append(Dof(f"{bone}.R", axis, -hi, -lo, -rest, speed))
    return out


DOFS: list[Dof] = [
    *_sided("upperleg01", "x", -110, -10, -55, 1.2),  # hip flexion
    *_sided("upperleg01", "y", -55, -5, -30, 1.0),  # hip abduction
    *_sided("upperleg01", "z", -25, 25, 0, 0.8),  # hip rotation
    *_sided("lowerleg01", "x", 10, 125, 70, 1.3),  # knee flexion
    *_sided("foot", "x", -25, 25, 0, 1.0),
    *_sided("upperarm01", "x", -100, 30, -20, 1.2),  # shoulder flexion
    *_sided("upperarm01", "y", -85, 10, -25, 1.0),  # shoulder abduction
    *_sided("upperarm01", "z", -30, 30, 0, 0.8),
    *_sided("lowerarm01", "x", -135, -10, -60, 1.3),  # elbow flexion
    *_sided("wrist", "x", -35, 35, 0, 1.0),
    Dof("spine03", "x", -8, 8, 0, 0.5),
    Dof("spine03", "y", -8, 8, 0, 0.5),
    Dof("spine02", "z", -10, 10, 0, 0.5),
    Dof("neck01", "z", -30, 30, 0, 0.6),  # head turning (split over neck and head)
    Dof("head", "z", -35, 35, 0, 0.6),
    Dof("head", "x", -15, 15, 0, 0.6),
    Dof("head", "y", -12, 12, 0, 0.6),
]

# Hands to mouth: target angles (degrees) blended in during an episode.
HANDS_TO_MOUTH = {
    ("upperarm01.L", "x"): -70, ("upperarm01.R", "x"): -70,
    ("upperarm01.L", "y"): 15, ("upperarm01.R", "y"): -15,
    ("lowerarm01.L", "x"): -130, ("lowerarm01.R", "x"): -130,
}  # fmt: skip


def _smooth_noise(rng: np.random.Generator, frames: int, speed: float) -> np.ndarray:
    """(F,) smooth signal in about [-1, 1]: sinusoids of 0.1-1.2 Hz plus filtered noise."""
    t = np.arange(frames) / FPS
    sig = np.zeros(frames)
    for _ in range(3):
        f = rng.uniform(0.1, 1.2) * speed
        sig += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    noise = rng.normal(size=frames + 60)
    kernel = np.exp(-0.5 * (np.arange(-30, 31) / (8.0 / speed)) ** 2)
    sig += 1.5 * np.convolve(noise, kernel / kernel.sum() * 4, mode="same")[30:-30]
    return sig / max(np.abs(sig).max(), 1e-6)


def _episodes(rng: np.random.Generator, frames: int, rate_per_s: float, length_s: tuple[float, float]) -> np.ndarray:
    """(F,) envelope in [0, 1]: smooth bumps at random times."""
    env = np.zeros(frames)
    t = np.arange(frames)
    n = rng.poisson(rate_per_s * frames / FPS)
    for _ in range(n):
        centre = rng.uniform(0, frames)
        half = rng.uniform(*length_s) * FPS / 2
        env = np.maximum(env, np.clip(1.0 - ((t - centre) / half) ** 2, 0, 1) ** 0.5)
    return env


def rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """(F, 3, 3) rotations about a coordinate axis by (F,) degrees."""
    a = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    r = np.zeros((len(a), 3, 3))
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    k = 3 - i - j
    r[:, k, k] = 1
    r[:, i, i] = c
    r[:, j, j] = c
    r[:, i, j] = -s
    r[:, j, i] = s
    return r


@dataclass
class Motion:
    """A clip: per-DOF angles (degrees), whole-body roll and in-plane rotation."""

    angles: dict[tuple[str, str], np.ndarray]  # (bone, axis) -> (F,)
    roll: np.ndarray  # (F,) degrees about the body's long axis (partial rolls)
    plane: np.ndarray  # (F,) degrees of in-image-plane rotation

    @property
    def frames(self) -> int:
        return len(self.roll)

    def bone_rotations(self) -> dict[str, np.ndarray]:
        """bone -> (F, 3, 3), composed as Rz @ Ry @ Rx."""
        out: dict[str, np.ndarray] = {}
        for bone in dict.fromkeys(b for b, _ in self.angles):
            r = np.tile(np.eye(3), (self.frames, 1, 1))
            for axis in ("x", "y", "z"):
                if (bone, axis) in self.angles:
                    r = rotation(axis, self.angles[(bone, axis)]) @ r
            out[bone] = r
        return out


# Whole-body roll (degrees about the long axis) per posture; supine is the default.
POSTURES = {"supine": 0.0, "side_left": 90.0, "side_right": -90.0, "prone": 180.0}
POSTURE_WEIGHTS = {"supine": 0.6, "side_left": 0.1, "side_right": 0.1, "prone": 0.2}


def sample_posture(rng: np.random.Generator) -> str:
    """Supine most of the time, else side-lying or prone (tummy time)."""
    names = list(POSTURE_WEIGHTS)
    return str(rng.choice(names, p=np.array([POSTURE_WEIGHTS[n] for n in names])))


def sample_motion(rng: np.random.Generator, frames: int, posture: str = "supine", spread: float = 1.0) -> Motion:
    """A random clip of ``frames`` frames at 30 fps, lying in ``posture`` (see POSTURES).

    ``spread`` scales how far each joint angle strays from rest (its amplitude and the clip's own
    centre), still clipped to the anatomical range: above 1, movement unlike this model's usual
    one (the lifter's pose bank uses it to widen what it sees). 1.0 draws exactly as before.
    """
    activity = rng.uniform(0.4, 1.0)  # how lively this infant is
    kick = _episodes(rng, frames, 0.12, (1.5, 4.0))
    angles: dict[tuple[str, str], np.ndarray] = {}
    for dof in DOFS:
        span = (dof.hi - dof.lo) / 2
        amp = activity * rng.uniform(0.35, 0.8) * spread
        if dof.bone.startswith(("upperleg", "lowerleg")):
            amp = np.clip(amp + 0.4 * kick, 0, 1)
        amp = np.minimum(amp, 1.0)
        centre = dof.rest + rng.uniform(-0.3, 0.3) * spread * span
        val = centre + amp * span * _smooth_noise(rng, frames, dof.speed * (1 + 0.8 * kick.mean()))
        angles[(dof.bone, dof.axis)] = np.clip(val, dof.lo, dof.hi)
    mouth = _episodes(rng, frames, 0.05, (2.0, 5.0))
    for side in "LR":
        # Often one hand only.
        w = mouth * (1.0 if rng.random() < 0.6 else 0.0)
        for (bone, axis), target in HANDS_TO_MOUTH.items():
            if bone.endswith(side):
                a = angles[(bone, axis)]
                angles[(bone, axis)] = (1 - w) * a + w * target
    roll_ep = _episodes(rng, frames, 0.04, (2.0, 5.0))
    roll = roll_ep * rng.choice([-1, 1]) * rng.uniform(15, 40) + 4 * _smooth_noise(rng, frames, 0.3)
    roll = roll + POSTURES[posture]
    # Mostly head-up in the image, as in MINI-RGBD, sometimes any orientation.
    plane0 = rng.normal(0, 25) if rng.random() < 0.6 else rng.uniform(-180, 180)
    plane = plane0 + rng.uniform(5, 25) * _smooth_noise(rng, frames, 0.15)
    return Motion(angles=angles, roll=roll, plane=plane)
