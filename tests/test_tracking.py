"""Torch-free runtime pieces: the tracker cannot collapse, stills vs recordings, scale-free lifter input."""

from dataclasses import replace
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from infantpose.errors import InfantposeError
from infantpose.preprocess import normalize_2d, root_scale_2d
from infantpose.runtime.result import FrameResult
from infantpose.runtime.sources import Source, numbered_frames
from infantpose.runtime.tracking import Tracker, TrackerConfig
from infantpose.skeleton import MPII

FRAME = (640, 480)


def _pose(scale=1.0, shift=(0.0, 0.0)):
    base = np.array([[200 + 12 * i, 150 + 9 * (i % 5)] for i in range(MPII.num_joints)], float)
    return base * scale + np.asarray(shift)


def test_tracker_detects_on_loss_and_frame_size_change():
    t = Tracker(TrackerConfig(detector_period=0))
    assert t.needs_detection()
    kp = _pose()
    box = np.array([150.0, 100.0, 450.0, 250.0])
    assert t.update(kp, np.full(16, 0.9), FRAME, box) and not t.needs_detection(FRAME)
    assert t.needs_detection((1280, 960))  # a new frame size: the old box means nothing there
    assert not t.update(kp, np.full(16, 0.05), FRAME, box) and t.needs_detection()


def test_unsure_extremities_do_not_shrink_the_box():
    t = Tracker(TrackerConfig(detector_period=0))
    conf = np.full(16, 0.9)
    conf[[MPII.index(n) for n in ("r_ankle", "l_ankle", "r_wrist", "l_wrist")]] = 0.05  # unsure hands, feet
    box = np.array([150.0, 100.0, 450.0, 250.0])
    kp = _pose()
    for _ in range(40):
        assert t.update(kp, conf, FRAME, box)
        box = t.box
    full = kp.max(0) - kp.min(0)
    assert (box[2:] - box[:2] >= full).all()  # every joint stays inside, however unsure


def test_box_size_changes_at_most_one_step_per_frame():
    t = Tracker(TrackerConfig(detector_period=0, max_scale_step=0.1))
    box = np.array([100.0, 100.0, 500.0, 400.0])
    tiny = _pose(scale=0.1, shift=(280, 230))  # keypoints suddenly collapse to a small cluster
    assert t.update(tiny, np.full(16, 0.9), FRAME, box)
    w, h = t.box[2:] - t.box[:2]
    assert w == pytest.approx(400 * 0.9) and h == pytest.approx(300 * 0.9)


def test_periodic_detection():
    t = Tracker(TrackerConfig(detector_period=3))
    box = np.array([150.0, 100.0, 450.0, 250.0])
    t.detected()
    for _ in range(2):
        t.update(_pose(), np.full(16, 0.9), FRAME, box)
        assert not t.needs_detection(FRAME)
    t.update(_pose(), np.full(16, 0.9), FRAME, box)
    assert t.needs_detection(FRAME)


def test_numbered_frames_heuristic():
    assert numbered_frames(["syn_00000.png", "syn_00001.png", "syn_00002.png"])
    assert numbered_frames(["0001.jpg", "0002.jpg"])
    assert not numbered_frames(["baby.jpg", "cot_morning.png"])
    assert not numbered_frames(["IMG_1.jpg"])  # one file is not a recording
    assert not numbered_frames(["a1.jpg", "b2.jpg"])


def test_folder_of_photos_is_stills_unless_forced(tmp_path):
    for name in ("kitchen.jpg", "cot.png", "park.jpg"):
        cv2.imwrite(str(tmp_path / name), np.zeros((8, 8, 3), np.uint8))
    src = Source(str(tmp_path))
    assert src.stills and not src.live
    src.close()
    src = Source(str(tmp_path), mode="video")
    assert not src.stills
    src.close()
    with pytest.raises(InfantposeError, match="unknown source mode"):
        Source(str(tmp_path), mode="photos")


def test_lifter_input_ignores_resolution_and_framing():
    kp = _pose()
    from infantpose.stages import lifter

    stats = {"mean_2d": [0.0] * 32, "std_2d": [1.0] * 32, "mean_3d": [0.0] * 48, "std_3d": [1.0] * 48}
    params = lifter.LifterParams.from_dict({"arch": "martinez", "input_norm": "root_scale", "root": MPII.root,
                                            **stats}, "test")  # fmt: skip
    a = lifter.preprocess(kp, params)
    for scale, shift in ((2.0, (0, 0)), (3.0, (0, 0)), (1.0, (80, 60))):
        assert np.abs(lifter.preprocess(_pose(scale, shift), params) - a).max() < 1e-5
    n = root_scale_2d(kp, MPII.root)
    assert np.allclose(n[MPII.root], 0) and np.sqrt((n**2).sum(-1).mean()) == pytest.approx(1.0)
    legacy = replace(params, input_norm="pixels")
    assert np.abs(lifter.preprocess(_pose(2.0), legacy) - lifter.preprocess(kp, legacy)).max() > 10
    with pytest.raises(ValueError, match="unknown lifter input normalisation"):
        normalize_2d(kp, np.zeros(32), np.ones(32), "metres")


def test_no_infant_result_serialises_as_nulls():
    r = FrameResult(3, "x.png", 0.1, None, 0.02, False, None, None, None, {"total": 1.0})
    rec = r.to_json()
    assert not r.found and rec["box"] is None and rec["kp2d"] is None and rec["kp3d"] is None
    assert rec["score"] == 0.02


def test_json_records_carry_no_float32_noise():
    import json

    kp2d = np.array([[123.456789, 2.5]], np.float32)
    r = FrameResult(0, None, 0.1, np.array([1, 2, 3, 4], np.float32), 0.9, False, kp2d,
                    np.array([0.969], np.float32), np.array([[1.23456, 2, 3]], np.float32))  # fmt: skip
    text = json.dumps(r.to_json())
    assert '"kp2d": [[123.46, 2.5]]' in text and '"conf": [0.969]' in text and '"kp3d": [[1.2, 2.0, 3.0]]' in text


def test_frames_are_validated():
    from infantpose.runtime.pipeline import check_frame

    check_frame(np.zeros((4, 4, 3), np.uint8))
    for bad, msg in ((None, "numpy array"), (np.zeros((4, 4), np.uint8), "shape"), (np.zeros((3, 4, 4), np.uint8),
                     "shape"), (np.zeros((0, 4, 3), np.uint8), "shape"), (np.zeros((4, 4, 3)), "uint8")):  # fmt: skip
        with pytest.raises(ValueError, match=msg):
            check_frame(bad)


def test_the_live_window_is_the_offline_window():
    """The pipeline's causal window (frame by frame) equals evaluation's and training's (whole sequence)."""
    from infantpose.runtime.pipeline import Pipeline, SmoothingConfig
    from infantpose.stages.lifter import causal_windows

    rng = np.random.default_rng(0)
    base = rng.uniform(200, 300, (MPII.num_joints, 2))
    poses = base + rng.normal(0, 2, (12, MPII.num_joints, 2))  # a body moving a little: tracked throughout
    seen = []

    class Detector:
        def __init__(self):
            self.params = SimpleNamespace(score_threshold=0.1)

        def __call__(self, frames):
            return np.array([[150.0, 150.0, 350.0, 350.0]]), np.array([0.9])

    class Pose:
        def __init__(self):
            self.params, self.calls = SimpleNamespace(upright=False, view="any"), 0

        def __call__(self, frames, boxes, rotations=None):
            kp = poses[self.calls][None]
            self.calls += 1
            return kp, np.full((1, MPII.num_joints), 0.9)

    class Lifter:
        window = 5

        def __call__(self, x):
            seen.append(x[0].copy())
            return np.zeros((1, MPII.num_joints, 3))

    pipe = Pipeline(Detector(), Pose(), Lifter(), smoothing=SmoothingConfig(enabled=False))
    frame = np.zeros((480, 640, 3), np.uint8)
    for i in range(len(poses)):
        pipe(frame, t=i / 30)
    np.testing.assert_array_equal(np.stack(seen), causal_windows(poses, 5))
