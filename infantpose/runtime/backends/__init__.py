"""Inference backends: named numpy arrays in, named numpy arrays out.

:func:`load_backend` picks one from the artifact's format and the device:
``onnx`` files run in onnxruntime (CPU, CUDA or TensorRT execution provider),
``engine`` files in native TensorRT.
"""

from __future__ import annotations

from pathlib import Path

from infantpose.errors import InfantposeError
from infantpose.runtime.backends.base import Backend

DEVICES = ("auto", "cpu", "cuda", "tensorrt")


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when onnxruntime has the CUDA provider, else 'cpu'."""
    if device not in DEVICES:
        raise InfantposeError(f"unknown device {device!r}; choose from {', '.join(DEVICES)}")
    if device != "auto":
        return device
    import onnxruntime as ort

    return "cuda" if "CUDAExecutionProvider" in ort.get_available_providers() else "cpu"


def load_backend(path: str | Path, fmt: str, device: str = "auto", threads: int = 0) -> Backend:
    """A backend for one model file of format ``fmt`` ("onnx" or "engine")."""
    if fmt == "engine":
        from infantpose.runtime.backends.tensorrt import TensorRTBackend

        return TensorRTBackend(path)
    if fmt == "onnx":
        from infantpose.runtime.backends.onnxruntime import OnnxRuntimeBackend

        return OnnxRuntimeBackend(path, resolve_device(device), threads)
    raise InfantposeError(f"{path}: unknown model format {fmt!r}")


__all__ = ["DEVICES", "Backend", "load_backend", "resolve_device"]
