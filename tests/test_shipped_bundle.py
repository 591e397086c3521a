"""The shipped default bundle's behaviour on input without an infant (torch-free, runtime install)."""

import cv2
import numpy as np
import pytest

from infantpose.runtime.pipeline import DEFAULT_BUNDLE, Pipeline
from infantpose.train.realism import procedural_texture

pytestmark = pytest.mark.skipif(not (DEFAULT_BUNDLE / "manifest.json").is_file(), reason="no shipped bundle")


@pytest.fixture(scope="module")
def pipe():
    return Pipeline.from_bundle(device="cpu", threads=1)


def _demo_frame() -> np.ndarray:
    cap = cv2.VideoCapture(str(DEFAULT_BUNDLE.parent / "demo.mp4"))
    ok, frame = cap.read()
    cap.release()
    assert ok
    return frame


def test_an_infant_is_found_in_the_demo_clip(pipe):
    r = pipe.still(_demo_frame())
    assert r.found and r.score >= pipe.min_score and r.kp3d.shape == (16, 3)


@pytest.mark.parametrize("kind", ["blank", "noise", "empty_bedding"])
def test_no_infant_in_frames_without_one(pipe, kind):
    rng = np.random.default_rng(0)
    frame = {
        "blank": np.full((480, 640, 3), 128, np.uint8),
        "noise": rng.integers(0, 256, (480, 640, 3), dtype=np.uint8),
        "empty_bedding": procedural_texture(rng, (640, 480)),
    }[kind]
    assert pipe.min_score > 0, "the shipped bundle must carry a detector score threshold"
    r = pipe.still(frame)
    assert not r.found and r.box is None and r.kp3d is None, f"score {r.score:.3f}"
    # The state is clean afterwards: the next real frame is detected afresh.
    assert pipe(_demo_frame()).found


@pytest.mark.parametrize("turn", [cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180])
def test_a_turned_camera_gives_the_same_2d_pose(pipe, turn):
    # The 2D network wants upright bodies: the runtime finds the body's direction and turns the crop.
    frame = _demo_frame()
    h, w = frame.shape[:2]
    base = pipe.still(frame)
    turned = pipe.still(cv2.rotate(frame, turn))
    assert base.found and turned.found
    x, y = turned.kp2d[:, 0], turned.kp2d[:, 1]
    back = np.stack([y, h - 1 - x], 1) if turn == cv2.ROTATE_90_CLOCKWISE else np.stack([w - 1 - x, h - 1 - y], 1)
    size = np.hypot(*(base.kp2d.max(0) - base.kp2d.min(0)))
    err = np.linalg.norm(back - base.kp2d, axis=1)
    assert np.median(err) < 0.05 * size, (np.median(err), size)


@pytest.mark.parametrize("precision,fmt", [("fp64", "onnx"), ("fp16", "tensorrt")])
def test_a_precision_the_bundle_lacks_is_refused_not_run_as_fp32(precision, fmt):
    from infantpose.errors import BundleError

    with pytest.raises(BundleError, match=f"no {precision} {fmt} model"):
        Pipeline.from_bundle(precision=precision, fmt=fmt)
