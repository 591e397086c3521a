"""MoveNet: our TF.js graph reader, the network built from it (random weights in a tiny graph of
MoveNet's node names, no download), the soft-peak CenterNet decoding and the 2D stage on top."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from infantpose.heatmaps import decode_centernet  # noqa: E402
from infantpose.skeleton import COCO_KEYPOINTS  # noqa: E402

P = "StatefulPartitionedCall/"


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _conv(name: str, x: str, w: str, b: str | None, stride: int, padding: str, fused: list[str], op: str) -> dict:
    attr = {"strides": {"list": {"i": ["1", str(stride), str(stride), "1"]}}, "padding": {"s": _b64(padding)},
            "T": {"type": "DT_FLOAT"}, "data_format": {"s": _b64("NHWC")}}  # fmt: skip
    if fused:
        attr["fused_ops"] = {"list": {"s": [_b64(f) for f in fused]}}
        attr["num_args"] = {"i": "1"}
    return {"name": name, "op": op, "input": [x, w] + ([b] if b else []), "attr": attr}


def tiny_movenet(root: Path, size: int = 32, seed: int = 0) -> Path:
    """A TF.js graph model with MoveNet's input, head names and operator kinds (convolutions with fused
    bias / ReLU6, a depthwise convolution, an upsampling and an addition), random float16 weights."""
    rng = np.random.default_rng(seed)
    weights: list[tuple[str, np.ndarray]] = []
    nodes: list[dict] = [
        {"name": "input", "op": "Placeholder",
         "attr": {"shape": {"shape": {"dim": [{"size": "1"}, {"size": str(size)}, {"size": str(size)},
                                              {"size": "3"}]}}, "dtype": {"type": "DT_INT32"}}},
        {"name": P + "sub_1", "op": "Sub", "input": ["input", P + "sub_1/y"]},
    ]  # fmt: skip

    def const(name: str, arr: np.ndarray) -> str:
        weights.append((name, arr))
        nodes.append({"name": name, "op": "Const", "attr": {}})
        return name

    def conv(name: str, x: str, kin: int, kout: int, k: int, stride: int, fused: list[str], depthwise=False) -> str:
        w = rng.normal(0, 0.4, (k, k, kin, 1 if depthwise else kout)).astype(np.float16)
        bias = const(name + "/b", rng.normal(0, 0.1, kout).astype(np.float16)) if fused else None
        op = ("FusedDepthwiseConv2dNative" if fused else "DepthwiseConv2dNative") if depthwise else "_FusedConv2D"
        nodes.append(_conv(name, x, const(name + "/w", w), bias, stride, "SAME", fused, op))
        return name

    const(P + "sub_1/y", np.array(1.0, np.float16))
    a = conv(P + "trunk/c1", P + "sub_1", 3, 8, 3, 2, ["BiasAdd", "Relu6"])
    b = conv(P + "trunk/c2", a, 8, 8, 3, 2, ["BiasAdd", "Relu6"])
    c = conv(P + "trunk/c3", b, 8, 8, 3, 2, ["BiasAdd", "Relu"])
    up = P + "trunk/up"
    size_const = const(up + "/size", np.array([size // 4, size // 4], np.int32))
    nodes.append({"name": up, "op": "ResizeBilinear", "input": [c, size_const],
                  "attr": {"align_corners": {"b": False}, "half_pixel_centers": {"b": True}}})  # fmt: skip
    add = P + "trunk/add"
    nodes.append({"name": add, "op": "AddV2", "input": [up, b]})
    d = conv(P + "trunk/dw", add, 8, 8, 3, 1, [], depthwise=True)
    heads = {"kpt_heatmap_0/conv2d_5/BiasAdd": 17, "kpt_offset_0/conv2d_7/BiasAdd": 34,
             "center_0/conv2d_4/BiasAdd": 1, "kpt_regress_0/conv2d_6/BiasAdd": 34}  # fmt: skip
    for head, ch in heads.items():
        conv(P + head, d, 8, ch, 1, 1, ["BiasAdd"])
    manifest, blob = [], b""
    for name, arr in weights:
        entry = {"name": name, "shape": list(arr.shape), "dtype": "float32" if arr.dtype == np.float16 else "int32"}
        if arr.dtype == np.float16:
            entry["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
        manifest.append(entry)
        blob += arr.tobytes()
    root.mkdir(parents=True, exist_ok=True)
    (root / "tiny.bin").write_bytes(blob)
    model = {"format": "graph-model", "modelTopology": {"node": nodes},
             "weightsManifest": [{"paths": ["tiny.bin"], "weights": manifest}]}  # fmt: skip
    (root / "tiny.json").write_text(json.dumps(model))
    return root / "tiny.json"


def test_the_tfjs_reader_runs_the_graph_as_tensorflow_would(tmp_path):
    """The first convolution of the graph, by hand in numpy (NHWC, 'SAME' with the extra pixel after,
    ReLU6), equals the PyTorch network's; the heads come out at stride 4 in the documented shapes."""
    from infantpose.train.models.movenet import build_pretrained
    from infantpose.train.models.tfjs_graph import read_tfjs, read_weights

    path = tiny_movenet(tmp_path)
    model, _ = build_pretrained("lightning", path)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        heatmaps, offsets, centre, regress = (t.numpy() for t in model(torch.from_numpy(x)))
    assert heatmaps.shape == (1, 17, 8, 8) and offsets.shape == (1, 34, 8, 8)
    assert centre.shape == (1, 1, 8, 8) and regress.shape == (1, 34, 8, 8)
    assert heatmaps.min() >= 0 and heatmaps.max() <= 1
    w = read_weights(path, json.loads(path.read_text())["weightsManifest"])
    k, b = w[P + "trunk/c1/w"], w[P + "trunk/c1/b"]  # (3, 3, 3, 8) HWIO
    img = x[0].transpose(1, 2, 0)
    pad = np.pad(img, ((0, 1), (0, 1), (0, 0)))  # 32 px, stride 2, kernel 3: 1 pixel, after
    ref = np.zeros((16, 16, 8))
    for i in range(16):
        for j in range(16):
            ref[i, j] = np.einsum("hwc,hwco->o", pad[2 * i : 2 * i + 3, 2 * j : 2 * j + 3], k) + b
    ref = np.clip(ref, 0, 6)
    ops, weights, _ = read_tfjs(path, P + "sub_1", [P + "trunk/c1"])
    from infantpose.train.models.tflite_graph import TFLiteGraph

    first = TFLiteGraph(ops, {n: list(v.shape) for n, v in weights.items()})
    first.load_arrays(weights)
    with torch.no_grad():
        (got,) = first(torch.from_numpy(x))
    np.testing.assert_allclose(got.numpy()[0].transpose(1, 2, 0), ref, atol=1e-4)


def test_the_tfjs_reader_refuses_what_it_cannot_run(tmp_path):
    from infantpose.errors import InfantposeError
    from infantpose.train.models.tfjs_graph import read_tfjs

    path = tiny_movenet(tmp_path)
    d = json.loads(path.read_text())
    for n in d["modelTopology"]["node"]:
        if n["name"] == P + "trunk/add":
            n["op"] = "Maximum"
    path.write_text(json.dumps(d))
    with pytest.raises(InfantposeError, match="Maximum is not supported"):
        read_tfjs(path, P + "sub_1", [P + "kpt_heatmap_0/conv2d_5/BiasAdd"])
    with pytest.raises(InfantposeError, match="no node named"):
        read_tfjs(path, P + "sub_1", ["nowhere"])


def _maps(n=1, k=2, h=12, w=12, peaks=((3, 4), (8, 9)), seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    hm = np.zeros((n, k, h, w))
    for j, (py, px) in enumerate(peaks[:k]):
        hm[:, j] = np.exp(-((yy - py) ** 2 + (xx - px) ** 2) / 2.0)
    offsets = rng.uniform(-0.3, 0.3, (n, 2 * k, h, w))
    centre = np.exp(-((yy - 6) ** 2 + (xx - 6) ** 2) / 8.0)[None, None].repeat(n, 0)
    regress = np.zeros((n, 2 * k, h, w))
    for j, (py, px) in enumerate(peaks[:k]):
        regress[:, 2 * j], regress[:, 2 * j + 1] = py - 6, px - 6
    return hm, offsets, centre, regress


def test_centernet_decoding_finds_a_clear_peak_with_its_offset():
    hm, off, centre, reg = _maps()
    coords, conf = decode_centernet(hm, off, centre, reg)
    for j, (py, px) in enumerate(((3, 4), (8, 9))):
        np.testing.assert_allclose(coords[0, j], [px + off[0, 2 * j + 1, py, px], py + off[0, 2 * j, py, px]],
                                   atol=0.05)  # fmt: skip
        assert conf[0, j] > 0.9


def test_a_near_tie_between_two_cells_decodes_the_same_in_fp32_and_fp16():
    """Two far-apart cells with (nearly) the same score: argmax would jump between them on a rounding
    difference; the soft peak moves the keypoint continuously, so FP16 rounding of every output moves
    it by a fraction of a pixel."""
    hm, off, centre, reg = _maps(k=1, peaks=((6, 3),))
    yy, xx = np.mgrid[0:12, 0:12]
    hm[0, 0] = np.maximum(hm[0, 0], np.exp(-((yy - 6) ** 2 + (xx - 9) ** 2) / 2.0) * (1 - 1e-4))  # a twin
    reg[0, 0], reg[0, 1] = 0.0, 0.0  # regressed to the middle: both twins equally far
    a, _ = decode_centernet(hm, off, centre, reg)
    b, _ = decode_centernet(*(m.astype(np.float16).astype(np.float32) for m in (hm, off, centre, reg)))
    assert np.abs(a - b).max() < 0.25  # argmax: 6 heatmap px between the twins


def test_the_movenet_stage_runs_end_to_end_on_random_weights(tmp_path):
    """Tiny MoveNet -> 2D stage (COCO channels, prior regressor) -> MPII joints in frame px, finite."""
    from infantpose.stages.pose2d import PoseParams, PoseStage
    from infantpose.train.models.movenet import build_pretrained
    from infantpose.train.regressor import prior_regressor
    from infantpose.train.torch_backend import TorchBackend

    model, _ = build_pretrained("lightning", tiny_movenet(tmp_path))
    regressor = tuple(map(tuple, prior_regressor(COCO_KEYPOINTS).tolist()))
    params = PoseParams("movenet", (32, 32), 1.25, (0.5,) * 3, (0.5,) * 3, heatmap_joints=COCO_KEYPOINTS,
                        joint_regressor=regressor, refine=1)  # fmt: skip
    stage = PoseStage(TorchBackend(model, params), params)
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8)
    kp, conf = stage([frame], np.array([[40.0, 20.0, 120.0, 100.0]]))
    assert kp.shape == (1, 16, 2) and np.isfinite(kp).all() and conf.shape == (1, 16)


def test_the_flip_test_mirrors_the_last_pass_and_is_refused_where_undefined(tmp_path):
    """flip_test: the last pass runs the crops and their mirror images in one batch (the earlier passes
    do not); architectures without a mirror convention refuse the flag."""
    from infantpose.stages.base import ParamsError
    from infantpose.stages.pose2d import PoseParams, PoseStage

    rng = np.random.default_rng(0)
    h = 8
    hm, off, centre, reg = _maps(k=17, h=h, w=h, peaks=[tuple(rng.integers(2, 6, 2)) for _ in range(17)])
    calls = []

    def backend(inputs):
        n = len(inputs["image"])
        calls.append(n)
        out = {"heatmaps": hm, "offsets": off * 0, "centre": centre, "regress": reg}
        return {k: np.repeat(v[:1], n, 0).astype(np.float32) for k, v in out.items()}

    base = PoseParams("movenet", (32, 32), 1.25, (0.5,) * 3, (0.5,) * 3, heatmap_joints=COCO_KEYPOINTS, refine=1)
    frame = np.zeros((64, 64, 3), np.uint8)
    box = np.array([[8.0, 8.0, 56.0, 56.0]])
    PoseStage(backend, replace(base, flip_test=True))([frame], box)
    assert calls == [1, 2]  # the detector's box, then the refinement with its mirror image
    with pytest.raises(ParamsError, match="flip test is not defined"):
        PoseParams.from_dict({**base.to_dict(), "arch": "blazepose", "flip_test": True}, "test")
