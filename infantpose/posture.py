"""Body orientation in the image: which way is up, and which side of the body the camera sees.

Shared by the runtime's 2D stage, training (crops turned by the ground truth) and the tests.
Coordinates are image pixels, x right, y down; angles are degrees counter-clockwise.
"""

from __future__ import annotations

import numpy as np

from infantpose.skeleton import MPII, JointSet

# What the 2D stage assumes about the side of the body facing the camera (params["view"]):
# "auto": the body's side is a vote over the track with a prior for the front (a supine infant under
#   the camera) that a clear majority of back views (a prone infant, 5+ frames in a row) overturns;
#   a photo has no track to vote: it keeps the network's own labels (PHOTO_VIEW);
# "front": the camera sees the infant's front, always (each pair put where a front view shows it);
# "any": the network's labels as they are.
VIEWS = ("auto", "front", "any")
# The view rule of a photo under "auto". Measured on 138 real infant photos (PCK@0.2 torso, the
# shipped BlazePose bundle, our detector): the front prior 63.2 % (prone 28.0, supine 81.6), limbs put
# on the side of the network's torso 73.2 % (prone 58.9, supine 80.1), the network's labels as they
# are 75.5 % (prone 63.3, supine 81.0); 9 supine NYCU photos 71.3 % either way.
PHOTO_VIEW = "any"
VOTE_PRIOR = 2.0  # pseudo-frames of front view every track starts with
# Back view once this share of (frames + prior) shows the back: 5 back frames in a row (0.17 s at
# 30 fps) turn a new track. Measured through the live pipeline (tracked crops, BlazePose, view "any"):
# the torso was in back-view order in 0 % of the frames of 17 supine v2 renders and of the 2,000
# synth-default validation / test frames, in 96-100 % of 11 prone v2 renders, and in 1 of 9 real supine
# photos (a newborn). A prior of 5 and a share of 0.8 (21 frames) left the first 20 frames of every
# prone track mirrored (130-190 mm there). Side-lying renders are ambiguous either way.
VOTE_BACK = 0.7
VOTE_WINDOW = 90  # frames a track's vote looks back over


def _torso(kp: np.ndarray, joints: JointSet) -> tuple[np.ndarray, np.ndarray]:
    """(..., 2) hips midpoint and (..., 2) hips-to-shoulders vector of (..., J, 2) px keypoints."""
    j = joints.index
    hips = (kp[..., j("l_hip"), :] + kp[..., j("r_hip"), :]) / 2
    shoulders = (kp[..., j("l_shoulder"), :] + kp[..., j("r_shoulder"), :]) / 2
    return hips, shoulders - hips


def upright_angle(kp2d: np.ndarray, joints: JointSet = MPII) -> np.ndarray:
    """(..., J, 2) px -> (...,) degrees counter-clockwise that turn hips-to-shoulders upright."""
    _, up = _torso(np.asarray(kp2d, np.float64), joints)
    return np.degrees(np.arctan2(up[..., 0], -up[..., 1]))


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
    return float(np.mean(torso_back_view(kp2d, joints))) if len(kp2d) else 0.0


def torso_back_view(kp2d: np.ndarray, joints: JointSet = MPII) -> np.ndarray:
    """(N,) bool: the (N, J, 2) px poses whose hips or shoulders are in back-view order."""
    kp = np.asarray(kp2d, np.float64)
    mended, _ = front_view(kp, np.ones(kp.shape[:2]), joints)
    torso = [joints.index(n) for n in ("l_hip", "r_hip", "l_shoulder", "r_shoulder")]
    return np.any(mended[:, torso] != kp[:, torso], axis=(1, 2))


def set_view(
    kp2d: np.ndarray, conf: np.ndarray, back: np.ndarray, joints: JointSet = MPII
) -> tuple[np.ndarray, np.ndarray]:
    """Every left/right pair in the order a front view (``back`` False) or a back view (True) shows it.

    (N, J, 2) px, (N, J) confidences and (N,) bool in; new arrays out.
    """
    kp, conf = front_view(kp2d, conf, joints)
    back = np.asarray(back, bool)
    perm = joints.flip_permutation()
    kp[back], conf[back] = kp[back][:, perm], conf[back][:, perm]
    return kp, conf


def limbs_follow_torso(kp2d: np.ndarray, conf: np.ndarray, joints: JointSet = MPII) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's limbs put on the side its torso (as the network labelled it) shows them."""
    return set_view(kp2d, conf, torso_back_view(kp2d, joints), joints)


def vote_back(flags: list[bool] | np.ndarray) -> bool:
    """Whether a track's recent torso views (True: back) outvote the prior for a front view."""
    n = len(flags)
    return bool(n and float(np.sum(flags)) / (n + VOTE_PRIOR) > VOTE_BACK)


def causal_votes(flags: np.ndarray, window: int = VOTE_WINDOW) -> np.ndarray:
    """(N,) bool: per frame of one recording, :func:`vote_back` over the frames up to it (as live)."""
    flags = np.asarray(flags, bool)
    return np.array([vote_back(flags[max(0, i + 1 - window) : i + 1]) for i in range(len(flags))], bool)


def vote_recording(kp2d: np.ndarray, conf: np.ndarray, joints: JointSet = MPII) -> tuple[np.ndarray, np.ndarray]:
    """Frame-by-frame 2D of one recording (view "auto"), each frame turned round where the track's
    causal vote (:func:`causal_votes`) outvotes its torso: what the live pipeline does, offline."""
    flags = torso_back_view(kp2d, joints)
    flip = causal_votes(flags) != flags
    kp, conf = np.array(kp2d, copy=True), np.array(conf, copy=True)
    if flip.any():
        kp[flip], conf[flip] = set_view(kp[flip], conf[flip], ~flags[flip], joints)
    return kp, conf
