"""Body orientation: the upright turn and the front-view prior (infantpose.posture)."""

import numpy as np
import pytest

from infantpose.posture import front_view, upright_angle
from infantpose.skeleton import MPII

# A front view, head up, in body units: x to the image's right (the body's left), y down.
FRONT = {
    "head_top": (0, -9), "upper_neck": (0, -6), "thorax": (0, -5), "pelvis": (0, 0),
    "l_shoulder": (3, -5), "r_shoulder": (-3, -5), "l_elbow": (5, -3), "r_elbow": (-5, -3),
    "l_wrist": (6, -1), "r_wrist": (-6, -1), "l_hip": (2, 0), "r_hip": (-2, 0),
    "l_knee": (3, 4), "r_knee": (-3, 4), "l_ankle": (3, 8), "r_ankle": (-3, 8),
}  # fmt: skip


def _body(turn_deg: float, scale: float = 20.0, at=(320.0, 240.0)) -> np.ndarray:
    """(1, 16, 2) px front-view body turned ``turn_deg`` degrees (image rotation, y down)."""
    a = np.radians(turn_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    pts = np.array([FRONT[name] for name in MPII.joints], float) * scale
    return (pts @ rot.T + np.asarray(at))[None]


@pytest.mark.parametrize("head_towards", [(0, -1), (1, 0), (0, 1), (-1, -1), (-3, 1)])
def test_upright_angle_turns_the_crop_so_the_head_is_up(head_towards):
    from infantpose.geometry import apply_affine, crop_affine

    d = np.asarray(head_towards, float) / np.hypot(*head_towards)
    kp = np.zeros((1, MPII.num_joints, 2)) + 300.0
    for name, off in (("l_hip", 20), ("r_hip", -20)):
        kp[0, MPII.index(name)] += off * np.array([d[1], -d[0]]) - 40 * d
    for name, off in (("l_shoulder", 25), ("r_shoulder", -25)):
        kp[0, MPII.index(name)] += off * np.array([d[1], -d[0]]) + 60 * d
    angle = float(upright_angle(kp)[0])
    m = crop_affine(np.array([300.0, 300.0]), np.array([2.0, 2.0]), angle, (256, 256))
    crop = apply_affine(kp[0], m)
    j = MPII.index
    up = (crop[j("l_shoulder")] + crop[j("r_shoulder")] - crop[j("l_hip")] - crop[j("r_hip")]) / 2
    assert up[1] < 0 and abs(up[0]) < 1e-6 * abs(up[1])  # shoulders straight above the hips in the crop


@pytest.mark.parametrize("turn", [0.0, 37.0, 90.0, 180.0, -123.0])
def test_front_view_keeps_a_front_view_and_mends_a_back_view(turn):
    kp = _body(turn)
    conf = np.tile(np.linspace(0.1, 0.9, MPII.num_joints), (1, 1))
    same, same_conf = front_view(kp, conf)
    np.testing.assert_array_equal(same, kp)
    np.testing.assert_array_equal(same_conf, conf)
    perm = MPII.flip_permutation()
    back, back_conf = kp[:, perm], conf[:, perm]  # every pair labelled as a back view
    mended, mended_conf = front_view(back, back_conf)
    np.testing.assert_allclose(mended, kp)
    np.testing.assert_allclose(mended_conf, conf)


def test_front_view_mends_one_pair_and_leaves_the_rest():
    kp = _body(20.0)
    j = MPII.index
    legs = kp.copy()
    legs[0, [j("l_knee"), j("r_knee")]] = legs[0, [j("r_knee"), j("l_knee")]]
    out, _ = front_view(legs, np.ones((1, MPII.num_joints)))
    np.testing.assert_allclose(out, kp)


def test_front_view_leaves_frames_without_a_torso():
    kp = np.full((2, MPII.num_joints, 2), np.nan)
    kp[1] = _body(0.0)[0]
    kp[1, MPII.index("l_hip")] = np.nan
    out, _ = front_view(kp, np.zeros((2, MPII.num_joints)))
    np.testing.assert_array_equal(np.isnan(out), np.isnan(kp))
    np.testing.assert_array_equal(out[1][~np.isnan(out[1])], kp[1][~np.isnan(kp[1])])


def test_back_view_share_counts_poses_seen_from_behind():
    from infantpose.posture import back_view_share

    front = np.concatenate([_body(a) for a in (0.0, 45.0, 200.0, -60.0)])
    back = front[:, MPII.flip_permutation()]
    assert back_view_share(front) == 0.0
    assert back_view_share(back) == 1.0
    assert back_view_share(np.concatenate([front, back[:1]])) == pytest.approx(0.2)


def test_auto_view_limbs_follow_the_torso_and_a_track_votes():
    from infantpose.posture import causal_votes, limbs_follow_torso, set_view, torso_back_view, vote_back

    front = _body(30.0)
    perm = MPII.flip_permutation()
    back = front[:, perm]  # a prone infant: every pair in back-view order
    legs_wrong = back.copy()
    j = MPII.index
    legs_wrong[0, [j("l_knee"), j("r_knee")]] = legs_wrong[0, [j("r_knee"), j("l_knee")]]
    mended, _ = limbs_follow_torso(legs_wrong, np.ones((1, MPII.num_joints)))
    np.testing.assert_allclose(mended, back)  # the torso says back: the knees follow it
    assert torso_back_view(np.concatenate([front, back])).tolist() == [False, True]
    turned, _ = set_view(front, np.ones((1, MPII.num_joints)), np.array([True]))
    np.testing.assert_allclose(turned, back)
    assert not vote_back([True])  # one frame never outvotes the front prior
    assert vote_back([True] * 5) and not vote_back([True] * 4) and not vote_back([True, True, False] * 10)
    votes = causal_votes(np.array([True] * 40))
    assert not votes[:4].any() and votes[4:].all()  # a prone recording turns to back after 5 frames (0.17 s)


def test_a_recording_is_voted_as_the_live_pipeline_votes():
    from infantpose.posture import torso_back_view, vote_recording

    front = np.concatenate([_body(float(a)) for a in range(0, 40)])  # 40 frames, turning slowly
    back = front[:, MPII.flip_permutation()]
    noisy = front.copy()
    noisy[[3, 9]] = back[[3, 9]]  # two frames where the network took the body for a back view
    kp, _ = vote_recording(noisy, np.ones(noisy.shape[:2]))
    np.testing.assert_allclose(kp, front)
    prone, _ = vote_recording(back, np.ones(back.shape[:2]))
    assert torso_back_view(prone)[-1]  # a prone recording stays a back view once the vote has turned


def test_a_track_turned_by_the_vote_relabels_the_lifter_s_window():
    """A prone infant: the first frames are shown as front views (the prior), then the vote turns the
    track and every frame in the lifter's window, the earlier ones too, is in back-view order."""

    from infantpose.posture import VOTE_PRIOR, torso_back_view

    back = _body(0.0)[:, MPII.flip_permutation()]  # the network's labels for a prone infant, every frame
    pipe, lifter, _ = _fixed_pose_pipeline(back, window=9)
    shown = [torso_back_view(pipe(np.zeros((480, 640, 3), np.uint8), t=i / 30).kp2d[None])[0] for i in range(8)]
    turn = int(np.argmax(shown))
    assert not any(shown[:turn]) and all(shown[turn:]) and 0 < turn <= 2 * VOTE_PRIOR + 1
    assert not torso_back_view(lifter.seen[turn - 1]).any()  # before the turn: the front prior's labels
    assert torso_back_view(lifter.seen[turn]).all()  # from the turn on, the whole window is relabelled


def test_a_photo_keeps_the_network_s_left_and_right():
    """A prone infant in a photo: no front prior mirrors it (the pose stage is asked for the network's
    own labels and no vote turns the result), while the same frame in a track starts as a front view."""

    from infantpose.posture import PHOTO_VIEW, torso_back_view

    back = _body(0.0)[:, MPII.flip_permutation()]
    pipe, _, asked = _fixed_pose_pipeline(back, window=1)
    frame = np.zeros((480, 640, 3), np.uint8)
    assert torso_back_view(pipe.still(frame).kp2d[None])[0] and asked == [PHOTO_VIEW]
    assert not torso_back_view(pipe(frame, t=0.0).kp2d[None])[0] and asked[-1] is None  # a track's first frame


def _fixed_pose_pipeline(kp: np.ndarray, window: int):
    """A Pipeline whose detector always finds one box and whose 2D stage always returns ``kp`` (1, J, 2)
    (view "auto"); returns it, its lifter (``seen``: the windows it was given) and the list of the
    ``view`` each 2D call was asked for."""
    from types import SimpleNamespace

    from infantpose.runtime.pipeline import Pipeline, SmoothingConfig
    from infantpose.stages.pose2d import PoseParams, PoseStage

    stage = PoseStage(None, PoseParams("simple_baseline", (64, 64), 1.25, (0, 0, 0), (1, 1, 1), view="auto"))
    asked: list = []

    class Detector:
        params = SimpleNamespace(score_threshold=0.1)

        def __call__(self, frames):
            return np.array([[200.0, 150.0, 440.0, 330.0]]), np.array([0.9])

    class Pose:
        params, pose_boxes = stage.params, stage.pose_boxes

        def __call__(self, frames, boxes, rotations=None, refine=True, view=None):
            asked.append(view)
            return kp.copy(), np.full((1, MPII.num_joints), 0.9)

    class Lifter:
        def __init__(self) -> None:
            self.window, self.seen = window, []

        def __call__(self, x):
            self.seen.append(x[0].copy())
            return np.zeros((1, MPII.num_joints, 3))

    lifter = Lifter()
    return Pipeline(Detector(), Pose(), lifter, smoothing=SmoothingConfig(enabled=False)), lifter, asked
