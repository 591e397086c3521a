"""onnxruntime backend: CPU, CUDA or TensorRT execution providers."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from infantpose.errors import BundleError, InfantposeError
from infantpose.runtime.backends.base import Closing

# Provider lists per device, best first. onnxruntime falls back along the list.
PROVIDERS: dict[str, list[str]] = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def default_threads() -> int:
    """Intra-op threads when none are asked for: every usable core but one, at least one.

    The pipeline is sequential and its pre/post-processing and capture run beside
    inference; a pool thread that spins on the last core slows them more than it
    speeds up these small models. On the 2-core development machine one thread ran
    the shipped chain faster than two in every round, FP32 and INT8 alike
    (``python -m infantpose.benchmarks.threads``; docs/benchmarks/threads.json).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


# onnxruntime's tensor type names -> numpy dtype names (as bundle tensor specs write them).
_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
}


def _check_external(path: str | Path, model: bytes, hashed: set[str]) -> None:
    """BundleError unless every external-data file ``model`` names is in ``hashed`` (the manifest's list)."""
    from infantpose.onnxfiles import onnx_external_files

    try:
        named = onnx_external_files(model)
    except ValueError as e:
        raise BundleError(f"{path}: not a readable ONNX model ({e})") from None
    unlisted = sorted(named - hashed)
    if unlisted:
        raise BundleError(f"{path}: reads external-data files {', '.join(map(repr, unlisted))} that the manifest "
                          "does not hash; the model is refused")  # fmt: skip


class OnnxRuntimeBackend(Closing):
    """An ``onnxruntime.InferenceSession`` over one model file.

    Args:
        path: the .onnx file.
        device: "cpu", "cuda" or "tensorrt" (execution providers, see PROVIDERS).
        threads: intra-op threads (0: :func:`default_threads`, all usable cores but one).
        sealed: load the model from its bytes, so that it cannot pull in external-data files
            (weights beside the model that no manifest hashed).
        sha256: the bytes loaded must have this hash (the bundle's record), checked on the
            very bytes onnxruntime gets.
    """

    def __init__(
        self,
        path: str | Path,
        device: str = "cpu",
        threads: int = 0,
        sealed: bool = False,
        sha256: str | None = None,
        external: set[str] | None = None,
    ) -> None:
        import onnxruntime as ort

        if device not in PROVIDERS:
            raise InfantposeError(f"unknown device {device!r}; choose from {', '.join(PROVIDERS)}")
        available = set(ort.get_available_providers())
        wanted = [p for p in PROVIDERS[device] if p in available]
        if device != "cpu" and wanted[0] == "CPUExecutionProvider":
            raise InfantposeError(
                f"device {device!r} needs {PROVIDERS[device][0]}, which this onnxruntime lacks "
                f"(has: {', '.join(sorted(available))}); install onnxruntime-gpu"
            )
        opts = ort.SessionOptions()
        self.threads = threads or default_threads()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        model: str | bytes = str(path)
        if sealed or sha256:
            try:
                model = Path(path).read_bytes()
            except OSError as e:
                raise BundleError(f"{path}: cannot read the model ({e.strerror})") from None
            if sha256 and hashlib.sha256(model).hexdigest() != sha256:
                raise BundleError(f"{path}: sha256 does not match the manifest (file modified or corrupt)")
            if external is not None:  # every file the model reads must be one the manifest hashes
                _check_external(path, model, external)
            if not sealed:
                model = str(path)
        try:
            self.session = ort.InferenceSession(model, sess_options=opts, providers=wanted)
        except Exception as e:  # onnxruntime raises its own exception types for bad files
            text = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            if sealed and "external" in text.lower():
                text = "it needs external-data files that the manifest does not list and hash"
            raise BundleError(f"{path}: onnxruntime cannot load the model ({text})") from None
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.input_ranks = {i.name: len(i.shape) for i in self.session.get_inputs()}
        self.output_ranks = {o.name: len(o.shape) for o in self.session.get_outputs()}
        self.input_dtypes = {i.name: _ORT_DTYPES.get(i.type, i.type) for i in self.session.get_inputs()}
        self.output_dtypes = {o.name: _ORT_DTYPES.get(o.type, o.type) for o in self.session.get_outputs()}
        self.name = f"onnxruntime/{self.session.get_providers()[0]}"

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.session is None:
            raise InfantposeError(f"{self.name}: the backend was closed")
        feed = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()}
        return dict(zip(self.output_names, self.session.run(self.output_names, feed), strict=True))

    def close(self) -> None:
        """Drop the session (onnxruntime frees its memory, and a GPU provider's, with it)."""
        self.session = None
