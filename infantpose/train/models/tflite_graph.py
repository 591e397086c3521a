"""A TensorFlow Lite graph as a trainable PyTorch module (our own reader, for pretrained weights).

Only the operator set of the convolutional pose networks we start from is supported
(2D and depthwise convolution, add, zero padding, max pooling, bilinear upsampling,
logistic, reshape of 4D maps into vectors, float16 dequantisation); anything else is refused by name.

The graph is kept as a JSON-serialisable list of operations (stored in checkpoints as
model arguments, so a checkpoint rebuilds the network without the .tflite file) and
the weights as parameters. Tensors run NCHW in PyTorch; TFLite's NHWC weight layouts
are transposed once when the file is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from infantpose.errors import InfantposeError

_ACTIVATIONS = {0: None, 1: "relu", 3: "relu6"}


def _options(op: Any, cls: Any) -> Any:
    table = op.BuiltinOptions()
    o = cls()
    o.Init(table.Bytes, table.Pos)
    return o


def _same_pads(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TensorFlow 'SAME' padding (before, after) for one spatial axis."""
    eff = (k - 1) * d + 1
    total = max((-(-size // s) - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


def read_tflite(path: Path, outputs: list[str]) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Operations needed for the named ``outputs`` of a .tflite file, and their float32 weights.

    Returns (ops, weights): ops in execution order, tensors referred to by index; the
    network input is the graph's first input. Weights are already in PyTorch layout.
    """
    try:
        import tflite
    except ImportError as e:  # the parser ships in the train extra
        raise InfantposeError(
            "reading .tflite weights needs the 'tflite' package: pip install 'infantpose[train]'"
        ) from e
    buf = Path(path).read_bytes()
    model = tflite.Model.GetRootAsModel(buf, 0)
    g = model.Subgraphs(0)
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    tensors = [g.Tensors(i) for i in range(g.TensorsLength())]
    by_name = {t.Name().decode(): i for i, t in enumerate(tensors)}
    missing = [o for o in outputs if o not in by_name]
    if missing:
        raise InfantposeError(f"{path}: no tensor named {', '.join(missing)}")

    def const(i: int) -> np.ndarray | None:
        t = tensors[i]
        data = model.Buffers(t.Buffer()).DataAsNumpy()
        if isinstance(data, int) or data is None or len(data) == 0:
            return None
        dtype = {0: np.float32, 1: np.float16, 2: np.int32}.get(t.Type())
        if dtype is None:
            raise InfantposeError(f"{path}: tensor {t.Name().decode()} has unsupported type {t.Type()}")
        return np.frombuffer(data.tobytes(), dtype).reshape(t.ShapeAsNumpy())

    raw: list[tuple[str, Any]] = []
    producer: dict[int, int] = {}
    for k in range(g.OperatorsLength()):
        op = g.Operators(k)
        code = model.OperatorCodes(op.OpcodeIndex())
        raw.append((names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())], op))
        for j in range(op.OutputsLength()):
            producer[op.Outputs(j)] = k
    # Backward slice: only what the wanted outputs need.
    needed, stack = set(), [by_name[o] for o in outputs]
    while stack:
        t = stack.pop()
        k = producer.get(t)
        if k is None or k in needed:
            continue
        needed.add(k)
        op = raw[k][1]
        stack += [op.Inputs(j) for j in range(op.InputsLength()) if op.Inputs(j) >= 0]

    consts: dict[int, np.ndarray] = {}
    weights: dict[str, np.ndarray] = {}
    ops: list[dict[str, Any]] = []
    shape = {i: [int(v) for v in t.ShapeAsNumpy()] for i, t in enumerate(tensors) if t.ShapeLength()}
    for k in sorted(needed):
        kind, op = raw[k]
        ins = [op.Inputs(j) for j in range(op.InputsLength())]
        out = op.Outputs(0)
        for i in ins:
            if i >= 0 and i not in consts and i not in producer:
                c = const(i)
                if c is not None:
                    consts[i] = c
        if kind == "DEQUANTIZE":
            consts[out] = consts[ins[0]].astype(np.float32)
            continue
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w, b = consts[ins[1]].astype(np.float32), consts[ins[2]].astype(np.float32) if len(ins) > 2 else None
            depthwise = kind == "DEPTHWISE_CONV_2D"
            o = _options(op, tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
            if depthwise:  # (1, kh, kw, C*m) -> (C*m, 1, kh, kw)
                if o.DepthMultiplier() not in (0, 1):
                    raise InfantposeError(f"{path}: depthwise multiplier {o.DepthMultiplier()} unsupported")
                w = w.transpose(3, 0, 1, 2)
            else:  # (out, kh, kw, in) -> (out, in, kh, kw)
                w = w.transpose(0, 3, 1, 2)
            name = f"op{k}"
            weights[f"{name}.weight"] = np.ascontiguousarray(w)
            if b is not None:
                weights[f"{name}.bias"] = b
            ops.append({
                "op": "conv", "name": name, "in": ins[0], "out": out,
                "stride": [o.StrideH(), o.StrideW()], "dilation": [o.DilationHFactor(), o.DilationWFactor()],
                "same": o.Padding() == tflite.Padding.SAME, "groups": int(w.shape[0]) if depthwise else 1,
                "act": _ACTIVATIONS[o.FusedActivationFunction()], "bias": b is not None,
            })  # fmt: skip
        elif kind == "ADD":
            o = _options(op, tflite.AddOptions)
            ops.append({"op": "add", "in": ins, "out": out, "act": _ACTIVATIONS[o.FusedActivationFunction()]})
        elif kind == "PAD":
            p = consts[ins[1]]  # (4, 2) NHWC before/after
            if p[0].any():
                raise InfantposeError(f"{path}: padding over the batch axis unsupported")
            # F.pad order: W, H, C (last axis first) in NCHW.
            ops.append({"op": "pad", "in": ins[0], "out": out,
                        "pads": [int(v) for v in (*p[2], *p[1], *p[3])]})  # fmt: skip
        elif kind == "MAX_POOL_2D":
            o = _options(op, tflite.Pool2DOptions)
            ops.append({"op": "maxpool", "in": ins[0], "out": out, "kernel": [o.FilterHeight(), o.FilterWidth()],
                        "stride": [o.StrideH(), o.StrideW()], "same": o.Padding() == tflite.Padding.SAME})  # fmt: skip
        elif kind == "RESIZE_BILINEAR":
            o = _options(op, tflite.ResizeBilinearOptions)
            if o.AlignCorners() or not o.HalfPixelCenters():
                raise InfantposeError(f"{path}: only half-pixel-centre bilinear resizing is supported")
            factor = shape[out][1] // shape[ins[0]][1]
            ops.append({"op": "upsample", "in": ins[0], "out": out, "factor": int(factor)})
        elif kind == "RESHAPE":  # TFLite reshapes NHWC data: done on the NHWC view, batch axis kept
            ops.append({"op": "reshape", "in": ins[0], "out": out, "shape": [-1, *shape[out][1:]]})
        elif kind == "LOGISTIC":
            ops.append({"op": "sigmoid", "in": ins[0], "out": out})
        else:
            raise InfantposeError(f"{path}: TFLite operator {kind} is not supported")
    graph_input = g.Inputs(0)
    known = {graph_input} | {o["out"] for o in ops}
    for o in ops:  # every non-weight input must be computed or be the graph input
        for i in o["in"] if isinstance(o["in"], list) else [o["in"]]:
            if i not in known:
                raise InfantposeError(f"{path}: tensor {tensors[i].Name().decode()} is neither input nor computed")
    spec = [{"op": "input", "out": graph_input}, *ops]
    spec.append({"op": "outputs", "in": [by_name[o] for o in outputs]})
    return spec, weights


class TFLiteGraph(nn.Module):
    """Executes a graph read by :func:`read_tflite`: (N, C, H, W) -> tuple of NCHW outputs.

    Convolutions use TensorFlow's 'SAME' padding rule (extra pixel after, not before),
    computed from the actual input size, so other input resolutions work too.
    """

    def __init__(self, graph: list[dict[str, Any]], shapes: dict[str, list[int]]) -> None:
        super().__init__()
        self.graph = graph
        self.convs = nn.ModuleDict()
        for o in graph:
            if o["op"] == "conv":
                out_c, in_per_group, kh, kw = shapes[f"{o['name']}.weight"]
                conv = nn.Conv2d(in_per_group * o["groups"], out_c, (kh, kw), tuple(o["stride"]), 0,
                                 tuple(o["dilation"]), o["groups"], o["bias"])  # fmt: skip
                self.convs[o["name"]] = conv

    def load_arrays(self, weights: dict[str, np.ndarray]) -> None:
        """Copy float32 arrays named ``opK.weight`` / ``opK.bias`` into the convolutions."""
        state = {f"convs.{k}": torch.from_numpy(np.array(v, np.float32)) for k, v in weights.items()}
        self.load_state_dict(state, strict=True)

    @staticmethod
    def _act(x: torch.Tensor, act: str | None) -> torch.Tensor:
        if act == "relu":
            return F.relu(x)
        if act == "relu6":
            return F.relu6(x)
        return x

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        t: dict[int, torch.Tensor] = {}
        for o in self.graph:
            kind = o["op"]
            if kind == "input":
                t[o["out"]] = x
            elif kind == "conv":
                conv = self.convs[o["name"]]
                y = t[o["in"]]
                if o["same"]:
                    kh, kw = conv.kernel_size
                    ph = _same_pads(y.shape[2], kh, o["stride"][0], o["dilation"][0])
                    pw = _same_pads(y.shape[3], kw, o["stride"][1], o["dilation"][1])
                    if any(ph) or any(pw):
                        y = F.pad(y, (*pw, *ph))
                t[o["out"]] = self._act(conv(y), o["act"])
            elif kind == "add":
                t[o["out"]] = self._act(t[o["in"][0]] + t[o["in"][1]], o["act"])
            elif kind == "pad":
                t[o["out"]] = F.pad(t[o["in"]], tuple(o["pads"]))
            elif kind == "maxpool":
                y = t[o["in"]]
                if o["same"]:
                    ph = _same_pads(y.shape[2], o["kernel"][0], o["stride"][0])
                    pw = _same_pads(y.shape[3], o["kernel"][1], o["stride"][1])
                    y = F.pad(y, (*pw, *ph), value=float("-inf"))
                t[o["out"]] = F.max_pool2d(y, tuple(o["kernel"]), tuple(o["stride"]))
            elif kind == "upsample":
                t[o["out"]] = F.interpolate(t[o["in"]], scale_factor=o["factor"], mode="bilinear", align_corners=False)
            elif kind == "reshape":
                y = t[o["in"]]
                t[o["out"]] = (y.permute(0, 2, 3, 1) if y.dim() == 4 else y).reshape(o["shape"])
            elif kind == "sigmoid":
                t[o["out"]] = torch.sigmoid(t[o["in"]])
            elif kind == "outputs":
                return tuple(t[i] for i in o["in"])
            else:
                raise ValueError(f"unknown graph operation {kind!r}")
        raise ValueError("graph has no outputs entry")
