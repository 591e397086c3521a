"""A TensorFlow.js graph model (model.json + weight shards) as the operation list that
:class:`infantpose.train.models.tflite_graph.TFLiteGraph` executes (our own reader, for pretrained weights).

Only what the convolutional trunks we start from use is supported: 2D and depthwise convolutions
with TF.js's fused bias / ReLU / ReLU6, addition and bilinear upsampling by an integer factor.
The graph is cut at the named outputs and read back to a named input tensor, so pre-processing
and decoding nodes (casts, argmax, gathers) are left out: the stage's own pre- and post-processing
replace them. Anything else on that path is refused by name. Weights are float32 (TF.js float16
shards are widened), transposed once to PyTorch layout.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.errors import InfantposeError

_DTYPES = {"float32": np.float32, "int32": np.int32}
_ACTS = {(): None, ("Relu",): "relu", ("Relu6",): "relu6"}
MAX_MODEL_JSON = 64 * 1024 * 1024  # a graph description, not weights


def _text(attr: dict[str, Any], key: str) -> str:
    return base64.b64decode(attr[key]["s"]).decode() if key in attr else ""


def _ints(attr: dict[str, Any], key: str, default: list[int]) -> list[int]:
    return [int(v) for v in attr.get(key, {}).get("list", {}).get("i", default)]


def read_weights(model_json: Path, manifest: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Every weight of a TF.js weights manifest, by name, as float32 / int32 arrays.

    The shards are read in order as one byte stream (the TF.js layout); float16-quantised
    weights are widened, other quantisations refused.
    """
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        data = b"".join((model_json.parent / p).read_bytes() for p in group["paths"])
        pos = 0
        for w in group["weights"]:
            shape = [int(v) for v in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if q is not None and q.get("dtype") != "float16":
                raise InfantposeError(f"{model_json}: weight {w['name']}: quantisation {q.get('dtype')} unsupported")
            stored = np.float16 if q is not None else _DTYPES.get(w["dtype"])
            if stored is None:
                raise InfantposeError(f"{model_json}: weight {w['name']}: dtype {w['dtype']} unsupported")
            size = count * np.dtype(stored).itemsize
            if pos + size > len(data):
                raise InfantposeError(f"{model_json}: the weight shards end inside {w['name']}")
            arr = np.frombuffer(data[pos : pos + size], stored).reshape(shape)
            out[w["name"]] = arr.astype(np.float32 if w["dtype"] == "float32" else np.int32)
            pos += size
    return out


def read_tfjs(
    model_json: Path, graph_input: str, outputs: list[str]
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The operations from tensor ``graph_input`` to the named ``outputs`` of a TF.js graph model.

    Returns (ops, weights, consts): ops in execution order (tensors referred to by node name), conv
    weights in PyTorch layout named ``opK.weight`` / ``opK.bias``, and every constant of the file
    by name (for the caller's pre-processing constants).
    """
    model_json = Path(model_json)
    if model_json.stat().st_size > MAX_MODEL_JSON:
        raise InfantposeError(f"{model_json}: over {MAX_MODEL_JSON // 2**20} MB, not a graph model description")
    d = json.loads(model_json.read_text())
    if d.get("format") != "graph-model":
        raise InfantposeError(f"{model_json}: not a TF.js graph model (format {d.get('format')!r})")
    consts = read_weights(model_json, d["weightsManifest"])
    nodes = {n["name"]: n for n in d["modelTopology"]["node"]}
    missing = [o for o in [graph_input, *outputs] if o not in nodes]
    if missing:
        raise InfantposeError(f"{model_json}: no node named {', '.join(missing)}")

    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:  # depth-first post-order from the outputs back to the input
        stack = [(name, False)]
        while stack:
            n, done = stack.pop()
            if done:
                order.append(n)
                continue
            if n in seen or n == graph_input or nodes[n]["op"] == "Const":
                continue
            seen.add(n)
            stack.append((n, True))
            stack += [(i.split(":")[0], False) for i in reversed(_tensor_inputs(nodes[n], nodes))]

    for o in outputs:
        visit(o)

    ops: list[dict[str, Any]] = [{"op": "input", "out": graph_input}]
    weights: dict[str, np.ndarray] = {}
    # Spatial (h, w) of each tensor, from the placeholder's fixed size: a resize names its output size.
    dims = [int(v["size"]) for v in next(n for n in nodes.values() if n["op"] == "Placeholder")["attr"]["shape"]
            ["shape"]["dim"]]  # fmt: skip
    hw: dict[str, tuple[int, int]] = {graph_input: (dims[1], dims[2])}
    for k, name in enumerate(order):
        n = nodes[name]
        kind, attr, ins = n["op"], n.get("attr", {}), [i.split(":")[0] for i in n.get("input", [])]
        if kind in ("_FusedConv2D", "FusedDepthwiseConv2dNative", "DepthwiseConv2dNative", "Conv2D"):
            depthwise = "Depthwise" in kind
            fused = tuple(base64.b64decode(s).decode() for s in attr.get("fused_ops", {}).get("list", {}).get("s", []))
            bias = bool(fused) and fused[0] == "BiasAdd"
            act = _ACTS.get(fused[1:] if bias else fused, "unsupported")
            if act == "unsupported" or (fused and not bias):
                raise InfantposeError(f"{model_json}: node {name}: fused operations {fused} unsupported")
            if _text(attr, "data_format") not in ("", "NHWC") or _ints(attr, "dilations", [1, 1, 1, 1]) != [1, 1, 1, 1]:
                raise InfantposeError(f"{model_json}: node {name}: only NHWC, undilated convolutions are supported")
            padding = _text(attr, "padding")
            if padding not in ("SAME", "VALID"):
                raise InfantposeError(f"{model_json}: node {name}: padding {padding!r} unsupported")
            w = consts[ins[1]]
            if depthwise:  # (kh, kw, C, m) -> (C*m, 1, kh, kw)
                if w.shape[3] != 1:
                    raise InfantposeError(f"{model_json}: node {name}: depth multiplier {w.shape[3]} unsupported")
                w = w.transpose(2, 3, 0, 1).reshape(-1, 1, w.shape[0], w.shape[1])
            else:  # (kh, kw, in, out) -> (out, in, kh, kw)
                w = w.transpose(3, 2, 0, 1)
            conv = f"op{k}"
            weights[f"{conv}.weight"] = np.ascontiguousarray(w, np.float32)
            if bias:
                weights[f"{conv}.bias"] = consts[ins[2]].astype(np.float32)
            stride = _ints(attr, "strides", [1, 1, 1, 1])
            h, wd = hw[ins[0]]
            kh, kw = w.shape[2:]
            if padding == "SAME":
                hw[name] = (-(-h // stride[1]), -(-wd // stride[2]))
            else:
                hw[name] = ((h - kh) // stride[1] + 1, (wd - kw) // stride[2] + 1)
            ops.append({
                "op": "conv", "name": conv, "in": ins[0], "out": name, "stride": stride[1:3], "dilation": [1, 1],
                "same": padding == "SAME", "groups": int(w.shape[0]) if depthwise else 1, "act": act, "bias": bias,
            })  # fmt: skip
        elif kind in ("AddV2", "Add"):
            if any(i in consts for i in ins):
                raise InfantposeError(f"{model_json}: node {name}: adding a constant is unsupported")
            hw[name] = hw[ins[0]]
            ops.append({"op": "add", "in": ins, "out": name, "act": None})
        elif kind == "ResizeBilinear":
            if attr.get("align_corners", {}).get("b") or not attr.get("half_pixel_centers", {}).get("b"):
                raise InfantposeError(f"{model_json}: node {name}: only half-pixel-centre bilinear resizing")
            size = consts.get(ins[1])
            h, wd = hw[ins[0]]
            if size is None or size.shape != (2,) or size[0] % h or size[1] % wd or size[0] // h != size[1] // wd:
                raise InfantposeError(f"{model_json}: node {name}: only resizing by a constant integer factor")
            hw[name] = (int(size[0]), int(size[1]))
            ops.append({"op": "upsample", "in": ins[0], "out": name, "factor": int(size[0] // h)})
        elif kind == "Sigmoid":
            hw[name] = hw[ins[0]]
            ops.append({"op": "sigmoid", "in": ins[0], "out": name})
        else:
            raise InfantposeError(f"{model_json}: node {name}: TF.js operation {kind} is not supported")
    ops.append({"op": "outputs", "in": list(outputs)})
    return ops, weights, consts


def _tensor_inputs(node: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> list[str]:
    """A node's inputs that carry image tensors (a resize's size and control inputs are not followed)."""
    ins = [i for i in node.get("input", []) if not i.startswith("^")]
    return ins[:1] if node["op"] == "ResizeBilinear" else ins
