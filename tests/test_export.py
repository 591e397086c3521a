"""Export to ONNX / FP16 / INT8, bundle integrity and `infantpose verify` (CPU; TensorRT skips)."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")
onnx = pytest.importorskip("onnx", reason="the export extra (onnx) is not installed")

from typer.testing import CliRunner  # noqa: E402

from infantpose.cli import app  # noqa: E402
from infantpose.errors import BundleError, InfantposeError  # noqa: E402
from infantpose.export.onnx import export_onnx, max_abs_diff  # noqa: E402
from infantpose.export.package import export_bundle  # noqa: E402
from infantpose.export.tensorrt import tensorrt_available  # noqa: E402
from infantpose.runtime.bundle import load_bundle, write_manifest  # noqa: E402

from .fixtures import make_minirgbd, random_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    root = tmp / "data"
    make_minirgbd(root, sequences=("01", "02", "03", "11"), frames=110)
    (root / "dataset.json").write_text('{"splits": {"train": ["01", "02"], "val": ["03"], "test": ["11"]}}')
    ckpts = {
        "detector": random_checkpoint("detector", ("detector", "edge"), root, tmp / "det.pt"),
        "pose2d": random_checkpoint("pose2d", ("pose2d", "edge-effnet"), root, tmp / "pose.pt"),
        "lifter": random_checkpoint("lifter", ("lifter", "edge"), root, tmp / "lift.pt"),
    }
    bundle = tmp / "bundle"
    export_bundle(ckpts, bundle, ("fp32", "fp16", "int8"), calib_data=root, calib_count=200, log=lambda *_: None)
    return {"root": root, "ckpts": ckpts, "bundle": bundle, "tmp": tmp}


@pytest.mark.parametrize(
    "key", [("detector", "edge"), ("pose2d", "edge-effnet"), ("lifter", "edge"), ("temporal", "edge")]
)
def test_each_stage_exports_and_matches_pytorch(setup, key):
    from infantpose.train.checkpoint import load_checkpoint

    stage = "lifter" if key[0] == "temporal" else key[0]
    path = random_checkpoint(stage, key, setup["root"], setup["tmp"] / f"{key[0]}.pt")
    ck = load_checkpoint(path)
    out = setup["tmp"] / f"{key[0]}.onnx"
    art = export_onnx(ck, out)
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version >= 17
    assert "BatchNormalization" not in {n.op_type for n in model.graph.node}
    assert art.inputs[0].shape[0] == "N"  # dynamic batch axis
    assert max_abs_diff(ck, out, batch=3) < 1e-4


def test_bundle_has_all_precisions_and_int8_drift(setup):
    b = load_bundle(setup["bundle"])
    left_out = b.manifest.meta["int8_left_out"]
    for stage in ("detector", "pose2d", "lifter"):
        precisions = {a.precision for a in b.stage(stage).artifacts}
        if stage in left_out:  # an INT8 model that fails its drift check is never shipped
            assert precisions == {"fp32", "fp16"}
            assert left_out[stage]["drift"] > left_out[stage]["max_drift"]
            continue
        assert precisions == {"fp32", "fp16", "int8"}
        int8 = b.artifact(stage, "int8")
        assert int8.info["calibration"] == "minmax" and int8.info["calibration_samples"] >= 200
        assert int8.info["passed"] and int8.info["drift"] <= int8.info["max_drift"]
        assert int8.info["drift_inputs"] == "held-out split" and int8.info["drift_samples"] >= 32
    assert len(left_out) < 3, "at least one stage must quantise within its limit"
    assert b.stage("pose2d").params.input_size == (128, 128)
    assert len(b.stage("lifter").params.mean_2d) == 32
    assert b.manifest.meta["training"]["pose2d"]["checkpoint_sha256"]


def test_int8_flavours(setup, tmp_path):
    """onnxruntime: uint8 activations (any zero point), int8 weights; TensorRT: symmetric int8 throughout."""
    from onnx import numpy_helper

    from infantpose.export.calibration import calibration_inputs
    from infantpose.export.quantize import to_int8

    b = load_bundle(setup["bundle"])
    stage = next(s for s in ("pose2d", "detector", "lifter") if "int8" in {a.precision for a in b.stage(s).artifacts})
    fp32 = b.artifact(stage, "fp32")
    calib = calibration_inputs(stage, b.stage(stage).params, setup["root"], 16)
    trt = to_int8(setup["bundle"] / fp32.file, tmp_path / "trt.onnx", fp32, calib, flavour="tensorrt")
    assert trt.info["passed"] and "TensorRT" in trt.info["format"]
    for path, act_type in (
        (setup["bundle"] / b.artifact(stage, "int8").file, np.uint8),
        (tmp_path / "trt.onnx", np.int8),
    ):
        model = onnx.load(str(path))
        inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        zero_points = [inits[n.input[2]] for n in model.graph.node if n.op_type == "QuantizeLinear"]
        assert zero_points and all(z.dtype == act_type for z in zero_points)
        if act_type == np.int8:
            assert all(np.all(z == 0) for z in zero_points)
    with pytest.raises(ValueError, match="unknown INT8 flavour"):
        to_int8(setup["bundle"] / fp32.file, tmp_path / "x.onnx", fp32, calib, flavour="tflite")


def test_modified_model_file_is_refused(setup, tmp_path):
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(setup["bundle"], copy)
    f = copy / "pose2d.fp32.onnx"
    f.write_bytes(f.read_bytes()[:-1] + b"\0")
    with pytest.raises(BundleError, match="sha256 does not match"):
        load_bundle(copy)


def _verify(bundle, root, *extra):
    res = CliRunner().invoke(app, ["verify", str(bundle), "--data", str(root), "--limit", "40", *extra])
    return res


def test_verify_passes_and_reports_every_row(setup, tmp_path):
    out = tmp_path / "v.json"
    res = _verify(setup["bundle"], setup["root"], "--json", str(out), "--record")
    result = json.loads(out.read_text())
    rows = {(r["format"], r["precision"]): r for r in result["rows"]}
    assert set(rows) == {("pytorch", "fp32"), ("onnx", "fp32"), ("onnx", "fp16"), ("onnx", "int8")}
    fp32 = rows[("onnx", "fp32")]
    assert set(fp32["max_abs_diff"]["detector"]) == {"centre", "size", "offset"}  # every named output
    assert all(d["rtol"] < 1e-4 for s in fp32["max_abs_diff"].values() for d in s.values())
    assert abs(fp32["delta_mm"]) <= 0.05
    assert abs(rows[("onnx", "fp16")]["delta_mm"]) <= 0.5
    assert np.isfinite(rows[("onnx", "int8")]["delta_mm"])  # INT8 runs end to end; its delta is reported
    assert all(r["latency_ms"] for k, r in rows.items() if k[0] != "pytorch")
    assert res.exit_code == (0 if result["passed"] else 1), res.output
    assert json.loads((setup["bundle"] / "manifest.json").read_text())["meta"]["verified"] == result  # --record


def test_verify_fails_with_exit_1_on_a_perturbed_model(setup, tmp_path):
    import shutil

    from onnx import numpy_helper

    copy = tmp_path / "b"
    shutil.copytree(setup["bundle"], copy)
    path = copy / "pose2d.fp32.onnx"
    model = onnx.load(str(path))
    init = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
    w = numpy_helper.to_array(init)
    init.CopyFrom(numpy_helper.from_array(w + np.random.default_rng(0).normal(0, 0.05, w.shape).astype(w.dtype),
                                          init.name))  # fmt: skip
    onnx.save(model, str(path))
    b = load_bundle(copy, verify=False)
    write_manifest(copy, b.manifest)  # re-hash: the file is "valid" but wrong
    before = (copy / "manifest.json").read_bytes()
    res = _verify(copy, setup["root"])
    assert res.exit_code == 1, res.output
    assert "FAIL" in res.output
    assert (copy / "manifest.json").read_bytes() == before  # verify leaves its input alone without --record


def test_tensorrt_engines(setup, tmp_path):
    ok, why = tensorrt_available()
    if not ok:
        pytest.skip(f"TensorRT unavailable: {why}")
    bundle = tmp_path / "trt"
    export_bundle(setup["ckpts"], bundle, ("fp32", "int8"), setup["root"], calib_count=200, tensorrt=True)
    b = load_bundle(bundle)
    for stage in ("detector", "pose2d", "lifter"):
        eng = b.artifact(stage, "fp16", "engine")
        assert eng.info["tensorrt"] and eng.info["gpu"]
    res = _verify(bundle, setup["root"], "--device", "cuda")
    assert res.exit_code == 0, res.output


def test_weights_that_are_exactly_fp16_are_stored_as_fp16_losslessly(tmp_path):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from infantpose.export.onnx import store_exact_fp16

    rng = np.random.default_rng(0)
    exact = rng.normal(size=(64, 64)).astype(np.float16).astype(np.float32)  # e.g. weights from an FP16 file
    inexact = rng.normal(size=(64, 64)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "a"], ["y"]), helper.make_node("MatMul", ["y", "b"], ["z"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 64])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 64])],
        [numpy_helper.from_array(exact, "a"), numpy_helper.from_array(inexact, "b")],
    )
    path = tmp_path / "m.onnx"
    # IR 8 (onnx 1.10+): make_model's default is the installed onnx's newest IR, which an older
    # onnxruntime refuses (seen on a machine with onnx 1.23 / onnxruntime 1.30: IR 14 > 13).
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    x = rng.normal(size=(2, 64)).astype(np.float32)
    before = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    size = path.stat().st_size
    assert store_exact_fp16(path) == {"weights_stored_fp16": 1, "bytes_saved": exact.nbytes // 2}
    after = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    np.testing.assert_array_equal(before, after)
    assert path.stat().st_size < size - exact.nbytes // 2 + 200
    kinds = {i.name: i.data_type for i in onnx.load(str(path)).graph.initializer}
    assert kinds == {"a__fp16": TensorProto.FLOAT16, "b": TensorProto.FLOAT}
    assert store_exact_fp16(path) == {}  # nothing left to convert


def test_a_reference_of_another_kind_is_one_error(setup):
    ck = setup["ckpts"]
    res = _verify(setup["bundle"], setup["root"], "--reference", f"detector={ck['detector']}", "--reference",
                  f"pose2d={ck['pose2d']}", "--reference", f"lifter={ck['detector']}")  # fmt: skip
    assert isinstance(res.exception, InfantposeError) and "is a detector checkpoint, not lifter" in str(res.exception)


def test_export_fails_when_every_int8_model_fails_and_leaves_no_temporaries(setup, tmp_path, monkeypatch):
    from dataclasses import replace

    from infantpose.stages import STAGES

    for name, sd in STAGES.items():  # nothing can pass
        monkeypatch.setitem(STAGES, name, replace(sd, max_drift=-1.0))
    monkeypatch.chdir(tmp_path)
    ck = setup["ckpts"]
    res = CliRunner().invoke(app, ["export", "--detector", str(ck["detector"]), "--pose2d", str(ck["pose2d"]),
                                   "--lifter", str(ck["lifter"]), "--out", "b", "--precision", "fp32,int8",
                                   "--calib-data", str(setup["root"]), "--calib-count", "200"])  # fmt: skip
    assert res.exit_code == 1, res.output
    assert "every INT8 model failed" in res.output
    assert "calibration on 200 inputs from" in res.output  # the count it really used
    m = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert not any(a["precision"] == "int8" for s in m["stages"].values() for a in s["artifacts"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # the quantiser's temporaries stayed out of cwd


def test_verify_against_the_bundles_own_fp32_onnx(setup, tmp_path):
    import shutil

    copy = tmp_path / "installed"
    shutil.copytree(setup["bundle"], copy)
    m = json.loads((copy / "manifest.json").read_text())
    for v in m["meta"]["training"].values():
        v["checkpoint"] = "/nonexistent/best.pt"  # an installed bundle: its checkpoints did not ship
    (copy / "manifest.json").write_text(json.dumps(m))
    res = _verify(copy, setup["root"])
    assert isinstance(res.exception, InfantposeError) and "--against-onnx" in str(res.exception)
    out = tmp_path / "v.json"
    res = _verify(copy, setup["root"], "--against-onnx", "--json", str(out))
    result = json.loads(out.read_text())
    assert result["reference"] == "bundle fp32 onnx"
    assert [(r["format"], r["precision"]) for r in result["rows"]][:2] == [
        ("onnx (reference)", "fp32"),
        ("onnx", "fp16"),
    ]
    assert abs(result["rows"][1]["delta_mm"]) <= 0.5, res.output


def test_a_movenet_2d_stage_exports_behind_a_reused_detector_and_lifter(setup, tmp_path):
    """The shipped tiers' path without downloaded weights: a MoveNet network (random weights in a tiny
    graph of MoveNet's node names) exported to ONNX FP32 / FP16 and matching PyTorch, the detector and
    lifter of another bundle reused byte for byte (its training record kept), and the chain runs."""
    from infantpose.runtime.pipeline import Pipeline
    from infantpose.skeleton import COCO_KEYPOINTS
    from infantpose.stages.pose2d import PoseParams
    from infantpose.train.checkpoint import atomic_save, load_checkpoint, make_checkpoint
    from infantpose.train.models.movenet import build_pretrained
    from infantpose.train.regressor import prior_regressor

    from .test_movenet import tiny_movenet

    model, kwargs = build_pretrained("lightning", tiny_movenet(tmp_path / "graph"))
    regressor = tuple(map(tuple, prior_regressor(COCO_KEYPOINTS).tolist()))
    params = PoseParams("movenet", (32, 32), 1.25, (0.5,) * 3, (0.5,) * 3, heatmap_joints=COCO_KEYPOINTS,
                        joint_regressor=regressor, refine=1, view="auto")  # fmt: skip
    ckpt = tmp_path / "movenet.pt"
    atomic_save(make_checkpoint("pose2d", "movenet", kwargs, params, model, recipe="movenet-lightning"), ckpt)
    export_onnx(load_checkpoint(ckpt), tmp_path / "m.onnx")
    assert max_abs_diff(load_checkpoint(ckpt), tmp_path / "m.onnx", batch=2) < 1e-4
    out = tmp_path / "tier"
    base = setup["bundle"]
    export_bundle({"detector": base, "pose2d": ckpt, "lifter": base}, out, ("fp32", "fp16"), log=lambda *_: None)
    for name in ("detector.fp32.onnx", "detector.fp16.onnx", "lifter.fp32.onnx", "lifter.fp16.onnx"):
        assert (out / name).read_bytes() == (base / name).read_bytes()
    b = load_bundle(out)
    assert b.stage("pose2d").params.arch == "movenet" and not (out / "detector.int8.onnx").exists()
    assert b.manifest.meta["training"]["lifter"]["reused_from"]["bundle"] == str(base)
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8)
    with Pipeline.from_bundle(out) as pipe:
        r = pipe.still(frame)
    assert r.kp2d is not None and np.isfinite(r.kp3d).all()
    with pytest.raises(InfantposeError, match="not a bundle"):
        export_bundle({"detector": tmp_path, "pose2d": ckpt, "lifter": base}, tmp_path / "x", ("fp32",))
