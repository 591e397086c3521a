"""FP16 and INT8 variants of an FP32 ONNX model.

FP16 keeps float32 inputs and outputs (casts inside the graph). INT8 is static
QDQ quantisation calibrated on real inputs: uint8 activations, per-channel int8
weights in 7-bit range. The 7 bits matter on x86 CPUs without VNNI (AVX2 only):
there onnxruntime multiplies uint8 x int8 pairs with VPMADDUBSW, whose int16
sums saturate when both operands use their full range (255 * 127 * 2 > 32767).
Full-range weights cost the trained pose network 75 mm of MPJPE on this
project's test split; 7-bit weights cost 0.05 heatmap px. When the quantised
model still drifts too far from FP32 on held-out inputs, the first and last
compute layers are kept in FP32 and it is quantised again.

TensorRT takes only symmetric signed int8 (zero point 0), so its engines are
built from a second QDQ flavour: int8 activations and weights, both symmetric,
full range (GPU int8 kernels accumulate in int32 and do not saturate).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.runtime.backends.onnxruntime import OnnxRuntimeBackend
from infantpose.runtime.bundle import Artifact

CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
_COMPUTE_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def _derived(info: dict) -> dict:
    """The FP32 artifact's export facts that still hold for a converted copy."""
    return {k: v for k, v in info.items() if k in ("opset", "exporter")}


def to_fp16(src: Path, dst: Path, fp32: Artifact) -> Artifact:
    """Float16 weights and activations, float32 I/O."""
    import onnx
    from onnxconverter_common import float16

    model = onnx.load(str(src))
    # Stale intermediate type annotations make the converter emit mistyped casts around
    # blocked ops (the detector's Resize): drop them and let it infer types afresh.
    del model.graph.value_info[:]
    with warnings.catch_warnings(record=True) as caught:  # one warning per clamped tensor: summed up below
        warnings.simplefilter("always")
        model = float16.convert_float_to_float16(model, keep_io_types=True)
    onnx.save(model, str(dst))
    clamped = [w for w in caught if "truncated" in str(w.message) or "float16" in str(w.message)]
    if clamped:
        warnings.warn(f"{dst.name}: {len(clamped)} weight tensor(s) held values outside float16's range or "
                      "precision and were clamped or rounded (onnxconverter-common); verify measures the effect",
                      stacklevel=2)  # fmt: skip
    return replace(
        fp32, file=dst.name, precision="fp16", sha256="", info={**fp32.info, "converter": "onnxconverter-common"}
    )


class _Reader:
    """onnxruntime CalibrationDataReader over an (N, ...) array, one sample per call."""

    def __init__(self, name: str, x: np.ndarray) -> None:
        self.name, self.x, self.i = name, x, 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.i >= len(self.x):
            return None
        self.i += 1
        return {self.name: self.x[self.i - 1 : self.i]}

    def rewind(self) -> None:
        self.i = 0


def _compute_nodes(path: Path) -> list[str]:
    import onnx

    return [n.name for n in onnx.load(str(path)).graph.node if n.op_type in _COMPUTE_OPS]


def to_int8(
    src: Path,
    dst: Path,
    fp32: Artifact,
    calib: np.ndarray,
    method: str = "minmax",
    drift: Callable[[dict, dict], float] | None = None,
    max_drift: float = float("inf"),
    held: np.ndarray | None = None,
    flavour: str = "onnxruntime",
) -> Artifact:
    """Static QDQ INT8 of ``src`` calibrated on ``calib`` (N, ...) inputs.

    ``drift(fp32_outputs, int8_outputs)`` measures the error on ``held``
    (N, ...) inputs the calibration never saw (every fourth calibration
    input when none are given); above ``max_drift`` the first and last compute
    layers stay FP32 and quantisation is redone. The artifact's ``info``
    records the method, sample counts, excluded nodes and the measured drift.
    ``flavour`` "tensorrt" makes the symmetric signed QDQ model TensorRT needs
    (its drift is not measured here: onnxruntime's CPU kernels saturate on it).
    """
    from onnxruntime.quantization import CalibrationMethod

    if flavour not in ("onnxruntime", "tensorrt"):
        raise ValueError(f"unknown INT8 flavour {flavour!r}; choose from onnxruntime, tensorrt")
    trt = flavour == "tensorrt"
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"unknown calibration method {method!r}; choose from {', '.join(CALIBRATION_METHODS)}")
    cm = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
          "percentile": CalibrationMethod.Percentile}[method]  # fmt: skip
    name = fp32.inputs[0].name
    fit = calib
    held_out = held is not None and len(held) > 0
    held = held if held_out else calib[::4]
    src, dst = Path(src).resolve(), Path(dst).resolve()
    # onnxruntime's quantisation tools drop temporaries (sym_shape_infer_temp.onnx, <uuid>.data)
    # in the working directory: they run inside a temporary one instead.
    with tempfile.TemporaryDirectory(prefix="infantpose-quant-") as tmp, _working_directory(Path(tmp)):
        value, exclude = _quantize_until_within(src, dst, name, fit, held, cm, trt, drift, max_drift)
    info = {
        **_derived(fp32.info),
        "calibration": method,
        "calibration_samples": len(fit),
        "drift_samples": len(held),
        "drift_inputs": "held-out split" if held_out else "every fourth calibration input",
        "fp32_nodes": exclude,
        "drift": value,
        "max_drift": max_drift,
        "passed": trt or value <= max_drift,
        "format": "QDQ, symmetric int8 activations and per-channel weights (TensorRT)"
        if trt
        else "QDQ, uint8 activations, per-channel 7-bit int8 weights",
    }
    return replace(fp32, file=dst.name, precision="int8", sha256="", info=info)


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    """chdir for the block (contextlib.chdir is Python 3.11+)."""
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _quantize_until_within(
    src: Path,
    dst: Path,
    name: str,
    fit: np.ndarray,
    held: np.ndarray,
    cm: Any,
    trt: bool,
    drift: Callable | None,
    max_drift: float,
) -> tuple[float, list[str]]:
    """Quantise ``src`` (input ``name``) into ``dst`` with widening FP32 fallbacks until the drift on
    ``held`` is within ``max_drift``. Returns (drift, the nodes kept in FP32); the drift is NaN for the
    TensorRT flavour (onnxruntime cannot measure it)."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = dst.with_name(f".{dst.name}.prep.onnx")  # shape inference + graph optimisation first
    quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
    nodes = _compute_nodes(prepared)
    # Widening FP32 fallbacks: nothing, the first and last layers, then the second half of the network.
    attempts = [[], [nodes[0], nodes[-1]], [nodes[0], *nodes[len(nodes) // 2 :]]] if len(nodes) > 2 else [[]]
    if trt:
        attempts = attempts[:1]
    ref = None if trt else OnnxRuntimeBackend(src)({name: held})
    value = float("nan")
    for exclude in attempts:
        quantize_static(
            str(prepared), str(dst), _Reader(name, fit), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QInt8 if trt else QuantType.QUInt8, weight_type=QuantType.QInt8,
            reduce_range=not trt, calibrate_method=cm, nodes_to_exclude=exclude,
            extra_options={"ActivationSymmetric": trt, "WeightSymmetric": True},
        )  # fmt: skip
        if ref is None:  # TensorRT flavour: nothing here can measure it
            break
        out = OnnxRuntimeBackend(dst)({name: held})
        value = drift(ref, out) if drift is not None else float(max(np.abs(out[k] - ref[k]).max() for k in ref))
        if value <= max_drift:
            break
    prepared.unlink(missing_ok=True)
    return value, exclude
