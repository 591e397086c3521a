"""Torch-free runtime pieces: the tracker cannot collapse, stills vs recordings, scale-free lifter input."""

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from infantpose.errors import InfantposeError
from infantpose.geometry import turned_box_from_points
from infantpose.preprocess import normalize_2d, root_scale_2d
from infantpose.runtime.result import FrameResult
from infantpose.runtime.runner import RunSummary
from infantpose.runtime.sources import Source, frame_order, numbered_frames
from infantpose.runtime.tracking import Tracker, TrackerConfig
from infantpose.skeleton import MPII

FRAME = (640, 480)


def _pose(scale=1.0, shift=(0.0, 0.0)):
    base = np.array([[200 + 12 * i, 150 + 9 * (i % 5)] for i in range(MPII.num_joints)], float)
    return base * scale + np.asarray(shift)


def _next(kp, grow=1.3):
    """The box the 2D stage builds from a pose for the next frame (axis-aligned network)."""
    return turned_box_from_points(kp, 0.0, grow)


def test_tracker_detects_on_loss_and_frame_size_change():
    t = Tracker(TrackerConfig(detector_period=0))
    assert t.needs_detection()
    kp = _pose()
    box = np.array([150.0, 100.0, 450.0, 250.0])
    assert t.update(_next(kp), np.full(16, 0.9), FRAME, box) and not t.needs_detection(FRAME)
    assert t.needs_detection((1280, 960))  # a new frame size: the old box means nothing there
    assert not t.update(_next(kp), np.full(16, 0.05), FRAME, box) and t.needs_detection()


def _pose_stage(**params):
    from infantpose.stages.pose2d import PoseParams, PoseStage

    p = PoseParams(arch="simple_baseline", input_size=(64, 64), padding=1.25, mean=(0, 0, 0), std=(1, 1, 1), **params)
    return PoseStage(None, p)


def test_unsure_extremities_do_not_shrink_the_box():
    t = Tracker(TrackerConfig(detector_period=0))
    stage = _pose_stage()
    conf = np.full(16, 0.9)
    conf[[MPII.index(n) for n in ("r_ankle", "l_ankle", "r_wrist", "l_wrist")]] = 0.05  # unsure hands, feet
    box = np.array([150.0, 100.0, 450.0, 250.0])
    kp = _pose()
    for _ in range(40):
        assert t.update(stage.pose_boxes(kp[None], np.zeros(1))[0], conf, FRAME, box)
        box = t.box
    full = kp.max(0) - kp.min(0)
    assert (box[2:] - box[:2] >= full).all()  # every joint stays inside, however unsure


def test_a_turned_body_gets_the_same_box_along_its_axis():
    """An upright network's box is measured along the body: a diagonal infant is not cropped smaller."""
    stage = _pose_stage(upright=True, keypoint_box=1.1)
    kp = _pose()
    kp = kp - kp.mean(0)
    for name, at in (("l_shoulder", [20, -60]), ("r_shoulder", [-20, -60]), ("l_hip", [15, 40]), ("r_hip", [-15, 40])):
        kp[MPII.index(name)] = at  # hips-to-shoulders points up the image
    upright = stage.pose_boxes(kp[None] + 300, stage.pose_rotations(kp[None] + 300))[0]
    t = np.deg2rad(45)
    spin = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    turned = kp @ spin.T + 300
    rot = stage.pose_rotations(turned[None])
    assert abs(abs(rot[0]) - 45) < 1e-9  # a multiple of ROT_STEP that turns it back upright
    box = stage.pose_boxes(turned[None], rot)[0]
    np.testing.assert_allclose(box[2:] - box[:2], upright[2:] - upright[:2], atol=1e-6)
    centre = ((upright[:2] + upright[2:]) / 2 - 300) @ spin.T + 300  # the upright box's centre, turned with it
    np.testing.assert_allclose((box[:2] + box[2:]) / 2, centre, atol=1e-6)
    size = kp.max(0) - kp.min(0)
    np.testing.assert_allclose(upright[2:] - upright[:2], 1.1 * size, atol=1e-6)


def test_box_size_changes_at_most_one_step_per_frame():
    t = Tracker(TrackerConfig(detector_period=0, max_scale_step=0.1))
    box = np.array([100.0, 100.0, 500.0, 400.0])
    tiny = _pose(scale=0.1, shift=(280, 230))  # keypoints suddenly collapse to a small cluster
    assert t.update(_next(tiny), np.full(16, 0.9), FRAME, box)
    w, h = t.box[2:] - t.box[:2]
    assert w == pytest.approx(400 * 0.9) and h == pytest.approx(300 * 0.9)


def test_periodic_detection():
    t = Tracker(TrackerConfig(detector_period=3))
    box = np.array([150.0, 100.0, 450.0, 250.0])
    t.detected()
    for _ in range(2):
        t.update(_next(_pose()), np.full(16, 0.9), FRAME, box)
        assert not t.needs_detection(FRAME)
    t.update(_next(_pose()), np.full(16, 0.9), FRAME, box)
    assert t.needs_detection(FRAME)


def test_numbered_frames_heuristic():
    assert numbered_frames(["syn_00000.png", "syn_00001.png", "syn_00002.png"])
    assert numbered_frames(["0001.jpg", "0002.jpg"])
    assert not numbered_frames(["baby.jpg", "cot_morning.png"])
    assert not numbered_frames(["IMG_1.jpg"])  # one file is not a recording
    assert not numbered_frames(["a1.jpg", "b2.jpg"])
    assert numbered_frames(["frame_0005.png", "frame_0000.png", "frame_0010.png"])  # every 5th frame
    assert numbered_frames(["clip2_f1.png", "clip2_f2.png", "clip2_f3.png"])  # a constant number beside
    # Numbered photos that are not one recording: a camera's gaps, another infant's prefix.
    assert not numbered_frames(["IMG_0412.jpg", "IMG_0415.jpg", "IMG_0431.jpg"])
    assert not numbered_frames(["000_00000375.jpg", "000_00000525.jpg", "085_00000125.jpg", "096_00000200.jpg"])


def test_frames_numbered_without_zero_padding_play_in_order(tmp_path):
    names = [f"frame_{i}.png" for i in (10, 2, 1, 12, 11, 3, 9, 4, 8, 5, 7, 6)]
    in_order = [f"frame_{i}.png" for i in range(1, 13)]
    assert [p.name for p in sorted(map(Path, names), key=frame_order)] == in_order
    for i, name in enumerate(names):
        cv2.imwrite(str(tmp_path / name), np.full((8, 8, 3), i, np.uint8))
    with Source(str(tmp_path)) as src:
        assert not src.stills
        seen = [f.name for f in src.frames()]
    assert seen == in_order  # not frame_1, frame_10, frame_11, frame_12, frame_2, ...


def test_a_minirgbd_dataset_root_names_its_recordings(tmp_path):
    for seq in ("01", "02"):
        (tmp_path / seq / "rgb").mkdir(parents=True)
    with pytest.raises(InfantposeError, match=r"MINI-RGBD dataset of 2 recordings \(01, 02\); run one of them"):
        Source(str(tmp_path))


def test_folder_of_photos_is_stills_unless_forced(tmp_path):
    for name in ("kitchen.jpg", "cot.png", "park.jpg"):
        cv2.imwrite(str(tmp_path / name), np.zeros((8, 8, 3), np.uint8))
    src = Source(str(tmp_path))
    assert src.stills and not src.live and src.image_folder
    src.close()
    src = Source(str(tmp_path), mode="video")
    assert not src.stills
    src.close()
    # The run's summary says which way a folder was read and how to read it the other way.
    assert "unrelated photos, each on its own (--mode video" in RunSummary(folder_mode="stills").text()
    assert "one recording, tracked (--mode stills" in RunSummary(folder_mode="video").text()
    assert "recording" not in RunSummary().text()
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

    stage = _pose_stage()

    class Pose:
        def __init__(self):
            self.params, self.calls, self.boxes = stage.params, 0, []
            self.pose_boxes = stage.pose_boxes

        def __call__(self, frames, boxes, rotations=None, refine=True, view=None):
            kp = poses[self.calls][None]
            self.calls += 1
            self.boxes.append(np.asarray(boxes[0], float))
            return kp, np.full((1, MPII.num_joints), 0.9)

    class Lifter:
        window = 5

        def __call__(self, x):
            seen.append(x[0].copy())
            return np.zeros((1, MPII.num_joints, 3))

    pose = Pose()
    pipe = Pipeline(Detector(), pose, Lifter(), smoothing=SmoothingConfig(enabled=False))
    frame = np.zeros((480, 640, 3), np.uint8)
    for i in range(len(poses)):
        pipe(frame, t=i / 30)
    np.testing.assert_array_equal(np.stack(seen), causal_windows(poses, 5))
    # each tracked frame is cropped around the box the 2D stage built from the frame before
    for i in range(1, len(poses)):
        want = stage.pose_boxes(poses[i - 1][None], np.zeros(1))[0]
        got = pose.boxes[i]  # same centre; the size may lag by the per-frame scale limit
        np.testing.assert_allclose((got[:2] + got[2:]) / 2, (want[:2] + want[2:]) / 2, atol=1e-6)


def test_a_periodic_detection_confirms_a_track_that_agrees_with_it():
    t = Tracker(TrackerConfig(detector_period=3))
    assert not t.confirms(np.array([0.0, 0.0, 640.0, 480.0]), FRAME)  # no track yet
    kp = _pose()
    t.update(_next(kp), np.full(16, 0.9), FRAME, np.array([150.0, 100.0, 450.0, 250.0]))
    side = float(np.max(t.box[2:] - t.box[:2]))
    centre = (t.box[:2] + t.box[2:]) / 2
    around = np.r_[centre - side, centre + side]  # a detection twice the tracked box, same centre
    assert t.confirms(around, FRAME)
    assert not t.confirms(around + np.array([300.0, 0.0, 300.0, 0.0]), FRAME)  # the detection is elsewhere
    huge = np.r_[centre - 5 * side, centre + 5 * side]
    assert not t.confirms(huge, FRAME)  # the track shrank to a tenth of the infant the detector sees
    tight = np.r_[centre - side / 4, centre + side / 4]
    assert not t.confirms(tight, FRAME)  # the track grew past the detection
    assert not t.confirms(around, (1280, 960))  # another frame size: the track's box means nothing there
    off = Tracker(TrackerConfig(confirm_size=None))
    off.update(_next(kp), np.full(16, 0.9), FRAME, np.array([150.0, 100.0, 450.0, 250.0]))
    assert not off.confirms(around, FRAME)  # confirmation switched off: every detection restarts the crop


def test_a_confirmed_detection_keeps_the_track_s_crop_and_a_stray_one_restarts_it():
    """Periodic detection: the pipeline keeps the tracked box (one pass, no refinement) when the
    detection agrees, and crops from the detector's box with refinement when it does not."""
    from infantpose.runtime.pipeline import Pipeline, SmoothingConfig

    kp = _pose()
    stage = _pose_stage()
    tracked_box = stage.pose_boxes(kp[None], np.zeros(1))[0]
    c, side = (tracked_box[:2] + tracked_box[2:]) / 2, float(np.max(tracked_box[2:] - tracked_box[:2]))
    detections = [np.r_[c - side, c + side], np.r_[c - side, c + side], np.array([0.0, 0.0, 60.0, 60.0])]

    class Detector:
        params = SimpleNamespace(score_threshold=0.1)

        def __call__(self, frames):
            return detections.pop(0)[None], np.array([0.9])

    class Pose:
        def __init__(self):
            self.params, self.pose_boxes, self.calls = stage.params, stage.pose_boxes, []

        def __call__(self, frames, boxes, rotations=None, refine=True, view=None):
            self.calls.append((np.asarray(boxes[0], float), refine))
            return kp[None], np.full((1, MPII.num_joints), 0.9)

    class Lifter:
        window = 1

        def __call__(self, x):
            return np.zeros((1, MPII.num_joints, 3))

    pose = Pose()
    pipe = Pipeline(Detector(), pose, Lifter(), tracker=TrackerConfig(detector_period=2),
                    smoothing=SmoothingConfig(enabled=False))  # fmt: skip
    frame = np.zeros((480, 640, 3), np.uint8)
    results, held = [], []
    for i in range(5):
        held.append(None if pipe.tracker.box is None else pipe.tracker.box.copy())
        results.append(pipe(frame, t=i / 30))
    assert [r.detected for r in results] == [True, False, True, False, True]
    assert [r.tracked for r in results] == [False, True, True, True, False]
    assert pose.calls[0][1] and not pose.calls[2][1]  # the confirmed detection: no refinement
    np.testing.assert_allclose(pose.calls[2][0], held[2])  # ... and the box the track held
    np.testing.assert_allclose(pose.calls[4][0], [0.0, 0.0, 60.0, 60.0])  # the stray one restarts the crop
    assert pose.calls[4][1]
