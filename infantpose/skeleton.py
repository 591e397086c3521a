"""Joint sets, mappings between them, bones, flip pairs and drawing colours.

This module is the project's single vocabulary for joints: no other module
hard-codes a joint index. Joint sets are referred to by name ("minirgbd",
"mpii", "mpi_inf_3dhp"); "left" always means the subject's left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Colours are BGR (OpenCV order).
COLOUR_LEFT: tuple[int, int, int] = (255, 160, 40)  # blue-ish
COLOUR_RIGHT: tuple[int, int, int] = (40, 120, 255)  # orange
COLOUR_CENTRE: tuple[int, int, int] = (60, 220, 60)  # green


@dataclass(frozen=True)
class JointSet:
    """A named, ordered set of joints with its bones and symmetry.

    Attributes:
        name: short identifier used in manifests and on the command line.
        joints: joint names in index order.
        bones: (parent, child) index pairs for drawing and bone-length checks.
        root: index of the root joint (the pelvis) for root-relative 3D.
        head_segment: (a, b) index pair whose length is the PCKh unit.
        flip_pairs: (left, right) index pairs swapped by a horizontal flip.
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    root: int
    head_segment: tuple[int, int]
    flip_pairs: tuple[tuple[int, int], ...] = field(default=())

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        """Index of the joint called ``joint``; KeyError names the set if absent."""
        try:
            return self.joints.index(joint)
        except ValueError:
            raise KeyError(f"joint {joint!r} is not in joint set {self.name!r}") from None

    def flip_permutation(self) -> np.ndarray:
        """(J,) index array that swaps left and right joints."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def side(self, joint: int) -> str:
        """'left', 'right' or 'centre' for a joint index, from its name."""
        name = self.joints[joint]
        if name.startswith(("l_", "left")):
            return "left"
        if name.startswith(("r_", "right")):
            return "right"
        return "centre"

    def joint_colours(self) -> list[tuple[int, int, int]]:
        """BGR colour per joint (left / right / centre)."""
        table = {"left": COLOUR_LEFT, "right": COLOUR_RIGHT, "centre": COLOUR_CENTRE}
        return [table[self.side(j)] for j in range(self.num_joints)]

    def bone_colours(self) -> list[tuple[int, int, int]]:
        """BGR colour per bone, taken from the bone's child joint."""
        colours = self.joint_colours()
        return [colours[child] for _, child in self.bones]


def _pairs(joints: tuple[str, ...], names: list[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    return tuple((joints.index(a), joints.index(b)) for a, b in names)


def _lr_pairs(joints: tuple[str, ...], left: str, right: str) -> tuple[tuple[int, int], ...]:
    """Pairs (left, right) of joints whose names differ only by a side prefix."""
    out = []
    for i, name in enumerate(joints):
        if name.startswith(left):
            out.append((i, joints.index(right + name[len(left) :])))
    return tuple(out)


def flip_permutation_of(names: tuple[str, ...]) -> np.ndarray:
    """(C,) index array that swaps left and right in a list of point names ("left_x" / "right_x" as
    COCO and BlazePose name them, or "l_x" / "r_x" as MPII does); unpaired names stay."""
    perm = np.arange(len(names))
    for left, right in ("left_", "right_"), ("l_", "r_"):
        for a, b in _lr_pairs(names, left, right):
            perm[a], perm[b] = b, a
    return perm


# --- MINI-RGBD: the 25 SMIL joints, in the dataset's id order ---------------
_MINI = (
    "pelvis", "leftThigh", "rightThigh", "spine", "leftCalf", "rightCalf", "spine1",
    "leftFoot", "rightFoot", "spine2", "leftToes", "rightToes", "neck", "leftShoulder",
    "rightShoulder", "head", "leftUpperArm", "rightUpperArm", "leftForeArm",
    "rightForeArm", "leftHand", "rightHand", "leftFingers", "rightFingers", "noseVertex",
)  # fmt: skip
MINI_RGBD = JointSet(
    name="minirgbd",
    joints=_MINI,
    bones=_pairs(_MINI, [
        ("pelvis", "leftThigh"), ("leftThigh", "leftCalf"), ("leftCalf", "leftFoot"),
        ("leftFoot", "leftToes"), ("pelvis", "rightThigh"), ("rightThigh", "rightCalf"),
        ("rightCalf", "rightFoot"), ("rightFoot", "rightToes"), ("pelvis", "spine"),
        ("spine", "spine1"), ("spine1", "spine2"), ("spine2", "neck"), ("neck", "head"),
        ("head", "noseVertex"), ("spine2", "leftShoulder"), ("leftShoulder", "leftUpperArm"),
        ("leftUpperArm", "leftForeArm"), ("leftForeArm", "leftHand"),
        ("leftHand", "leftFingers"), ("spine2", "rightShoulder"),
        ("rightShoulder", "rightUpperArm"), ("rightUpperArm", "rightForeArm"),
        ("rightForeArm", "rightHand"), ("rightHand", "rightFingers"),
    ]),
    root=_MINI.index("pelvis"),
    head_segment=(_MINI.index("neck"), _MINI.index("head")),
    flip_pairs=_lr_pairs(_MINI, "left", "right"),
)  # fmt: skip

# --- MPII: the 16 joints every stage of the chain predicts ------------------
_MPII = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder",
    "l_elbow", "l_wrist",
)  # fmt: skip
MPII = JointSet(
    name="mpii",
    joints=_MPII,
    bones=_pairs(_MPII, [
        ("r_ankle", "r_knee"), ("r_knee", "r_hip"), ("r_hip", "pelvis"), ("l_hip", "l_knee"),
        ("l_knee", "l_ankle"), ("l_hip", "pelvis"), ("pelvis", "thorax"),
        ("thorax", "upper_neck"), ("upper_neck", "head_top"), ("upper_neck", "r_shoulder"),
        ("r_shoulder", "r_elbow"), ("r_elbow", "r_wrist"), ("upper_neck", "l_shoulder"),
        ("l_shoulder", "l_elbow"), ("l_elbow", "l_wrist"),
    ]),
    root=_MPII.index("pelvis"),
    head_segment=(_MPII.index("upper_neck"), _MPII.index("head_top")),
    flip_pairs=_lr_pairs(_MPII, "l_", "r_"),
)  # fmt: skip

# --- MPI-INF-3DHP: the 28 joints of annot.mat (0-based) ---------------------
_3DHP = (
    "spine3", "spine4", "spine2", "spine", "pelvis", "neck", "head", "head_top",
    "left_clavicle", "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_clavicle", "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot", "left_toe",
    "right_hip", "right_knee", "right_ankle", "right_foot", "right_toe",
)  # fmt: skip
MPI_INF_3DHP = JointSet(
    name="mpi_inf_3dhp",
    joints=_3DHP,
    bones=_pairs(_3DHP, [
        ("pelvis", "spine"), ("spine", "spine2"), ("spine2", "spine3"), ("spine3", "spine4"),
        ("spine4", "neck"), ("neck", "head"), ("head", "head_top"),
        ("spine4", "left_clavicle"), ("left_clavicle", "left_shoulder"),
        ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
        ("left_wrist", "left_hand"), ("spine4", "right_clavicle"),
        ("right_clavicle", "right_shoulder"), ("right_shoulder", "right_elbow"),
        ("right_elbow", "right_wrist"), ("right_wrist", "right_hand"),
        ("pelvis", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
        ("left_ankle", "left_foot"), ("left_foot", "left_toe"), ("pelvis", "right_hip"),
        ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
        ("right_ankle", "right_foot"), ("right_foot", "right_toe"),
    ]),
    root=_3DHP.index("pelvis"),
    head_segment=(_3DHP.index("neck"), _3DHP.index("head_top")),
    flip_pairs=_lr_pairs(_3DHP, "left_", "right_"),
)  # fmt: skip

JOINT_SETS: dict[str, JointSet] = {js.name: js for js in (MINI_RGBD, MPII, MPI_INF_3DHP)}

# Source index for each MPII joint, in MPII order (SEED.md). MINI-RGBD's
# head_top is the nose vertex and its thorax is spine2, as in the original.
_TO_MPII: dict[str, tuple[int, ...]] = {
    "minirgbd": (8, 5, 2, 1, 4, 7, 0, 9, 12, 24, 21, 19, 17, 16, 18, 20),
    "mpi_inf_3dhp": (25, 24, 23, 18, 19, 20, 4, 1, 5, 6, 16, 15, 14, 9, 10, 11),
    "mpii": tuple(range(16)),
}


def get_joint_set(name: str) -> JointSet:
    """The joint set called ``name``; KeyError lists the known names."""
    try:
        return JOINT_SETS[name]
    except KeyError:
        raise KeyError(f"unknown joint set {name!r}; known: {', '.join(JOINT_SETS)}") from None


def mapping(src: str, dst: str = "mpii") -> np.ndarray:
    """(J_dst,) source indices that turn ``src`` joints into ``dst`` joints."""
    if dst != "mpii":
        raise KeyError(f"only mappings to 'mpii' are defined, not to {dst!r}")
    if src not in _TO_MPII:
        raise KeyError(f"no mapping from joint set {src!r} to 'mpii'")
    return np.asarray(_TO_MPII[src], dtype=np.int64)


def map_joints(joints: np.ndarray, src: str, dst: str = "mpii") -> np.ndarray:
    """Reorder joints from set ``src`` to set ``dst`` along axis -2.

    Works for any (..., J_src, D) array (2D px, 3D mm, or (..., J_src, 1) flags)
    and for (..., J_src) visibility arrays when passed with a trailing axis.
    """
    idx = mapping(src, dst)
    if joints.shape[-2] != get_joint_set(src).num_joints:
        raise ValueError(f"expected {get_joint_set(src).num_joints} {src} joints on axis -2, got shape {joints.shape}")
    return joints[..., idx, :]


def map_flags(flags: np.ndarray, src: str, dst: str = "mpii") -> np.ndarray:
    """Reorder per-joint flags/scores (..., J_src) from ``src`` to ``dst``."""
    return map_joints(flags[..., None], src, dst)[..., 0]


# --- Body regions by joint name (MPII), for garments and occluders ----------
# Each chain is drawn as a thick polyline over the body; the torso is a polygon.
LIMB_CHAINS: dict[str, tuple[str, ...]] = {
    "r_leg": ("r_hip", "r_knee", "r_ankle"),
    "l_leg": ("l_hip", "l_knee", "l_ankle"),
    "r_arm": ("r_shoulder", "r_elbow", "r_wrist"),
    "l_arm": ("l_shoulder", "l_elbow", "l_wrist"),
}
TORSO_POLYGON: tuple[str, ...] = ("r_shoulder", "l_shoulder", "l_hip", "r_hip")
HANDS_FEET: tuple[str, ...] = ("r_wrist", "l_wrist", "r_ankle", "l_ankle")
FACE_JOINTS: tuple[str, ...] = ("upper_neck", "head_top")

# --- BlazePose (MediaPipe Pose) landmarks: the heatmap channels of the pretrained 2D network ---
# Index order of the model's 33 landmarks (MediaPipe's documentation).
BLAZEPOSE_LANDMARKS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)  # fmt: skip
# MPII joints that are a BlazePose landmark. head_top is the nose because the synthetic
# ground truth's head_top is SMIL's nose vertex (see _TO_MPII above).
BLAZEPOSE_TO_MPII: dict[str, str] = {
    "r_ankle": "right_ankle", "r_knee": "right_knee", "r_hip": "right_hip", "l_hip": "left_hip",
    "l_knee": "left_knee", "l_ankle": "left_ankle", "head_top": "nose", "r_wrist": "right_wrist",
    "r_elbow": "right_elbow", "r_shoulder": "right_shoulder", "l_shoulder": "left_shoulder",
    "l_elbow": "left_elbow", "l_wrist": "left_wrist",
}  # fmt: skip
# Landmarks kept as heatmap channels: the direct ones plus the face points that place the
# MPII joints BlazePose lacks (pelvis, thorax, upper_neck), which are regressed from them.
BLAZEPOSE_CHANNELS: tuple[str, ...] = (
    *BLAZEPOSE_TO_MPII.values(),
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
)
# Starting point of the fitted regressor for the MPII joints without a landmark.
BLAZEPOSE_DERIVED_PRIOR: dict[str, dict[str, float]] = {
    "pelvis": {"left_hip": 0.5, "right_hip": 0.5},
    "thorax": {"left_shoulder": 0.5, "right_shoulder": 0.5},
    "upper_neck": {"left_shoulder": 0.3, "right_shoulder": 0.3, "mouth_left": 0.2, "mouth_right": 0.2},
}

# --- MoveNet (COCO 17 keypoints): the heatmap channels of the MoveNet 2D networks ---
# COCO's keypoint order, named as BlazePose names the same points, so that one regressor prior
# (BLAZEPOSE_DERIVED_PRIOR) and one MPII mapping (BLAZEPOSE_TO_MPII) serve both networks.
COCO_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
