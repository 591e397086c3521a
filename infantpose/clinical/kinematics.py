"""Infant movement from 3D keypoints: joint angles, speeds and per-recording features.

Input: (F, 16, 3) MPII joints in millimetres (the runtime's ``kp3d``: camera axes, pelvis at
the origin) and (F,) times in seconds. Frames without an infant are NaN and stay NaN.

Body frame, per frame, from the 3D pose itself (so the camera's position does not matter):
``U`` up the trunk (pelvis -> thorax), ``L`` towards the body's left (right hip -> left hip,
made perpendicular to ``U``), ``A = L x U`` anterior (where the chest faces).

Angles (degrees) and their signs:

- knee / elbow flexion: 180 minus the angle at the joint (hip-knee-ankle, shoulder-elbow-
  wrist): a straight limb is 0, a right angle 90;
- hip flexion: the thigh (hip -> knee) in the sagittal plane (U, A), from straight down the
  trunk axis: 0 in line with the trunk, +90 thigh forward at a right angle, negative behind;
- hip abduction: the thigh's angle out of the sagittal plane, positive away from the midline;
- shoulder elevation: the upper arm (shoulder -> elbow) from straight down the trunk: 0 arm
  along the trunk, 90 arm at a right angle, 180 overhead (any direction);
- head flexion / lateral flexion: the head axis (upper neck -> head top) in the sagittal plane
  (positive forward, towards the chest) and in the frontal plane (positive towards the left
  shoulder). Axial head rotation (turning left/right) is not observable from these 16 joints:
  they hold no point of the face.

Speeds: positions relative to the pelvis are low-passed (default: a centred moving average of
``smooth`` frames, 5: at 30 fps about 6 Hz; or a zero-phase Butterworth, :mod:`infantpose.filters`),
then differentiated by central differences on the real timestamps: speed in mm/s, acceleration
magnitude in mm/s^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infantpose.filters import low_pass, moving_average
from infantpose.skeleton import MPII

J = MPII.index
SIDES = ("l", "r")
# Limb endpoints whose movement the features summarise (wrists and ankles: hands and feet).
END_JOINTS = {"arm": "wrist", "leg": "ankle"}
# Frequency bands (Hz) of the movement spectrum reported per limb.
BANDS = ((0.0, 1.0), (1.0, 3.0), (3.0, 6.0))


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / n


def body_frame(kp3d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(F, 16, 3) mm -> unit vectors U (up the trunk), L (body's left), A (anterior), each (F, 3)."""
    up = _unit(kp3d[:, J("thorax")] - kp3d[:, J("pelvis")])
    left = kp3d[:, J("l_hip")] - kp3d[:, J("r_hip")]
    left = _unit(left - np.sum(left * up, axis=-1, keepdims=True) * up)
    return up, left, np.cross(left, up)


def _angle_at(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Degrees of the angle a-b-c at b, (F,) for (F, 3) points."""
    cos = np.sum(_unit(a - b) * _unit(c - b), axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def joint_angles(kp3d: np.ndarray) -> dict[str, np.ndarray]:
    """Named (F,) angle series in degrees (see the module docstring for definitions and signs)."""
    kp = np.asarray(kp3d, np.float64)
    up, left, ant = body_frame(kp)
    out: dict[str, np.ndarray] = {}
    for s in SIDES:
        side = 1.0 if s == "l" else -1.0
        hip, knee, ankle = kp[:, J(f"{s}_hip")], kp[:, J(f"{s}_knee")], kp[:, J(f"{s}_ankle")]
        sh, el, wr = kp[:, J(f"{s}_shoulder")], kp[:, J(f"{s}_elbow")], kp[:, J(f"{s}_wrist")]
        thigh = knee - hip
        t_up, t_ant, t_lat = (np.sum(thigh * v, axis=-1) for v in (up, ant, left))
        out[f"{s}_hip_flexion_deg"] = np.degrees(np.arctan2(t_ant, -t_up))
        out[f"{s}_hip_abduction_deg"] = np.degrees(np.arctan2(side * t_lat, np.hypot(t_up, t_ant)))
        out[f"{s}_knee_flexion_deg"] = 180.0 - _angle_at(hip, knee, ankle)
        out[f"{s}_elbow_flexion_deg"] = 180.0 - _angle_at(sh, el, wr)
        arm = _unit(el - sh)
        out[f"{s}_shoulder_elevation_deg"] = np.degrees(np.arccos(np.clip(np.sum(arm * -up, axis=-1), -1.0, 1.0)))
    head = kp[:, J("head_top")] - kp[:, J("upper_neck")]
    h_up, h_ant, h_lat = (np.sum(head * v, axis=-1) for v in (up, ant, left))
    out["head_flexion_deg"] = np.degrees(np.arctan2(h_ant, h_up))
    out["head_lateral_flexion_deg"] = np.degrees(np.arctan2(h_lat, h_up))
    return out


def smooth(x: np.ndarray, frames: int) -> np.ndarray:
    """Centred moving average over ``frames`` (odd) along axis 0 (:func:`infantpose.filters.moving_average`)."""
    return moving_average(x, frames)


def speeds(kp3d: np.ndarray, t: np.ndarray, frames: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(F, 16) speed mm/s and (F, 16) acceleration magnitude mm/s^2 of each joint relative to the pelvis."""
    kp = np.asarray(kp3d, np.float64)
    rel = smooth(kp - kp[:, J("pelvis") : J("pelvis") + 1], frames)
    t = np.asarray(t, np.float64)
    if len(t) < 3:
        nan = np.full(kp.shape[:2], np.nan)
        return nan, nan
    vel = np.gradient(rel, t, axis=0)
    acc = np.gradient(vel, t, axis=0)
    return np.linalg.norm(vel, axis=-1), np.linalg.norm(acc, axis=-1)


def symmetry_index(left: float, right: float) -> float:
    """Robinson's symmetry index in %: 100 (L - R) / ((L + R) / 2); 0 symmetric, NaN when both are 0."""
    mean = (left + right) / 2
    return float(100.0 * (left - right) / mean) if mean else float("nan")


def spectrum(x: np.ndarray, fps: float) -> dict[str, float]:
    """Dominant frequency (Hz, above 0.2 Hz) and the share of power per band of a speed series."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if len(x) < 8:
        return {"dominant_hz": float("nan"), **{f"power_{a:g}_{b:g}_hz": float("nan") for a, b in BANDS}}
    power = np.abs(np.fft.rfft(x - x.mean())) ** 2
    freq = np.fft.rfftfreq(len(x), 1.0 / fps)
    keep = freq > 0.2
    total = power[freq > 0].sum() or 1.0
    out = {"dominant_hz": float(freq[keep][np.argmax(power[keep])]) if keep.any() else float("nan")}
    for a, b in BANDS:
        out[f"power_{a:g}_{b:g}_hz"] = float(power[(freq > a) & (freq <= b)].sum() / total)
    return out


@dataclass(frozen=True)
class Kinematics:
    """Per-frame series of one recording: times (F,) s, angles (name -> (F,) deg), speed and
    acceleration (F, 16) of each joint (mm/s, mm/s^2)."""

    t: np.ndarray
    angles: dict[str, np.ndarray]
    speed: np.ndarray
    acceleration: np.ndarray

    def columns(self) -> dict[str, np.ndarray]:
        """Every series as a named column, units in the names."""
        cols = {"t_s": self.t, **self.angles}
        for j, name in enumerate(MPII.joints):
            cols[f"{name}_speed_mm_s"] = self.speed[:, j]
        for j, name in enumerate(MPII.joints):
            cols[f"{name}_acceleration_mm_s2"] = self.acceleration[:, j]
        return cols


def analyse(
    kp3d: np.ndarray, t: np.ndarray, frames: int = 5, filter: str = "moving-average", cutoff_hz: float = 6.0
) -> Kinematics:
    """Angles, speeds and accelerations of a recording ((F, 16, 3) mm, (F,) s).

    The filter (:mod:`infantpose.filters`: ``moving-average`` over ``frames``, ``butterworth`` at
    ``cutoff_hz``, or ``none``) low-passes the positions relative to the pelvis; with the moving
    average, angles come from the unfiltered pose and only speeds are smoothed (the long-standing
    default); with the others, angles and speeds both come from the filtered positions."""
    kp = np.asarray(kp3d, np.float64)
    t = np.asarray(t, np.float64)
    if filter == "moving-average":
        v, a = speeds(kp, t, frames)
        return Kinematics(t, joint_angles(kp), v, a)
    fps = float((len(t) - 1) / (t[-1] - t[0])) if len(t) > 1 and t[-1] > t[0] else 30.0
    rel = low_pass(kp - kp[:, J("pelvis") : J("pelvis") + 1], fps, filter, cutoff_hz)
    v, a = speeds(rel, t, 1)
    return Kinematics(t, joint_angles(rel), v, a)


def features(k: Kinematics) -> dict[str, object]:
    """Per-recording summary: quantity of movement per limb, left/right symmetry, frequency content."""
    fps = float((len(k.t) - 1) / (k.t[-1] - k.t[0])) if len(k.t) > 1 and k.t[-1] > k.t[0] else float("nan")
    out: dict[str, object] = {"frames": len(k.t), "seconds": float(k.t[-1] - k.t[0]) if len(k.t) else 0.0,
                              "fps": fps, "limbs": {}, "symmetry_index_pct": {}, "range_of_motion_deg": {}}  # fmt: skip
    for limb, end in END_JOINTS.items():
        for s in SIDES:
            sp = k.speed[:, J(f"{s}_{end}")]
            out["limbs"][f"{s}_{limb}"] = {
                "mean_speed_mm_s": float(np.nanmean(sp)) if np.isfinite(sp).any() else float("nan"),
                "path_length_mm": float(np.nansum(sp[1:] * np.diff(k.t))),
                **(spectrum(sp, fps) if np.isfinite(fps) else {}),
            }
        lq = out["limbs"][f"l_{limb}"]["mean_speed_mm_s"]
        rq = out["limbs"][f"r_{limb}"]["mean_speed_mm_s"]
        out["symmetry_index_pct"][f"{limb}_mean_speed"] = symmetry_index(lq, rq)
    for name in ("hip_flexion_deg", "knee_flexion_deg", "elbow_flexion_deg", "shoulder_elevation_deg"):
        rom = {s: float(np.nanpercentile(k.angles[f"{s}_{name}"], 95) - np.nanpercentile(k.angles[f"{s}_{name}"], 5))
               if np.isfinite(k.angles[f"{s}_{name}"]).any() else float("nan") for s in SIDES}  # fmt: skip
        out["range_of_motion_deg"][name.removesuffix("_deg")] = rom
        out["symmetry_index_pct"][f"{name.removesuffix('_deg')}_range"] = symmetry_index(rom["l"], rom["r"])
    return out
