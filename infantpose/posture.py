"""Body orientation in the image: which way is up, and which side of the body the camera sees.

Shared by the runtime's 2D stage, training (crops turned by the ground truth) and the tests.
Coordinates are image pixels, x right, y down; angles are degrees counter-clockwise.
"""

from __future__ import annotations

import numpy as np

from infantpose.skeleton import MPII, JointSet

# What the 2D stage assumes about the side of the body facing the camera (params["view"]):
# "front": the camera sees the infant's front (supine under a camera, sitting facing it), so each
# left/right pair is put on the side a front view shows it; "any": the network's labels as they are.
VIEWS = ("front", "any")


def _torso(kp: np.ndarray, joints: JointSet) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) hips midpoint and (N, 2) hips-to-shoulders vector of (N, J, 2) px keypoints."""
    j = joints.index
    hips = (kp[:, j("l_hip")] + kp[:, j("r_hip")]) / 2
    shoulders = (kp[:, j("l_shoulder")] + kp[:, j("r_shoulder")]) / 2
    return hips, shoulders - hips


def upright_angle(kp2d: np.ndarray, joints: JointSet = MPII) -> np.ndarray:
    """(N, J, 2) px -> (N,) degrees counter-clockwise that turn hips-to-shoulders upright."""
    _, up = _torso(np.asarray(kp2d, np.float64), joints)
    return np.degrees(np.arctan2(up[:, 0], -up[:, 1]))


def front_view(kp2d: np.ndarray, conf: np.ndarray, joints: JointSet = MPII) -> tuple[np.ndarray, np.ndarray]:
    """Swap each left/right pair that a front view would show the other way round.

    In a front view with the head up, the body's left side is on the image's right. The side
    axis is perpendicular to the predicted hips-to-shoulders axis, so the rule holds at any
    in-plane rotation. Networks trained on upright adults often take a supine infant's legs
    (seen from above, face-less renders above all) for a back view; this prior undoes that.
    (N, J, 2) px and (N, J) confidences in, the same shapes out (new arrays); frames whose
    torso is not finite are left as they are.
    """
    kp = np.array(kp2d, np.float64, copy=True)
    conf = np.array(conf, copy=True)
    _, up = _torso(kp, joints)
    side = np.stack([-up[:, 1], up[:, 0]], axis=1)  # the body's left in a front view
    for left, right in joints.flip_pairs:
        along = np.einsum("nd,nd->n", kp[:, left] - kp[:, right], side)
        swap = along < 0  # NaN compares False: left as it is
        kp[swap, left], kp[swap, right] = kp[swap, right], kp[swap, left]  # fancy indexing copies
        conf[swap, left], conf[swap, right] = conf[swap, right], conf[swap, left]
    return kp.astype(np.asarray(kp2d).dtype, copy=False), conf


def back_view_share(kp2d: np.ndarray, joints: JointSet = MPII) -> float:
    """Fraction of (N, J, 2) px poses whose hips or shoulders a front view would swap (seen from behind)."""
    kp = np.asarray(kp2d, np.float64)
    mended, _ = front_view(kp, np.ones(kp.shape[:2]), joints)
    torso = [joints.index(n) for n in ("l_hip", "r_hip", "l_shoulder", "r_shoulder")]
    return float(np.mean(np.any(mended[:, torso] != kp[:, torso], axis=(1, 2)))) if len(kp) else 0.0
