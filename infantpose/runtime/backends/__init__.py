"""Inference backends: named numpy arrays in, named numpy arrays out.

:func:`load_backend` picks one from the artifact's format and the device:
``onnx`` files run in onnxruntime (CPU, CUDA or TensorRT execution provider),
``engine`` files in native TensorRT.
"""

from __future__ import annotations

from pathlib import Path

from infantpose.errors import BundleError, InfantposeError
from infantpose.runtime.backends.base import Backend
from infantpose.runtime.bundle import Artifact

DEVICES = ("auto", "cpu", "cuda", "tensorrt")


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when onnxruntime has the CUDA provider, else 'cpu'."""
    if device not in DEVICES:
        raise InfantposeError(f"unknown device {device!r}; choose from {', '.join(DEVICES)}")
    if device != "auto":
        return device
    import onnxruntime as ort

    return "cuda" if "CUDAExecutionProvider" in ort.get_available_providers() else "cpu"


def load_backend(
    path: str | Path, fmt: str, device: str = "auto", threads: int = 0, artifact: Artifact | None = None
) -> Backend:
    """A backend for one model file of format ``fmt`` ("onnx" or "engine").

    With the bundle's ``artifact`` entry, the model's input and output names must be the ones the
    manifest declares (a model of another stage is refused here, not at the first frame), and an
    ONNX model is loaded from the bytes whose sha256 was checked, with no external-data file the
    manifest does not list.
    """
    if fmt == "engine":
        from infantpose.runtime.backends.tensorrt import TensorRTBackend

        backend: Backend = TensorRTBackend(path)
    elif fmt == "onnx":
        from infantpose.runtime.backends.onnxruntime import OnnxRuntimeBackend

        sealed = artifact is not None and not artifact.external
        backend = OnnxRuntimeBackend(path, resolve_device(device), threads, sealed=sealed,
                                     sha256=artifact.sha256 if artifact is not None else None,
                                     external=set(artifact.external) if artifact is not None else None)  # fmt: skip
    else:
        raise InfantposeError(f"{path}: unknown model format {fmt!r}")
    if artifact is not None:
        check_io(backend, artifact, path)
    return backend


def check_io(backend: Backend, artifact: Artifact, path: str | Path) -> None:
    """BundleError unless the model's input and output names are the manifest's (order aside), with the
    manifest's number of dimensions and dtype."""
    for kind, have, want in (("inputs", backend.input_names, artifact.inputs),
                             ("outputs", backend.output_names, artifact.outputs)):  # fmt: skip
        names = sorted(t.name for t in want)
        if sorted(have) != names:
            raise BundleError(
                f"{path}: the model's {kind} ({', '.join(sorted(have))}) are not the manifest's ({', '.join(names)})"
            )
        ranks = getattr(backend, f"{kind[:-1]}_ranks", {})
        dtypes = getattr(backend, f"{kind[:-1]}_dtypes", {})
        for t in want:
            if t.name in ranks and ranks[t.name] != len(t.shape):
                raise BundleError(f"{path}: {kind[:-1]} {t.name!r} has {ranks[t.name]} dimensions in the model, "
                                  f"{len(t.shape)} in the manifest")  # fmt: skip
            if t.name in dtypes and dtypes[t.name] != t.dtype:
                raise BundleError(f"{path}: {kind[:-1]} {t.name!r} is {dtypes[t.name]} in the model, "
                                  f"{t.dtype} in the manifest")  # fmt: skip


__all__ = ["DEVICES", "Backend", "check_io", "load_backend", "resolve_device"]
