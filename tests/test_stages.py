"""The stage registry and its typed params (torch-free: runs on the runtime-only install)."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from infantpose.errors import InfantposeError
from infantpose.runtime.bundle import load_bundle
from infantpose.runtime.pipeline import DEFAULT_BUNDLE
from infantpose.stages import STAGES, ParamsError, make_stage, parse_params, stage_def

_LIFTER = {"arch": "temporal", "window": 27, "input_norm": "root_scale", "root": 6, "mean_2d": [0.0] * 32,
           "std_2d": [1.0] * 32, "mean_3d": [0.0] * 48, "std_3d": [1.0] * 48}  # fmt: skip


def test_params_round_trip_through_their_dict():
    bundle = load_bundle(DEFAULT_BUNDLE)
    for name in STAGES:
        p = bundle.stage(name).params
        assert isinstance(p, STAGES[name].params)
        assert parse_params(name, p.to_dict(), "again") == p  # the dict is the whole contract
        with pytest.raises(AttributeError):  # frozen: no stage can change another's params
            p.arch = "x"


@pytest.mark.parametrize(
    "change,words",
    [
        ({"window": "27"}, "'window' must be a positive integer"),
        ({"root": 16}, "'root' must be a joint index 0-15"),
        ({"std_2d": [1.0] * 30}, "'std_2d' must be as long as mean_2d"),
        ({"units": "cm"}, "'units' must be one of"),
        ({"arch": "lstm"}, "'arch' must be one of"),
        ({"extra": 1}, "unknown key"),
    ],
)
def test_bad_lifter_params_name_the_key(change, words):
    with pytest.raises(ParamsError, match=words):
        parse_params("lifter", {**_LIFTER, **change}, "m.json")


def test_registry_refuses_unknown_stages_and_mismatched_models():
    with pytest.raises(ValueError, match="unknown stage 'tracker'"):
        stage_def("tracker")
    with pytest.raises(ParamsError, match="unknown stage"):
        parse_params("tracker", {}, "m.json")
    p = parse_params("lifter", _LIFTER, "m.json")
    detector_model = SimpleNamespace(input_names=["image"], output_names=["centre", "size", "offset"])
    with pytest.raises(InfantposeError, match="no tensor 'kp2d', 'kp3d' that a temporal lifter needs"):
        make_stage("lifter", detector_model, p)
    with pytest.raises(TypeError, match="needs PoseParams"):
        make_stage("pose2d", detector_model, p)


def test_every_stage_gives_an_example_input_of_its_contract():
    rng = np.random.default_rng(0)
    for name in STAGES:
        p = load_bundle(DEFAULT_BUNDLE).stage(name).params
        x, spec = STAGES[name].example_input(p, 3, rng)
        assert x.dtype == np.float32 and x.shape[0] == 3
        assert [d for d in spec.shape if isinstance(d, int)] == list(x.shape[1:])
        assert spec.name == p.io.inputs[0]


def test_a_model_whose_dtype_is_not_the_manifests_is_refused():
    from infantpose.errors import BundleError
    from infantpose.runtime.backends import check_io
    from infantpose.runtime.bundle import Artifact
    from infantpose.stages import TensorSpec

    art = Artifact("m.onnx", "onnx", "fp32", [TensorSpec("kp2d", ["N", 32])], [TensorSpec("kp3d", ["N", 48])])
    model = SimpleNamespace(input_names=["kp2d"], output_names=["kp3d"], input_ranks={"kp2d": 2},
                            output_ranks={"kp3d": 2}, input_dtypes={"kp2d": "float16"}, output_dtypes={})  # fmt: skip
    with pytest.raises(BundleError, match="input 'kp2d' is float16 in the model, float32 in the manifest"):
        check_io(model, art, "m.onnx")
    check_io(SimpleNamespace(**{**vars(model), "input_dtypes": {"kp2d": "float32"}}), art, "m.onnx")


def test_pose_calibration_inputs_are_what_the_runtime_feeds(tmp_path):
    """An upright network is calibrated (and its INT8 drift measured) on crops turned upright, as the
    runtime turns them; others on plain crops around the box."""
    from infantpose.datasets import MiniRGBD
    from infantpose.fileio import read_image
    from infantpose.posture import upright_angle
    from infantpose.skeleton import MPII, map_joints
    from infantpose.stages import pose2d

    from .fixtures import make_minirgbd

    make_minirgbd(tmp_path, sequences=("01",), frames=2)
    ds = MiniRGBD(tmp_path, split="all")
    d = {"arch": "blazepose", "input_size": [64, 64], "padding": 2.0, "mean": [0, 0, 0], "std": [1, 1, 1]}
    plain = pose2d.PoseParams.from_dict(d, "test")
    upright = pose2d.PoseParams.from_dict({**d, "upright": True}, "test")
    s = ds[0]
    rot = upright_angle(map_joints(s.joints2d[None], s.joint_set, MPII.name))
    assert abs(rot[0]) > 10  # the fixture's body lies turned: the two kinds of crop differ
    want = pose2d.preprocess([read_image(s.image)], np.asarray(s.box)[None], upright, rot)[0][0]
    np.testing.assert_array_equal(pose2d.calibration_inputs(ds, 2, upright)[0], want)
    want = pose2d.preprocess([read_image(s.image)], np.asarray(s.box)[None], plain)[0][0]
    np.testing.assert_array_equal(pose2d.calibration_inputs(ds, 2, plain)[0], want)


def test_bad_pose_params_name_the_key():
    d = {"arch": "blazepose", "input_size": [256, 256], "padding": 2.0, "mean": [0, 0, 0], "std": [1, 1, 1],
         "heatmap_joints": ["a", "b"], "joint_regressor": [[0.5, 0.5]]}  # fmt: skip
    assert parse_params("pose2d", d, "m.json").regressor.shape == (1, 2)
    for change, words in (
        ({"joint_regressor": [[0.5, float("nan")]]}, "'joint_regressor' must be a list of rows of finite numbers"),
        ({"joint_regressor": [[1.0]]}, "one weight per heatmap joint"),
        ({"input_size": [256, 0]}, "'input_size' must be a list of 2 integers from 8 to 2048"),
        ({"upright": "yes"}, "'upright' must be true or false"),
        ({"refine": -1}, "'refine' must be an integer >= 0"),
        ({"keypoint_box": 0}, "'keypoint_box' must be a number > 0"),
    ):
        with pytest.raises(ParamsError, match=words):
            parse_params("pose2d", {**d, **change}, "m.json")


def test_refine_passes_run_on_the_pose_s_own_box():
    """After a detector's box, ``refine`` more passes crop around the pose just found; a tracker's box
    (refine=False) gets one pass."""
    from infantpose.stages import pose2d

    params = parse_params(
        "pose2d",
        {
            "arch": "simple_baseline",
            "input_size": [64, 64],
            "padding": 1.25,
            "mean": [0, 0, 0],
            "std": [1, 1, 1],
            "keypoint_box": 1.1,
            "refine": 2,
        },
        "t",
    )
    rng = np.random.default_rng(0)
    peaks = rng.integers(3, 13, (16, 2))  # each joint's heatmap peak, same cell in every crop

    class Backend:
        def __init__(self):
            self.inputs = []

        def __call__(self, feeds):
            x = feeds["image"]
            self.inputs.append(x)
            hm = np.zeros((len(x), 16, 16, 16), np.float32)
            hm[:, np.arange(16), peaks[:, 1], peaks[:, 0]] = 1.0
            return {"heatmaps": hm}

    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    box = np.array([[60.0, 40.0, 260.0, 200.0]])
    backend = Backend()
    stage = pose2d.PoseStage(backend, params)
    stage([frame], box)
    assert len(backend.inputs) == 3
    first, _ = pose2d.PoseStage(Backend(), replace(params, refine=0))([frame], box)
    want = pose2d.preprocess([frame], stage.pose_boxes(first, np.zeros(1)), params)[0]
    np.testing.assert_array_equal(backend.inputs[1], want)  # the second pass: the first pose's box
    backend.inputs.clear()
    stage([frame], box, refine=False)
    assert len(backend.inputs) == 1
